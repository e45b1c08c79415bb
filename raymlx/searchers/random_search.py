"""Random search over Tune domains, after an optional list of points to evaluate first.

Bergstra & Bengio (2012): random search is the baseline every model-based searcher must
beat. raymlx uses it, with the model families' portfolio as ``points_to_evaluate``, as the
default searcher of :class:`~raymlx.AutoML`. It resolves nested and conditional
``tune.choice`` spaces itself and works in a plain ``tune.Tuner``.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from raymlx.errors import InputError
from raymlx.searchers.space import sample_config


class RandomSearch(Searcher):
    """Suggests ``points_to_evaluate`` in order, then independent random samples.

    Same ``seed`` -> the same sequence of suggestions. ``save``/``restore`` keep the random
    state and the position in ``points_to_evaluate``, so a restored search goes on where it
    stopped instead of repeating itself.
    """

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
        self._live: dict[str, dict] = {}
        self.completed: list[tuple[dict, dict | None, bool]] = []

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        if self._space is not None and config:
            return False
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        self._space = config
        return True

    def suggest(self, trial_id: str) -> dict | None:
        if self._space is None:
            raise InputError("RandomSearch has no search space: pass space= or use it in a Tuner")
        if self._points:
            cfg = self._points.pop(0)
        else:
            cfg = sample_config(self._space, self._rng)
        self._live[trial_id] = cfg
        return copy.deepcopy(cfg)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        cfg = self._live.pop(trial_id, None)
        if cfg is not None:
            self.completed.append((cfg, result, error))

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as fh:
            pickle.dump(self.__dict__, fh)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as fh:
            self.__dict__.update(pickle.load(fh))
