"""Saving a predictor to a folder and loading it back, safely.

The folder holds ``manifest.json`` (format name and version, raymlx version, the sha256 of
every file), ``predictor.pkl`` (problem, preprocessing, leaderboard records, the fit's
arguments) and one ``models/<name>/fold_models.pkl`` per model. It is written in a
temporary sibling folder and swapped in with ``os.replace``, so a failed save never leaves
a half-written folder and never destroys the previous save (a full disk ends in a one-line
``DiskFullError`` naming the folder); two saves to one folder swap in one at a time; a
folder that is not a raymlx predictor is never overwritten. A load checks the manifest and
every checksum before unpickling anything, and checks each file's checksum again on the
bytes it unpickles. With a signing key the manifest is also signed and checked
(:mod:`raymlx.tabular.signing`).

Format 2 writes ``predictor.pkl`` with cloudpickle (a model family or searcher defined in
the user's script is stored by value). Format 1, written before the tabular product moved
into ``raymlx/tabular/``, names the old modules and a ``Task`` where format 2 has a
``Problem``; :func:`load_folder` reads it through :mod:`raymlx._internal.moved` and
:func:`upgrade_state` migrates it.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import platform
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cloudpickle

from raymlx._internal.disk_writes import space_checked
from raymlx._internal.moved import load_pickle
from raymlx.errors import InputError, LoadError
from raymlx.tabular.predictor import ModelRecord, ModelSet
from raymlx.tabular.signing import check_signature, read_checked, signing_key, write_signature

FORMAT = "raymlx-predictor"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_folder(target: str | Path, state: dict[str, Any], model_files: dict[str, str],
                version: str, key: bytes | None = None) -> Path:
    """Writes ``state`` and copies of ``model_files`` (name -> pickle path) to ``target``,
    signed with ``key`` when one is given."""
    target = Path(target).expanduser().resolve()
    if _foreign(target) and _foreign_when_still(target):
        raise InputError(
            f"{str(target)!r} exists and is not a raymlx predictor folder; "
            "save to a new or empty folder"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    kept = ("the predictor saved there before is intact" if target.exists()
            else "nothing was left behind")
    try:
        with space_checked(target, "the predictor", kept):
            tmp.mkdir()
            _write_folder(tmp, state, model_files, version, key)
        with _swap_lock(target):
            old = None
            if target.exists():
                old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
                os.replace(target, old)
            os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _foreign(target: Path) -> bool:
    """True when ``target`` holds something other than a raymlx predictor. Another save
    to the same folder may swap it away while this looks (its folder is briefly absent):
    a folder that vanishes meanwhile is one of ours."""
    try:
        if not target.exists():
            return False
        return not target.is_dir() or (any(target.iterdir())
                                       and not (target / MANIFEST).is_file())
    except FileNotFoundError:
        return False


def _foreign_when_still(target: Path) -> bool:
    """:func:`_foreign` again while no other save swaps ``target`` (under its lock): the
    first look may fall between another save's two renames."""
    with _swap_lock(target):
        return _foreign(target)


@contextmanager
def _swap_lock(target: Path) -> Iterator[None]:
    """Two saves to one folder swap their folders in one at a time (an advisory ``flock``
    on ``.<name>.lock`` beside it): the last one wins whole. Without it, one save's
    ``os.replace`` could land between the other's two and fail on a non-empty folder."""
    with open(target.parent / f".{target.name}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_folder(tmp: Path, state: dict[str, Any], model_files: dict[str, str],
                  version: str, key: bytes | None) -> None:
    """The folder's files, then its manifest (and the signature over it)."""
    for name, src in model_files.items():
        dst = tmp / "models" / name / "fold_models.pkl"
        dst.parent.mkdir(parents=True)
        shutil.copyfile(src, dst)
    with open(tmp / "predictor.pkl", "wb") as fh:
        cloudpickle.dump(state, fh)
    files = {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*"))
             if p.is_file()}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "raymlx_version": version, "python": platform.python_version(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files}
    body = json.dumps(manifest, indent=2).encode()
    (tmp / MANIFEST).write_bytes(body)
    if key is not None:
        write_signature(tmp, body, key)


