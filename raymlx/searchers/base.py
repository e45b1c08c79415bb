"""What every raymlx searcher shares: the constructor contract, the space, the seed,
``points_to_evaluate`` first, bookkeeping of live and finished trials, save/restore.

Call order, as Tune drives a searcher (``ray.tune.search.Searcher``)::

    s = Cls(metric=None, mode=None, seed=None, points_to_evaluate=None, **options)
    s.set_search_properties(metric, mode, param_space)   # from TuneConfig; once
    s.suggest(trial_id) -> config | None | Searcher.FINISHED
    s.on_trial_result(trial_id, result)                  # intermediate results (optional)
    s.on_trial_complete(trial_id, result=None, error=False)
    s.save(path) / s.restore(path)                       # Tune checkpoints the experiment

Subclasses implement ``_propose(trial_id) -> (config, meta) | None | FINISHED`` and may
override ``_observe(config, meta, loss)``. ``meta`` is whatever the subclass needs to learn
from that trial later (a choice trace, the id of the trial in a model); it is None for a
point to evaluate. Results are turned into losses (lower is better) whatever the mode,
so subclasses minimise.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from raymlx.errors import InputError
from raymlx.searchers.encoding import DecisionVectors
from raymlx.searchers.space import sample_config


class SpaceSearcher(Searcher):
    """Base class of raymlx's searchers (see the module docstring for the call order)."""

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        seed: int | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        space: dict[str, Any] | None = None,
    ) -> None:
        if mode not in (None, "min", "max"):
            raise InputError(f"mode must be 'min' or 'max', not {mode!r}")
        super().__init__(metric=metric, mode=mode)
        self._space = space
        self._points = [copy.deepcopy(p) for p in (points_to_evaluate or [])]
        self._rng = np.random.default_rng(seed)
        self._live: dict[str, tuple[Any, dict | None]] = {}
        self.history: list[tuple[Any, float]] = []  # (config, loss) of finished trials
        self._vectors: DecisionVectors | None = None
        self._given: list[tuple[Any, float]] = []  # results from outside, not yet learnt
        # the number of trials Tune will run (its num_samples), when it says: model-based
        # searchers size their random start-up by it
        self.budget: int | None = None

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False,
                            pruned: bool = False, intermediate_values=None) -> None:
        """Learns from a configuration evaluated elsewhere (Tune's ``Searcher`` hook), e.g.
        the trials a resumed fit finished before it was interrupted. It is learnt at the
        next ``suggest``, once the space and mode are known."""
        if not error and not pruned and value is not None and np.isfinite(value):
            self._given.append((copy.deepcopy(parameters), float(value)))

    def _learn_given(self) -> None:
        for config, value in self._given:
            loss = value if self._mode != "max" else -value
            self.history.append((config, loss))
            self._observe(config, None, loss)
        self._given = []

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        if self._space is not None and config:
            return False
        if mode not in (None, "min", "max"):
            raise InputError(f"mode must be 'min' or 'max', not {mode!r}")
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        if config:  # an empty param_space leaves the space given to the constructor
            self._space = config
        n = spec.get("num_samples")
        if isinstance(n, int) and 0 < n < 10**6:  # -1 or sys.maxsize: until stopped
            self.budget = n
        return True

    def _codec(self) -> DecisionVectors:
        """The space as one number per decision (built once, when first needed)."""
        if self._vectors is None:
            self._vectors = DecisionVectors(self._space)
        return self._vectors

    def _sample(self) -> tuple[Any, dict]:
        trace: dict = {}
        return sample_config(self._space, self._rng, trace), trace

    def _propose(self, trial_id: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def _observe(self, config: Any, meta: Any, loss: float) -> None:
        """Hook for model-based searchers: one finished trial's loss (lower is better)."""

    def suggest(self, trial_id: str):
        if self._space is None:
            raise InputError(f"{type(self).__name__} has no search space: pass space= or use "
                             "it in a Tuner with a param_space")
        if self._given:
            self._learn_given()
        if self._points:
            config, meta = self._points.pop(0), None
        else:
            proposal = self._propose(trial_id)
            if proposal is None or proposal == Searcher.FINISHED:
                return proposal
            config, meta = proposal
        self._live[trial_id] = (config, meta)
        return copy.deepcopy(config)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        config, meta = self._live.pop(trial_id, (None, None))
        if config is None or error or not result or self._metric not in result:
            return
        value = result[self._metric]
        if value is None or not np.isfinite(value):
            return
        loss = float(value) if self._mode != "max" else -float(value)
        self.history.append((config, loss))
        self._observe(config, meta, loss)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as fh:
            pickle.dump(self.__dict__, fh)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as fh:
            self.__dict__.update(pickle.load(fh))
