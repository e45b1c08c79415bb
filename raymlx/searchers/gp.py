"""Gaussian-process Bayesian optimisation with expected improvement.

Surrogate: a GP with a constant mean (normalised targets), a Matérn 5/2 kernel with one
lengthscale per dimension (ARD) times a signal variance, plus a white-noise term, fitted by
maximum marginal likelihood (sklearn's ``GaussianProcessRegressor`` does the maths; Snoek,
Larochelle & Adams 2012 for the recipe). Inputs are the [0, 1] encodings of
:mod:`raymlx.searchers.encoding`: log domains in log space, integers as scaled values,
categoricals one-hot, inactive leaves of conditional spaces at a fixed value.

Acquisition: expected improvement for minimisation, EI = (f* - mu - xi) Phi(z) + sigma phi(z)
with z = (f* - mu - xi) / sigma. It is maximised over candidates that are *valid
configurations*: samples from the prior plus one-decision mutations of the best ones seen,
so categorical and integer values are never rounded from a relaxed optimum. Pending trials
(asynchronous runs) enter the GP as fantasies at the mean observed loss (a constant liar),
so parallel suggestions spread out. The first ``n_startup`` suggestions are random.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import norm

from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.encoding import SpaceEncoder
from raymlx.searchers.space import infer_trace, mutate
from raymlx.validation import check_int


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, best: float,
                         xi: float = 0.0) -> np.ndarray:
    """EI of a minimisation at predictive mean ``mu`` and std ``sigma`` below ``best``."""
    sigma = np.maximum(sigma, 1e-12)
    gain = best - mu - xi
    z = gain / sigma
    return gain * norm.cdf(z) + sigma * norm.pdf(z)


class GPSearch(SpaceSearcher):
    """GP-EI over a (conditional) Tune space."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, n_startup: int = 10, n_candidates: int = 500, xi: float = 0.0,
                 max_observations: int = 500) -> None:
        check_int("n_startup", n_startup, 2)
        check_int("n_candidates", n_candidates, 1)
        check_int("max_observations", max_observations, 2)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.n_startup = n_startup
        self.n_candidates = n_candidates
        self.xi = xi
        self.max_observations = max_observations
        self._encoder: SpaceEncoder | None = None
        self._X: list[np.ndarray] = []  # encodings of self.history's configs, same order

    def encoder(self) -> SpaceEncoder:
        if self._encoder is None:
            self._encoder = SpaceEncoder(self._space)
        return self._encoder

    def _observe(self, config, meta, loss: float) -> None:
        self._X.append(self.encoder().encode(config, meta))

    def _losses(self) -> np.ndarray:
        return np.array([loss for _, loss in self.history])

    def _fit_gp(self, X: np.ndarray, y: np.ndarray):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(X.shape[1], 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + WhiteKernel(1e-4, (1e-8, 1e-1))
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=1,
                                      random_state=int(self._rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes from L-BFGS on tiny data
            gp.fit(X, y)
        return gp

    def _candidates(self) -> list[tuple]:
        out = [self._sample() for _ in range(self.n_candidates // 2)]
        order = np.argsort(self._losses())[:10]
        configs = [c for c, _ in self.history]
        for i in range(self.n_candidates - len(out)):
            parent = configs[order[i % len(order)]]
            trace = infer_trace(self._space, parent)
            if trace is None:
                out.append(self._sample())
            else:
                out.append(mutate(self._space, parent, trace, self._rng))
        return out

    def _propose(self, trial_id: str):
        if len(self.history) < self.n_startup:
            return self._sample()
        losses = self._losses()
        X = np.array(self._X[-self.max_observations:])
        y = losses[-self.max_observations:]
        pending = [self.encoder().encode(c, m) for c, m in self._live.values()]
        if pending:  # constant liar: pending points count as average outcomes
            X = np.vstack([X, pending])
            y = np.concatenate([y, np.full(len(pending), y.mean())])
        gp = self._fit_gp(X, y)
        cands = self._candidates()
        Xc = np.array([self.encoder().encode(c, t) for c, t in cands])
        mu, sigma = gp.predict(Xc, return_std=True)
        ei = expected_improvement(mu, sigma, float(losses.min()), self.xi)
        return cands[int(np.argmax(ei))]
