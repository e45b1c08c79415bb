"""A searcher wrapper that stops proposing new trials at a wall-clock time.

Tune's ``time_budget_s`` ends the whole experiment, killing trials that are about to
finish; raymlx wants the opposite near its deadline: no new trial, but the running ones
complete. ``StopAt`` answers ``FINISHED`` once the time has come and delegates everything
else to the wrapped searcher (the way Tune's ``ConcurrencyLimiter`` wraps one).
"""

from __future__ import annotations

import time

from ray.tune.search import Searcher


class StopAt(Searcher):
    """Delegates to ``searcher`` until ``time.time() >= stop_at``, then finishes."""

    def __init__(self, searcher: Searcher, stop_at: float) -> None:
        self.searcher = searcher
        self.stop_at = stop_at
        super().__init__(metric=searcher.metric, mode=searcher.mode)

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        ok = self.searcher.set_search_properties(metric, mode, config, **spec)
        self._metric, self._mode = self.searcher.metric, self.searcher.mode
        return ok

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        return self.searcher.set_max_concurrency(max_concurrent)

    def suggest(self, trial_id: str):
        if time.time() >= self.stop_at:
            return Searcher.FINISHED
        return self.searcher.suggest(trial_id)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self.searcher.on_trial_complete(trial_id, result=result, error=error)

    # Tune saves wrapper state (anything with a ``searcher`` attribute) through these
    def get_state(self) -> dict:
        return {"stop_at": self.stop_at}

    def set_state(self, state: dict) -> None:
        self.stop_at = state["stop_at"]

    def save(self, checkpoint_path: str) -> None:
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)
