"""BOHB's model: Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter
Optimization at Scale", ICML 2018 (defaults of the authors' HpBandSter).

Observations are kept per budget (the value of ``budget_attr`` in each reported result:
``training_iteration``, boosting rounds, epochs...). A model is built from the *largest*
budget that has enough of them: the losses there are sorted, the best
max(d + 1, ``top_n_percent`` % of n) are good, the next (up to max(d + 1, the rest's %))
are bad, and both sets must hold more points than dimensions; a product kernel
density is fitted to each set: Gaussian kernels on the [0, 1]-scaled numeric dimensions,
Aitchison-Aitken kernels on categorical ones, bandwidths by the normal reference rule,
floored at ``min_bandwidth``. A proposal draws ``num_samples`` candidates around good
points (bandwidths widened by ``bandwidth_factor``) and returns the one that maximises
l(x) / g(x). A ``random_fraction`` of proposals, and all of them until a model exists, are
drawn from the prior: that keeps Hyperband's guarantees. Leaves of a conditional space that
a configuration does not use are imputed at random, as HpBandSter does.

numpy/scipy only: no hpbandster or ConfigSpace (unmaintained; Tune's TuneBOHB needs both).
``BOHBScheduler(searcher=...)`` (raymlx.schedulers) calls
:meth:`BOHBSearch.configure_scheduler` once and then tells it the budget of every rung
result; without it, the budget is read from each result's ``budget_attr``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import truncnorm

from raymlx._internal.validation import check_int, check_number
from raymlx.searchers.base import SpaceSearcher


class BOHBSearch(SpaceSearcher):
    """Multi-fidelity KDE searcher (BOHB); works with any scheduler that reports budgets."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, budget_attr: str = "training_iteration",
                 top_n_percent: float = 15, num_samples: int = 64,
                 random_fraction: float = 1 / 3, bandwidth_factor: float = 3.0,
                 min_bandwidth: float = 1e-3, pending_as_bad: bool = True) -> None:
        check_number("top_n_percent", top_n_percent, 0, 100, low_open=True, high_open=True)
        check_number("random_fraction", random_fraction, 0, 1)
        check_int("num_samples", num_samples, 1)
        check_number("bandwidth_factor", bandwidth_factor, 0, low_open=True)
        check_number("min_bandwidth", min_bandwidth, 0, low_open=True)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.budget_attr = budget_attr
        self.top_n_percent = top_n_percent
        self.num_samples = num_samples
        self.random_fraction = random_fraction
        self.bandwidth_factor = bandwidth_factor
        self.min_bandwidth = min_bandwidth
        self.pending_as_bad = bool(pending_as_bad)
        self.observations: dict[float, dict[str, tuple[np.ndarray, float]]] = {}
        # True once a BOHBScheduler took over (configure_scheduler): it reports each rung
        # result with its budget
        self.budgets_from_scheduler = False

    def configure_scheduler(self, scheduler) -> None:
        """The handshake with a multi-fidelity scheduler: from now on its
        :meth:`record_at_budget` calls are this searcher's only observations."""
        self.budgets_from_scheduler = True

    # -- representation: one variable per decision (categorical index or [0, 1] number)
    def _cardinality(self, j: int) -> int:
        return int(self._codec().cardinalities[j])

    def _impute(self, X: np.ndarray) -> np.ndarray:
        X = X.copy()
        for j in range(X.shape[1]):
            missing = np.isnan(X[:, j])
            n = self._cardinality(j)
            draw = self._rng.integers(n, size=missing.sum()) if n else \
                self._rng.uniform(size=missing.sum())
            X[missing, j] = draw
        return X

    # -- observations
    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if not self.budgets_from_scheduler:
            self._record(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        if result and not error and not self.budgets_from_scheduler:
            # a final result without a budget (plain ask/tell use) counts at one budget, 1
            budget = None if self.budget_attr in result else 1.0
            self._record(trial_id, result, budget)
        super().on_trial_complete(trial_id, result, error)

    def record_at_budget(self, trial_id: str, result: dict, budget: float) -> None:
        """Learn from ``result`` as an evaluation at ``budget`` (called by BOHBScheduler)."""
        self._record(trial_id, result, budget)

    def _record(self, trial_id: str, result: dict, budget: float | None = None) -> None:
        live = self._live.get(trial_id)
        value = result.get(self._metric) if result else None
        if budget is None:
            budget = result.get(self.budget_attr) if result else None
        if live is None or value is None or budget is None or not np.isfinite(value):
            return
        budget = float(budget)
        loss = float(value) if self._mode != "max" else -float(value)
        x = self._codec().vector(*live)
        self.observations.setdefault(budget, {})[trial_id] = (x, loss)

    # -- the model
    def model_budget(self) -> float | None:
        """The largest budget with enough observations for both densities, or None."""
        d = self._codec().n_dims
        for budget in sorted(self.observations, reverse=True):
            n = len(self.observations[budget])
            n_good = max(d + 1, int(self.top_n_percent * n) // 100)
            if n - n_good > d:  # both densities get more points than dimensions
                return budget
        return None

    def _split(self, budget: float) -> tuple[np.ndarray, np.ndarray]:
        """(good, bad) rows at ``budget``; with ``pending_as_bad`` the trials that are running
        and have reported nothing yet join the bad rows, so parallel proposals spread out
        (a constant liar)."""
        d = self._codec().n_dims
        obs = list(self.observations[budget].values())
        X = self._impute(np.array([x for x, _ in obs]))
        order = np.argsort([loss for _, loss in obs], kind="stable")
        n = len(obs)
        n_good = max(d + 1, int(self.top_n_percent * n) // 100)
        n_bad = max(d + 1, int(((100 - self.top_n_percent) * n) // 100))
        good, bad = X[order[:n_good]], X[order[n_good:n_good + n_bad]]
        seen = set().union(*(set(at) for at in self.observations.values()))
        pending = [self._codec().vector(*live) for tid, live in self._live.items()
                   if tid not in seen]
        if self.pending_as_bad and pending:
            bad = np.vstack([bad, self._impute(np.array(pending))])
        return good, bad

    def _bandwidths(self, X: np.ndarray) -> np.ndarray:
        n, d = X.shape
        bw = 1.06 * X.std(axis=0) * n ** (-1.0 / (4 + d))  # normal reference rule
        return np.maximum(bw, self.min_bandwidth)

    def density(self, X: np.ndarray, data: np.ndarray, bw: np.ndarray) -> np.ndarray:
        """The product-kernel density of ``data`` at each row of ``X``."""
        out = np.ones((len(X), len(data)))
        for j in range(X.shape[1]):
            n_cat = self._cardinality(j)
            if n_cat:
                lam = min(bw[j], 1.0 - 1e-12)
                same = X[:, j][:, None] == data[:, j][None, :]
                out *= np.where(same, 1.0 - lam, lam / max(n_cat - 1, 1))
            else:
                z = (X[:, j][:, None] - data[:, j][None, :]) / bw[j]
                out *= np.exp(-0.5 * z * z) / (bw[j] * math.sqrt(2 * math.pi))
        return out.mean(axis=1)

    def sample_around(self, good: np.ndarray, bw: np.ndarray) -> np.ndarray:
        """``num_samples`` candidates, each drawn around a random good row: a normal of
        width ``bw`` truncated to [0, 1] on numeric dimensions; on categorical ones the
        row's value kept with probability 1 - bw, else a uniform category."""
        n = self.num_samples
        data = good[self._rng.integers(len(good), size=n)]
        out = np.empty_like(data)
        for j in range(good.shape[1]):
            n_cat, v = self._cardinality(j), data[:, j]
            if n_cat:
                keep = self._rng.random(n) < 1.0 - min(bw[j], 1.0)
                out[:, j] = np.where(keep, v, self._rng.integers(n_cat, size=n))
            else:
                out[:, j] = truncnorm.rvs((0.0 - v) / bw[j], (1.0 - v) / bw[j], loc=v,
                                          scale=bw[j], random_state=self._rng)
        return out

    def _propose(self, trial_id: str):
        budget = self.model_budget()
        if budget is None or self._rng.random() < self.random_fraction:
            return self._sample()
        good, bad = self._split(budget)
        bw_good, bw_bad = self._bandwidths(good), self._bandwidths(bad)
        cands = self.sample_around(good, bw_good * self.bandwidth_factor)
        score = self.density(cands, good, bw_good) / np.maximum(
            self.density(cands, bad, bw_bad), 1e-32)
        return self._codec().decode(cands[int(np.argmax(score))])
