"""A searcher wrapper that runs a list of configurations first, then hands over to any Tune
``Searcher``.

Tune's searchers take their ``points_to_evaluate`` in their constructors; a searcher
instance a user built cannot be given more later. ``AutoML(searcher=instance)`` still wants
its portfolio of known-good configurations to run first, so ``PointsFirst`` suggests them
itself and tells the wrapped searcher each one's result through Tune's own
``Searcher.add_evaluated_point`` (a searcher that does not implement it just never learns
from them). Everything else is delegated, the way Tune's ``ConcurrencyLimiter`` wraps a
searcher.
"""

from __future__ import annotations

import copy
import os
import pickle
import tempfile
from typing import Any

from ray.tune.search import Searcher


class PointsFirst(Searcher):
    """Suggests ``points`` in order, then whatever ``searcher`` suggests."""

    def __init__(self, searcher: Searcher, points: list[dict[str, Any]]) -> None:
        self.searcher = searcher
        self.points = [copy.deepcopy(p) for p in points]
        self._given: dict[str, dict[str, Any]] = {}  # trial id -> the point it runs
        super().__init__(metric=searcher.metric, mode=searcher.mode)

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        ok = self.searcher.set_search_properties(metric, mode, config, **spec)
        self._metric, self._mode = self.searcher.metric or metric, self.searcher.mode or mode
        return ok

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        return self.searcher.set_max_concurrency(max_concurrent)

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False,
                            pruned: bool = False, intermediate_values=None) -> None:
        try:
            self.searcher.add_evaluated_point(parameters, value, error, pruned,
                                              intermediate_values)
        except NotImplementedError:  # this searcher cannot learn from outside results
            pass

    def suggest(self, trial_id: str):
        if self.points:
            self._given[trial_id] = self.points.pop(0)
            return copy.deepcopy(self._given[trial_id])
        return self.searcher.suggest(trial_id)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id not in self._given:
            self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        point = self._given.pop(trial_id, None)
        if point is None:
            self.searcher.on_trial_complete(trial_id, result=result, error=error)
            return
        value = (result or {}).get(self.metric)
        if error or value is None:
            return
        self.add_evaluated_point(point, float(value))

    # Tune saves a wrapper's own state through these and the wrapped searcher's via save
    def get_state(self) -> dict:
        return {"points": self.points, "given": self._given}

    def set_state(self, state: dict) -> None:
        self.points, self._given = state["points"], state["given"]

    def save(self, checkpoint_path: str) -> None:
        """One file: the wrapped searcher's own checkpoint and the points not yet run."""
        self.searcher.save(checkpoint_path)
        with open(checkpoint_path, "rb") as fh:
            inner = fh.read()
        with open(checkpoint_path, "wb") as fh:
            pickle.dump({"searcher": inner, **self.get_state()}, fh)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as fh:
            state = pickle.load(fh)
        with tempfile.TemporaryDirectory() as tmp:
            inner = os.path.join(tmp, "searcher.pkl")
            with open(inner, "wb") as fh:
                fh.write(state["searcher"])
            self.searcher.restore(inner)
        self.set_state(state)
