"""What an interrupted fit needs to be resumed: its inputs, and a ledger of finished trials.

A fit writes two things into its folder as it goes:

- ``fit_state.pkl``, once, before the first trial: the AutoML arguments, the fitted
  preprocessor and problem, and the prepared arrays (features, encoded labels, folds, the
  dynamic-stacking holdout). A resumed fit starts from these, so its folds and features are
  exactly those of the interrupted run.
- ``trials.jsonl``, one line per trial as Tune reports it finished (scored, failed, stopped
  by ASHA, or crashed past its retries), written by a Tune callback on the driver (the
  file is closed, so flushed to the OS, after every line). A scored trial's line points at
  its checkpoint, which holds the fold models and the out-of-fold predictions (see
  :mod:`raymlx.tabular.engine.trial`).

``AutoML.resume`` reads both, reloads the finished trials' out-of-fold predictions into a
new store, and runs only what is missing. A trial that was running when the driver stopped
has no line and runs again. Tune's own ``Tuner.restore`` is not used: it restores the
searcher with its old absolute deadline and cannot start trials that were in flight from
scratch with a new time budget, and raymlx needs the per-trial arrays anyway.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import cloudpickle
from ray.tune import Callback

from raymlx._internal.disk_writes import append_line, space_checked
from raymlx._internal.moved import load_pickle
from raymlx.errors import DiskFullError, InputError, last_line

log = logging.getLogger("raymlx")

STATE_FILE = "fit_state.pkl"
LEDGER_FILE = "trials.jsonl"
KEPT_METRICS = ("score", "family", "fit_time_s", "predict_time_s", "folds_cut_short",
                "folds_done", "repeats", "partial", "error", "trial_time_s", "node_id",
                "device", "rounds", "workers", "final", "timestamp")


def fit_folder(root: Path, started: float) -> Path:
    """A new folder for a fit begun at ``started``, made here:
    ``<root>/fit-<date>-<time>-<ms>``, with ``-2``, ``-3``... appended when another fit
    (another process on a shared root) made that name first, so two fits never share one."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    base = f"fit-{stamp}-{int(started * 1000) % 1000:03d}"
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        folder = root / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise InputError(f"could not make a new fit folder in {str(root)!r}: {base} and its "
                     "next 9,999 names are taken")


def save_fit_state(folder: Path, state: dict[str, Any]) -> None:
    """Writes ``fit_state.pkl`` atomically (a half-written file is never left behind, and
    a full disk ends in a one-line ``DiskFullError`` with the previous state intact)."""
    folder.mkdir(parents=True, exist_ok=True)
    params = state.get("params") or {}
    if params.get("callbacks"):
        try:
            cloudpickle.dumps(params["callbacks"])
        except Exception as exc:  # noqa: BLE001 - any pickling error: resume runs without
            log.warning("the callbacks cannot be saved with the fit state (%s); a resume "
                        "runs without them", last_line(str(exc), type(exc).__name__))
            state = {**state, "params": {**params, "callbacks": None}}
    tmp = folder / (STATE_FILE + ".tmp")
    try:
        with space_checked(folder / STATE_FILE, "the fit state",
                           "the fit folder is as it was before"):
            with open(tmp, "wb") as fh:
                cloudpickle.dump(state, fh)  # the arguments may hold the user's own classes
            os.replace(tmp, folder / STATE_FILE)
    finally:
        tmp.unlink(missing_ok=True)


def load_fit_state(folder: str | Path) -> tuple[dict[str, Any], Path]:
    path = Path(folder).expanduser().resolve()
    if not (path / STATE_FILE).is_file():
        raise InputError(f"{str(path)!r} is not a raymlx fit folder (no {STATE_FILE}); give "
                         "the folder a fit printed as its experiment path")
    with open(path / STATE_FILE, "rb") as fh:
        return load_pickle(fh), path  # also a fit folder of the flat layout


