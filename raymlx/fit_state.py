"""What an interrupted fit needs to be resumed: its inputs, and a ledger of finished trials.

A fit writes two things into its folder as it goes:

- ``fit_state.pkl``, once, before the first trial: the AutoML arguments, the fitted
  preprocessor and task, and the prepared arrays (features, encoded labels, folds, the
  dynamic-stacking holdout). A resumed fit starts from these, so its folds and features are
  exactly those of the interrupted run.
- ``trials.jsonl``, one line per trial as Tune reports it finished (scored, failed, stopped
  by ASHA, or crashed past its retries), written by a Tune callback on the driver and
  flushed at once. A scored trial's line points at its checkpoint, which holds the fold
  models and the out-of-fold predictions (see :mod:`raymlx.trial`).

``AutoML.resume`` reads both, reloads the finished trials' out-of-fold predictions into a
new store, and runs only what is missing. A trial that was running when the driver stopped
has no line and runs again. Tune's own ``Tuner.restore`` is not used: it restores the
searcher with its old absolute deadline and cannot start trials that were in flight from
scratch with a new time budget, and raymlx needs the per-trial arrays anyway.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from raymlx.errors import InputError

STATE_FILE = "fit_state.pkl"
LEDGER_FILE = "trials.jsonl"
KEPT_METRICS = ("score", "family", "fit_time_s", "predict_time_s", "folds_cut_short",
                "folds_done", "repeats", "partial", "error", "trial_time_s", "node_id",
                "device")


def save_fit_state(folder: Path, state: dict[str, Any]) -> None:
    """Writes ``fit_state.pkl`` atomically (a half-written file is never left behind)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (STATE_FILE + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, folder / STATE_FILE)


def load_fit_state(folder: str | Path) -> tuple[dict[str, Any], Path]:
    path = Path(folder).expanduser().resolve()
    if not (path / STATE_FILE).is_file():
        raise InputError(f"{str(path)!r} is not a raymlx fit folder (no {STATE_FILE}); give "
                         "the folder a fit printed as its experiment path")
    with open(path / STATE_FILE, "rb") as fh:
        return pickle.load(fh), path


def read_ledger(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The finished trials by phase ("search", "L2", ...), in the order they finished.
    A last line cut short by a crash is ignored."""
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
            out.setdefault(entry["phase"], []).append(entry)
    return out


class TrialLedger(Callback):
    """Appends one JSON line per finished trial to the fit's ``trials.jsonl``."""

    def __init__(self, folder: Path, phase: str) -> None:
        self.path = folder / LEDGER_FILE
        self.phase = phase

    def _write(self, trial, error: str | None) -> None:
        result = trial.last_result or {}
        checkpoint = getattr(trial, "checkpoint", None)
        entry = {"phase": self.phase, "trial_id": trial.trial_id,
                 "model": (trial.config or {}).get("model", {}),
                 "metrics": {k: result[k] for k in KEPT_METRICS if k in result},
                 "checkpoint": checkpoint.path if checkpoint is not None else None,
                 "error": error, "time": time.time()}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._write(trial, None)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        error = None
        try:
            error = str(trial.get_error())
        except Exception:  # noqa: BLE001 - an error we cannot read is still an error
            error = "the trial's worker failed"
        self._write(trial, error or "the trial's worker failed")
