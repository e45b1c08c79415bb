"""Budget-aware bagging: fewer folds for the rest of layer 1 when the measured cost of the
trials so far says the time left would not fit enough of them.

A preset's fold count (5 for ``medium_quality``, 8 for ``best_quality``) is right when a
trial is cheap against the budget. When one trial of a costly model (a 10-class booster,
a large table) takes a large share of it, the fit ends with two or three models and no
ensemble worth the name. After every finished layer-1 trial, :class:`FoldBudget` takes the
median seconds per fold so far and, if ``done + concurrency * seconds_left / trial_s(k)``
is under :data:`MIN_TRIALS` at the current ``k``, lowers ``k`` to the largest count
(never below :data:`FOLD_FLOOR`) that reaches it; ``k`` never rises again within a fit.

The later trials merge folds: fold ``f`` of the fit's ``k0`` becomes fold ``f % k`` (a
union of stratified folds is stratified), so every model still predicts every row out of
fold and the ensemble and stacking read comparable arrays. A fold of ``k`` trains on
``(k - 1) / k`` of the rows, so ``trial_s(k) = per_fold_s(k0) * (k - 1) * k0 / (k0 - 1)``.
The decision goes to the store actor (:meth:`~raymlx.tabular.engine.oof_store.
OutOfFoldStore.set_folds`), which trials ask when they start. A ``num_folds`` given to
``AutoML`` is kept as given; so is every fold count without a time limit.
"""

from __future__ import annotations

import logging
import statistics
import time

from ray.tune import Callback

log = logging.getLogger("raymlx")

MIN_TRIALS = 10  # layer-1 trials the budget should fit: the portfolio's strongest ten
FOLD_FLOOR = 3  # each model still trains on two thirds of the rows


def trial_seconds(per_fold_s: float, k: int, k0: int) -> float:
    """Seconds of one trial bagged over ``k`` folds, from the seconds per fold at ``k0``."""
    return per_fold_s * (k - 1) * k0 / (k0 - 1)


def folds_for_budget(done: int, per_fold_s: float, k0: int, k_now: int, concurrency: int,
                     seconds_left: float, min_trials: int = MIN_TRIALS,
                     floor: int = FOLD_FLOOR) -> int:
    """The fold count for the next trials: ``k_now`` while the budget fits
    ``min_trials`` trials in all, else the largest ``k`` down to ``floor`` that fits them
    (``floor`` when none does)."""
    floor = min(floor, k_now)
    if per_fold_s <= 0 or seconds_left <= 0:
        return k_now
    for k in range(k_now, floor - 1, -1):
        if done + concurrency * seconds_left / trial_seconds(per_fold_s, k, k0) >= min_trials:
            return k
    return floor


class FoldBudget(Callback):
    """A Tune callback on the driver, for layer 1: after each finished trial it decides the
    fold count of the trials that start next and tells the store. It keeps the store's
    name, not its handle (Tune pickles its callbacks with the experiment)."""

    def __init__(self, store_name: str, phase: str, k0: int, concurrency: int,
                 deadline: float) -> None:
        self.store_name, self.phase, self.k0 = store_name, phase, k0
        self.concurrency, self.deadline = concurrency, deadline
        self.k, self.done = k0, 0
        self.per_fold: list[float] = []

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        result = trial.last_result or {}
        folds = result.get("folds", self.k0)
        if result.get("partial") or result.get("error") or not result.get("folds_done"):
            return
        self.done += 1
        # seconds per fold of k0 (which trains on more rows), by trial_seconds' cost model
        per_repeat = float(result["trial_time_s"]) * folds / int(result["folds_done"])
        self.per_fold.append(per_repeat / trial_seconds(1.0, folds, self.k0))
        k = folds_for_budget(self.done, statistics.median(self.per_fold), self.k0, self.k,
                             self.concurrency, self.deadline - time.time())
        if k < self.k:
            from raymlx.tabular.engine.oof_store import get_store

            get_store(self.store_name).set_folds.remote(self.phase, k)
            log.info("bagging: %d folds instead of %d for the next trials (%.1f s per "
                     "fold so far, %.0f s left for %d more trials at once)", k, self.k,
                     statistics.median(self.per_fold), self.deadline - time.time(),
                     self.concurrency)
            self.k = k