def read_ledger(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The finished trials by phase ("search", "L2", ...), in the order the trials were
    created (run by run), as the leaderboard lists them. A phase reset by
    :func:`reset_phase` starts again empty; a last line cut short by a crash is ignored."""
    out: dict[str, list[dict[str, Any]]] = {}
    path = folder / LEDGER_FILE
    if not path.is_file():
        return out
    with open(path) as fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("reset"):
                out.pop(entry["phase"], None)
                continue
            out.setdefault(entry["phase"], []).append(entry)
    for entries in out.values():
        runs: dict[str, int] = {}
        for e in entries:
            runs.setdefault(e.get("experiment", ""), len(runs))
        entries.sort(key=lambda e: (runs[e.get("experiment", "")], e.get("index", 0)))
    return out


def trial_checkpoints(folder: Path) -> dict[str, Path]:
    """trial id -> its checkpoint folder, from the fit's ledger."""
    out = {}
    for entries in read_ledger(folder).values():
        for e in entries:
            if e.get("checkpoint"):
                out[e["trial_id"]] = folder / e["checkpoint"]
    return out


def reset_phase(folder: Path, phase: str) -> None:
    """Marks ``phase``'s trials so far as stale (their inputs changed): a later resume
    trains that phase again."""
    append_line(folder / LEDGER_FILE,
                json.dumps({"phase": phase, "reset": True, "time": time.time()}),
                "the trial ledger")


class TrialLedger(Callback):
    """Appends one JSON line per finished trial to the fit's ``trials.jsonl``."""

    def __init__(self, folder: Path, phase: str) -> None:
        self.path = folder / LEDGER_FILE
        self.phase = phase
        self.disk_full: DiskFullError | None = None

    def on_step_end(self, iteration, trials, **info) -> None:
        """A line that found the disk full ends the experiment here, where Tune re-raises
        the error as it is (raised inside ``on_trial_complete``, it comes out of
        ``Tuner.fit`` wrapped in a ``TuneError`` with a traceback for its text)."""
        if self.disk_full is not None:
            raise self.disk_full

    def _write(self, trial, error: str | None) -> None:
        result = trial.last_result or {}
        checkpoint = getattr(trial, "checkpoint", None)
        where = None
        if checkpoint is not None:  # relative to the fit folder, which may be moved
            try:
                where = str(Path(checkpoint.path).relative_to(self.path.parent))
            except ValueError:
                where = checkpoint.path
        trial_dir = Path(getattr(trial, "path", "") or "")
        entry = {"phase": self.phase, "trial_id": trial.trial_id,
                 "experiment": trial_dir.parent.name,
                 "index": trial_index(trial_dir.name),
                 "model": (trial.config or {}).get("model", {}),
                 "metrics": {k: result[k] for k in KEPT_METRICS if k in result},
                 "checkpoint": where, "error": error, "time": time.time()}
        # flushed to the OS at once: a killed driver loses nothing (no fsync: that would
        # guard against a machine crash only, at a disk round trip per trial)
        try:
            append_line(self.path, json.dumps(entry, default=str), "the trial ledger")
        except DiskFullError as err:
            self.disk_full = self.disk_full or err

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._write(trial, None)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        try:
            text = str(trial.get_error())
        except Exception:  # noqa: BLE001 - an error we cannot read is still an error
            text = ""
        self._write(trial, last_line(text, "the trial's worker failed"))


_TRIAL_FOLDER = re.compile(r"^[A-Za-z_]+?_[0-9a-f]{8}(?:_\d{5})?_(\d+)(?:_|$)")


def trial_index(name: str) -> int:
    """The creation counter in a Tune trial folder's name,
    ``<trainable>_<trial id>_<counter>_<config>_<date>`` (the trainable's name, such as
    ``run_trial`` or ``run_large_trial``, may hold underscores)."""
    match = _TRIAL_FOLDER.match(name)
    return int(match.group(1)) if match else 1 << 30
