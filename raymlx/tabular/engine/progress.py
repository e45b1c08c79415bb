"""Progress lines while a fit runs: trials done, best score so far, time left."""

from __future__ import annotations

import logging
import time

from ray.tune import Callback

from raymlx.tabular.metrics import Metric

log = logging.getLogger("raymlx")


class ProgressReporter(Callback):
    """A Tune callback that logs one line per finished or failed trial."""

    def __init__(self, metric: Metric, deadline: float, max_models: int | None) -> None:
        self.metric = metric
        self.deadline = deadline
        self.max_models = max_models
        self.done = 0
        self.best: float = float("nan")
        self.best_family = ""

    def _left(self) -> str:
        if self.deadline == float("inf"):
            return ""
        return f" | {max(0.0, self.deadline - time.time()):.0f} s left"

    def _count(self) -> str:
        return f"{self.done}/{self.max_models}" if self.max_models else str(self.done)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.done += 1
        result = trial.last_result or {}
        score = result.get("score")
        if result.get("partial"):
            budget = (f"{result['folds_done']} folds" if "folds_done" in result
                      else f"{result.get('rounds')} boosting rounds")
            log.info("trial %s %-13s stopped by the scheduler after %s (%s=%.5g)%s",
                     self._count(), result.get("family", "?"), budget,
                     self.metric.name, score, self._left())
            return
        if result.get("error") or score is None:
            log.info("trial %s %-13s failed: %s%s", self._count(), result.get("family", "?"),
                     result.get("error", "no score"), self._left())
            return
        if self.metric.better(score, self.best):
            self.best, self.best_family = score, result.get("family", "")
        log.info("trial %s %-13s %s=%.5g | best %.5g (%s)%s", self._count(),
                 result.get("family", "?"), self.metric.name, score, self.best,
                 self.best_family, self._left())

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.done += 1
        family = trial.config.get("model", {}).get("family", "?")
        log.info("trial %s %-13s failed (see the leaderboard's error column)%s",
                 self._count(), family, self._left())