def load_folder(source: str | Path, key: bytes | None = None
                ) -> tuple[dict[str, Any], Path, dict[str, str]]:
    """The saved state, the folder and the manifest's {file: sha256}, after checking the
    manifest, its signature when ``key`` is given, the format and the checksums."""
    folder = Path(source).expanduser().resolve()
    if not folder.is_dir():
        raise LoadError(f"{str(folder)!r} is not a folder; pass the folder given to save()")
    try:
        body = (folder / MANIFEST).read_bytes()
        manifest = json.loads(body)
    except FileNotFoundError:
        raise LoadError(f"{str(folder)!r} is not a raymlx predictor folder (no {MANIFEST})") \
            from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise LoadError(f"{MANIFEST} in {str(folder)!r} is not valid JSON") from None
    if manifest.get("format") != FORMAT:
        raise LoadError(f"{str(folder)!r} holds {manifest.get('format')!r}, not a raymlx predictor")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise LoadError(
            f"{str(folder)!r} was saved in format {manifest['format_version']} by raymlx "
            f"{manifest.get('raymlx_version')}; this raymlx reads up to {FORMAT_VERSION}: upgrade"
        )
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        raise LoadError(f"{MANIFEST} in {str(folder)!r} has no file list")
    check_signature(folder, body, files, key)
    for rel, digest in files.items():
        path = folder / rel
        if not path.is_file():
            raise LoadError(f"{str(folder)!r} is incomplete: {rel} is missing")
        if _sha256(path) != digest:
            raise LoadError(f"{str(folder)!r} is damaged: {rel} does not match its checksum")
    if key is not None and "predictor.pkl" not in files:
        raise LoadError(f"{str(folder)!r} has a signed manifest without predictor.pkl")
    data = read_checked(folder / "predictor.pkl", files.get("predictor.pkl"))
    state = load_pickle(io.BytesIO(data))
    return upgrade_state(state, int(manifest.get("format_version", 1))), folder, files


def upgrade_state(state: dict[str, Any], format_version: int) -> dict[str, Any]:
    """A saved predictor's state in the current format. Format 1 kept a ``task`` (label,
    problem type, metric, classes); format 2 keeps the one ``problem``, which also knows
    the feature matrix's width and its categorical columns."""
    if format_version < 2 and "task" in state:
        pre = state["preprocessor"]
        state["problem"] = state.pop("task").with_features(len(pre.feature_names_),
                                                           dict(pre.categorical_))
    return state


def save_predictor(aml: Any, path: str | Path, version: str,
                   key: str | bytes | None = None) -> Path:
    """Writes a fitted ``AutoML``: its state in ``predictor.pkl``, each bagged model's fold
    models copied under ``models/<name>/``; signed with ``key`` or ``$RAYMLX_SIGNING_KEY``."""
    secret = signing_key(key)
    records = []
    files: dict[str, str] = {}
    for rec in aml.models_.records.values():
        copy = ModelRecord(**{**rec.__dict__})
        if rec.ok and not rec.weights and rec.models_path is not None:
            files[rec.name] = rec.models_path
            copy.models_path = f"models/{rec.name}/fold_models.pkl"
        records.append(copy)
    state = {"version": version, "label": aml.problem_.label,
             "problem": aml.problem_, "preprocessor": aml.preprocessor_,
             "records": records, "best_model": aml.best_model_,
             "stacking": aml.stacking_,
             "params": {**aml.get_params(), "callbacks": None},  # trackers stay with the fit
             "cluster_report": aml.cluster_report_, "fit_time_s": aml.fit_time_s_,
             "experiment_path": getattr(aml, "experiment_path_", None),
             "data_path": getattr(aml, "data_path_", None),
             "refit_full": getattr(aml, "refit_full_", {}),
             "calibration": getattr(aml, "calibration_", None),
             "phase_times": getattr(aml, "phase_times_", None),
             "fit_started": getattr(aml, "fit_started_", None)}
    return save_folder(path, state, files, version, secret)


def load_predictor(cls: Any, path: str | Path, key: str | bytes | None = None) -> Any:
    """The ``cls`` (``AutoML``) instance :func:`save_predictor` wrote at ``path``, checked
    against ``key`` or ``$RAYMLX_SIGNING_KEY`` when either is set."""
    state, folder, files = load_folder(path, signing_key(key))
    aml = cls(**state["params"])
    digests = {}
    for rec in state["records"]:
        if rec.models_path:
            digests[str(folder / rec.models_path)] = files.get(rec.models_path)
            rec.models_path = str(folder / rec.models_path)
    aml.problem_, aml.preprocessor_ = state["problem"], state["preprocessor"]
    aml.models_ = ModelSet(aml.problem_, state["records"], digests)
    aml.best_model_, aml.fit_time_s_ = state["best_model"], state["fit_time_s"]
    aml.stacking_ = state.get("stacking", {})
    aml.cluster_report_ = state.get("cluster_report", {})
    aml.calibration_ = state.get("calibration")
    for key in ("experiment_path", "data_path", "refit_full", "phase_times",
                "fit_started"):  # not in older saves
        if state.get(key) is not None:
            setattr(aml, key + "_", state[key])
    return aml
