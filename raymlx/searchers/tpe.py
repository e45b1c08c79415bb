"""TPE: the Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, NeurIPS 2011).

TPE models p(x | y) instead of p(y | x): the observed losses are split at a quantile into
"good" and "bad", a Parzen density is fitted to each, and the next point is the candidate
drawn from the good density l(x) with the best ratio l(x) / g(x), which maximises expected
improvement. Two density models:

- ``multivariate=True`` (default): one joint kernel per observation over all the decisions
  it made (:mod:`raymlx.searchers.parzen`, written here because hyperopt has none). Joint
  kernels keep the interactions between hyperparameters that independent ones lose
  (Falkner et al. 2018; Watanabe 2023); Optuna 5 made them its default.
- ``multivariate=False``: the original independent TPE, one density per dimension following
  the tree of conditional choices; the maths is hyperopt's ``tpe.suggest``.

Both use the same split and defaults. The paper splits at the gamma-quantile of the N
observed losses; hyperopt keeps only ceil(0.25 * sqrt(N)) points (3 of 100), Optuna
ceil(0.1 * N) capped at 25 (10 of 100). raymlx takes the paper's rule with Optuna's cap of
25 and a gamma that depends on the space (:func:`default_gamma`): 0.15 for up to 3
decisions, 0.10 from 4 on; 64 candidates, prior weight 1 and older points down-weighted
after the newest 25; for hyperopt it passes the factor that makes hyperopt's square-root
rule give that count. The random start-up is sized for the space and the budget instead
of a fixed 10 (:func:`startup_trials`): d + 1 points for d decisions, at least 3 and at
most 10, and at most a quarter of the trials when Tune tells the searcher how many it will
run (``num_samples``). Pending trials count as bad (a constant liar, so parallel
suggestions spread out).

Why these values: on the 24 BBOB functions in 2, 5 and 10 dimensions
(``benchmarks/bbob.py``), with 1 and 4 concurrent trials, the earlier defaults (10 random
points, gamma 0.1, 24 candidates: Optuna's) ranked behind the sized start-up with gamma
0.15 and 64 candidates at 20 and 50 evaluations on instances they were not chosen on
(docs/benchmarks/index.md, "Searchers at small budgets"). gamma was then split by
dimension: on BBOB instances 5 and 71, which no default was chosen on, gamma 0.10 beat 0.15
in 5 and 10 dimensions (most clearly with 4 trials pending: better on 62 of 96 problems and
worse on 34 at 100 evaluations) and lost in 2 dimensions (better on 18, worse on 30); 3 and
4 dimensions were not measured, so where the step falls is a choice. On the older problems of
``benchmarks/hpo.py`` the split rule and the joint kernels are what closed the gap to
Optuna's TPE.

raymlx adds the Tune side: conditional spaces (unique labels for hyperopt; unused leaves
left out of the joint kernels), seeding, points to evaluate that are *told* to the model,
asynchronous suggestions and save/restore.
"""

from __future__ import annotations

import math

import hyperopt
import numpy as np
from hyperopt import tpe

from raymlx._internal.validation import check_int, check_number
from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.hyperopt_space import clip_to_space, config_to_vals, to_hyperopt
from raymlx.searchers.parzen import MixedParzenEstimator, recency_weights


