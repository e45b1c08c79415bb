"""What raymlx's Tune schedulers share: metric and mode, the budget attribute, argument
checks, trial-status helpers, and decision state that survives ``Tuner.restore``.

Call order (Ray 2.60's TuneController; docs/design.md, "Facts about Ray"):

1. ``set_search_properties(metric, mode)`` once, from ``TuneConfig``;
2. ``on_trial_add`` for each new trial (and again for every trial of a restored experiment);
3. ``on_trial_result`` for each reported result: return CONTINUE, PAUSE, STOP, or NOOP when the
   scheduler changed the trial's state itself;
4. ``on_trial_complete`` / ``on_trial_error`` / ``on_trial_remove`` when a trial ends;
5. ``choose_trial_to_run`` every controller step: a PAUSED trial returned here is resumed.

Tune never calls a scheduler's ``save``/``restore`` on ``Tuner.restore``: it unpickles the
scheduler in its *initial* state and replays ``on_trial_add``. So each raymlx scheduler writes
its decision state (rungs, brackets, perturbation times) to ``raymlx-scheduler-state.pkl``
in the experiment folder whenever a decision changes it (Tune uploads it with its own
experiment state), and reads that file back at the first ``on_trial_add`` of a restored run.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from raymlx.errors import InputError

STATE_FILE = "raymlx-scheduler-state.pkl"
logger = logging.getLogger(__name__)
CONTINUE, PAUSE, STOP, NOOP = (TrialScheduler.CONTINUE, TrialScheduler.PAUSE,
                               TrialScheduler.STOP, TrialScheduler.NOOP)


def check_mode(mode: Any) -> None:
    if mode not in (None, "min", "max"):
        raise InputError(f"mode={mode!r} is invalid; it must be 'min', 'max' or None")


def check_time_attr(time_attr: Any) -> None:
    if not isinstance(time_attr, str) or not time_attr:
        raise InputError(f"time_attr={time_attr!r} is invalid; it must be the name of a "
                         "reported, increasing result key such as 'training_iteration'")


def rung_levels(grace_period: float, max_t: float, reduction_factor: int) -> list[float]:
    """grace, grace*eta, grace*eta^2, ... below ``max_t``, then ``max_t`` itself."""
    levels, level = [], float(grace_period)
    while level < max_t * (1 - 1e-9):
        levels.append(level)
        level *= reduction_factor
    return levels + [float(max_t)]


class RaymlxScheduler(FIFOScheduler):
    """Base class: stores metric/mode/time_attr, scores results, persists decision state."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None) -> None:
        check_time_attr(time_attr)
        check_mode(mode)
        super().__init__()
        self._time_attr = time_attr
        self._metric = metric
        self._mode = mode
        self._experiment_dir: str | None = None  # the driver's staging copy
        # Results must reach the scheduler one by one: a buffered batch would run a trial
        # past the rung where it should have paused.
        self._supports_buffered_results = False

    # -- Tune wiring
    def set_search_properties(self, metric: str | None, mode: str | None, **spec) -> bool:
        if (self._metric and metric and metric != self._metric) or (
                self._mode and mode and mode != self._mode):
            return False
        check_mode(mode)
        self._metric = self._metric or metric
        self._mode = self._mode or mode
        return True

    def _check_ready(self) -> None:
        if not self._metric or not self._mode:
            raise InputError(f"{type(self).__name__} needs metric and mode: pass them to the "
                             "scheduler or to tune.TuneConfig")

    @property
    def time_attr(self) -> str:
        return self._time_attr

    def score(self, result: dict | None) -> float:
        """The metric with larger = better; -inf when missing or not finite."""
        raw = (result or {}).get(self._metric) if self._metric else None
        try:
            value = float(raw)  # type: ignore[arg-type]  # None raises TypeError: -inf
        except (TypeError, ValueError):
            return -math.inf
        if not math.isfinite(value):
            return -math.inf
        return value if self._mode == "max" else -value

    def progress(self, result: dict) -> float:
        value = result.get(self._time_attr)
        if value is None:
            raise InputError(f"{type(self).__name__}: the result has no {self._time_attr!r} "
                             f"(time_attr); reported keys: {sorted(result)[:12]}")
        return float(value)

    # -- decision state that must survive Tuner.restore
    def state_dict(self) -> dict:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    def save(self, checkpoint_path: str) -> None:
        """Write the decision state to ``checkpoint_path`` (temporary file, then rename)."""
        with open(checkpoint_path + ".tmp", "wb") as fh:
            pickle.dump(self.state_dict(), fh)
        os.replace(checkpoint_path + ".tmp", checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as fh:
            self.load_state_dict(pickle.load(fh))

    def _attach(self, trial: Trial) -> None:
        """Find the experiment folder from the first trial; load saved state if any.

        The state lives in the driver's staging copy of the experiment folder: Tune uploads
        that folder to the storage path together with its own experiment state (so the two
        stay consistent) and downloads it again before ``Tuner.restore`` replays the trials.
        A file written straight to the storage path would be overwritten by that upload.
        """
        self._check_ready()
        storage = getattr(trial, "storage", None)
        if self._experiment_dir is not None or storage is None:
            return
        self._experiment_dir = storage.experiment_driver_staging_path
        path = os.path.join(self._experiment_dir, STATE_FILE)
        if os.path.exists(path):
            self.restore(path)

    def _persist(self) -> None:
        """Write the decision state beside the experiment (temporary file, then rename)."""
        if self._experiment_dir is None:
            return
        path = os.path.join(self._experiment_dir, STATE_FILE)
        try:
            os.makedirs(self._experiment_dir, exist_ok=True)
            self.save(path)
        except OSError as exc:  # e.g. Tune removed its staging folder at the very end
            logger.warning("%s could not save its state to %s: %s", type(self).__name__,
                           path, exc)


def nothing_running(controller: Any) -> bool:
    """True when no trial runs or waits to start: only a scheduler decision can make progress."""
    return not any(t.status in (Trial.RUNNING, Trial.PENDING) for t in controller.get_trials())


def search_finished(controller: Any) -> bool:
    """True when the search algorithm will add no more trials."""
    search_alg = getattr(controller, "search_alg", None)
    return bool(search_alg is not None and search_alg.is_finished())
