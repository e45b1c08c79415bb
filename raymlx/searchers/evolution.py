"""Regularized (aging) evolution: Real, Aggarwal, Huang & Le, AAAI 2019.

The population is a queue of the last ``population_size`` evaluated configurations. Until it
is full, new configurations are random. Then each new one is a child: draw
``sample_size`` members uniformly, take the best as parent, mutate exactly one of its active
decisions (a numeric value resampled from its prior until it differs, or a choice switched
to another category). Every finished trial joins the queue and the *oldest* member leaves,
not the worst: that aging is the regularization. Asynchronous: children are proposed from
the current population without waiting for pending trials, and a child that finishes after
its parent aged out still joins. Defaults follow Syne Tune's REA (P=100, S=10); the paper's
AmoebaNet search used P=100, S=25.
"""

from __future__ import annotations

from collections import deque

from raymlx._internal.validation import check_int
from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.space import infer_trace, mutate


class EvolutionSearch(SpaceSearcher):
    """Aging evolution over a (conditional) Tune space."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, population_size: int = 100, sample_size: int = 10) -> None:
        check_int("population_size", population_size, 2)
        check_int("sample_size", sample_size, 1, population_size)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.population_size = population_size
        self.sample_size = sample_size
        self.population: deque = deque()  # (config, trace, loss), oldest first
        self.removed: list = []  # aged-out members, oldest first (kept for inspection)

    def _propose(self, trial_id: str):
        if len(self.population) < self.population_size:
            return self._sample()
        picks = self._rng.choice(len(self.population), size=self.sample_size, replace=False)
        # ties go to the older member, so the choice does not depend on the draw order
        parent = min((self.population[i] for i in sorted(picks)), key=lambda m: m[2])
        return mutate(self._space, parent[0], parent[1], self._rng)

    def _observe(self, config, trace, loss) -> None:
        if trace is None:  # a point to evaluate: recover which categories it chose
            trace = infer_trace(self._space, config)
            if trace is None:
                return
        self.population.append((config, trace, loss))
        while len(self.population) > self.population_size:
            self.removed.append(self.population.popleft())