def startup_trials(n_dims: int, budget: int | None = None) -> int:
    """Random trials before the model: d + 1 for d decisions, clipped to [3, 10], and at
    most a quarter of ``budget`` (the trials Tune will run), never under 3."""
    n = min(10, max(3, n_dims + 1))
    if budget:
        n = min(n, max(3, budget // 4))
    return n


def default_gamma(n_dims: int) -> float:
    """The good fraction for a space of ``n_dims`` decisions: 0.15 up to 3, 0.10 from 4 on
    (measured on BBOB, module docstring)."""
    return 0.15 if n_dims <= 3 else 0.10


class TPESearch(SpaceSearcher):
    """TPE (joint or independent kernels) behind raymlx's searcher contract."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, n_startup: int | None = None, gamma: float | None = None,
                 max_good: int = 25, n_ei_candidates: int = 64, multivariate: bool = True,
                 prior_weight: float = 1.0) -> None:
        if n_startup is not None:
            check_int("n_startup", n_startup, 1)
        if gamma is not None:
            check_number("gamma", gamma, 0, 1, low_open=True, high_open=True)
        check_int("max_good", max_good, 1)
        check_int("n_ei_candidates", n_ei_candidates, 1)
        check_number("prior_weight", prior_weight, 0, low_open=True)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.n_startup = n_startup
        self.gamma = gamma
        self.max_good = max_good
        self.n_ei_candidates = n_ei_candidates
        self.multivariate = bool(multivariate)
        self.prior_weight = prior_weight
        self._X: list[np.ndarray] = []  # decision vectors of self.history, same order
        self._domain = None
        self._trials = hyperopt.Trials()

    def startup(self) -> int:
        """The number of random trials before the model (``n_startup``, or sized by
        :func:`startup_trials` for this space and the budget Tune gave)."""
        if self.n_startup is not None:
            return self.n_startup
        return startup_trials(self._codec().n_dims, self.budget)

    def _hyperopt_domain(self):
        if self._domain is None:
            self._expr = to_hyperopt(self._space)
            self._domain = hyperopt.Domain(lambda config: 0.0, self._expr)
        return self._domain

    def good_fraction(self) -> float:
        """gamma: the ``gamma`` given, else :func:`default_gamma` for this space."""
        if self.gamma is not None:
            return self.gamma
        return default_gamma(self._codec().n_dims if self._space else 1)

    def n_good(self, n_observed: int) -> int:
        """How many of ``n_observed`` finished trials form the "good" density l(x)."""
        return min(math.ceil(self.good_fraction() * n_observed), self.max_good)

    def _hyperopt_gamma(self) -> float:
        """The factor g for which hyperopt's ceil(g * sqrt(N)) equals ``n_good(N)``.

        hyperopt's N counts every trial it holds: finished ones and, with an infinite loss,
        pending and failed ones (they land in the "bad" set).
        """
        n = len(self._trials.trials)
        if n == 0:
            return self.good_fraction()
        return (self.n_good(n) - 0.5) / math.sqrt(n)

    # -- joint kernels (multivariate)
    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(good rows, their weights, bad rows, their weights) of the decision vectors:
        the n_good lowest losses are good; the rest and the pending trials are bad."""
        X = np.array(self._X).reshape(len(self._X), self._codec().n_dims)
        losses = np.array([loss for _, loss in self.history])
        weights = recency_weights(len(X))
        order = np.argsort(losses, kind="stable")
        n_good = self.n_good(len(X))
        good, bad = np.sort(order[:n_good]), np.sort(order[n_good:])
        pending = [self._codec().vector(c, m if isinstance(m, dict) else None)
                   for c, m in self._live.values()]
        X_bad, w_bad = X[bad], weights[bad]
        if pending:
            X_bad = np.vstack([X_bad, pending])
            w_bad = np.concatenate([w_bad, np.ones(len(pending))])
        return X[good], weights[good], X_bad, w_bad

    def _propose_joint(self):
        if len(self.history) < self.startup():
            return self._sample()
        codec = self._codec()
        X_good, w_good, X_bad, w_bad = self.split()
        below = MixedParzenEstimator(X_good, w_good, codec.cardinalities, self.prior_weight)
        above = MixedParzenEstimator(X_bad, w_bad, codec.cardinalities, self.prior_weight)
        cands = [codec.decode(x) for x in below.sample(self._rng, self.n_ei_candidates)]
        C = np.array([codec.vector(c, t) for c, t in cands])
        score = below.log_pdf(C) - above.log_pdf(C)
        return cands[int(np.argmax(score))]

    # -- hyperopt (independent kernels)
    def _propose(self, trial_id: str):
        if self.multivariate:
            return self._propose_joint()
        domain = self._hyperopt_domain()
        tid = self._trials.new_trial_ids(1)[0]
        self._trials.refresh()
        docs = tpe.suggest([tid], domain, self._trials, int(self._rng.integers(2**31 - 1)),
                           n_startup_jobs=self.startup(), gamma=self._hyperopt_gamma(),
                           n_EI_candidates=self.n_ei_candidates, verbose=False)
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        vals = {k: v[0] for k, v in docs[0]["misc"]["vals"].items() if v}
        config = clip_to_space(self._space, hyperopt.space_eval(self._expr, vals))
        return config, tid

    def _observe(self, config, meta, loss: float) -> None:
        if self.multivariate:
            self._X.append(self._codec().vector(config, meta))
            return
        domain = self._hyperopt_domain()
        if meta is None:  # a point to evaluate: add it to the model as a finished trial
            vals = config_to_vals(self._space, config, list(domain.params))
            if vals is None:
                return
            tid = self._trials.new_trial_ids(1)[0]
            misc = {"tid": tid, "cmd": domain.cmd, "workdir": None,
                    "idxs": {k: [tid] if v else [] for k, v in vals.items()}, "vals": vals}
            docs = self._trials.new_trial_docs([tid], [None], [{"status": "new"}], [misc])
            self._trials.insert_trial_docs(docs)
            self._trials.refresh()
            meta = tid
        for doc in self._trials._dynamic_trials:
            if doc["tid"] == meta:
                doc["result"] = {"loss": loss, "status": hyperopt.STATUS_OK}
                doc["state"] = hyperopt.JOB_STATE_DONE
        self._trials.refresh()

    def save(self, checkpoint_path: str) -> None:
        self._domain = None  # hyperopt's Domain holds a lambda; rebuilt on demand
        super().save(checkpoint_path)
