"""Gaussian-process Bayesian optimisation with expected improvement.

Surrogate: a GP with a constant mean (normalised targets), a Matérn 5/2 kernel with one
lengthscale per dimension (ARD) times a signal variance, plus a white-noise term, fitted by
maximum marginal likelihood (:mod:`raymlx.searchers.gp_model`: sklearn's
``GaussianProcessRegressor`` model, computed faster; Snoek, Larochelle & Adams 2012 for the
recipe). Inputs are the [0, 1] encodings of
:mod:`raymlx.searchers.encoding`: log domains in log space, integers as scaled values,
categoricals one-hot, inactive leaves of conditional spaces at a fixed value.

Acquisition: expected improvement for minimisation, EI = (f* - mu - xi) Phi(z) + sigma phi(z)
with z = (f* - mu - xi) / sigma. It is maximised over candidates that are *valid
configurations*: samples from the prior plus one-decision mutations of the best ones seen,
so categorical and integer values are never rounded from a relaxed optimum. The
``n_refine`` best candidates are then polished by L-BFGS-B on log EI over their continuous
leaves (choices, integers and quantized values stay as they are): random candidates alone
cannot place a point precisely once the model is sharp. The kernel's hyperparameters are
warm-started from the previous fit, with a random restart every ``restart_every`` fits
(every fit by default: on Hartmann-6 a warm start alone got stuck early, median regret 0.13
against 0.005 at 50 evaluations). Pending trials (asynchronous runs) enter the GP as
fantasies at the mean observed loss (a constant liar), so parallel suggestions spread out.
The first ``n_startup`` suggestions are random.

Cost: each suggestion refits the GP (cubic in observations, a lengthscale per encoded
dimension). ``benchmarks/gp_cost.py`` (``benchmarks/results/gp_cost.json``) measured 54 to
63 ms per suggestion at 100 observations on 2 to 10 continuous dimensions (Optuna's
GPSampler: 98 to 136 ms in the same run), and 4.7 s on AutoML's conditional space of every
family. That is why ``AutoML(searcher="auto")`` uses TPE, not this searcher.
"""

from __future__ import annotations

import copy

import numpy as np
from ray.tune.search.sample import Float
from scipy.optimize import minimize
from scipy.stats import norm

from raymlx._internal.validation import check_int
from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.encoding import SpaceEncoder, from_unit
from raymlx.searchers.gp_model import MaternGP
from raymlx.searchers.space import infer_trace, mutate, set_path


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
                 max_observations: int = 500, n_refine: int = 3,
                 restart_every: int = 1) -> None:
        check_int("n_startup", n_startup, 2)
        check_int("n_candidates", n_candidates, 1)
        check_int("max_observations", max_observations, 2)
        check_int("n_refine", n_refine, 0)
        check_int("restart_every", restart_every, 1)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.n_startup = n_startup
        self.n_candidates = n_candidates
        self.xi = xi
        self.max_observations = max_observations
        self.n_refine = n_refine
        self.restart_every = restart_every
        self._model: MaternGP | None = None  # keeps the last fit's hyperparameters
        self._n_fits = 0
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

    def _fit_gp(self, X: np.ndarray, y: np.ndarray) -> MaternGP:
        if self._model is None or self._model.dims != X.shape[1]:
            self._model = MaternGP(X.shape[1])
        restart = self._n_fits % self.restart_every == 0
        self._model.fit(X, y, self._rng, restarts=1 if restart else 0)
        self._n_fits += 1
        return self._model

    def _candidates(self) -> list[tuple]:
        codec = self._codec()
        out = [codec.decode(x) for x in codec.random(self._rng, self.n_candidates // 2)]
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
        mu, sigma = gp.predict(Xc)
        best = float(losses.min())
        ei = expected_improvement(mu, sigma, best, self.xi)
        top = np.argsort(-ei, kind="stable")[: self.n_refine]
        polished = [self.refine(gp, cands[i][0], cands[i][1], best) for i in top]
        for i, (config, trace, value) in zip(top, polished):
            if value > ei[i]:
                cands[i], ei[i] = (config, trace), value
        return cands[int(np.argmax(ei))]

    def refine(self, gp, config, trace: dict, best: float) -> tuple:
        """``config`` with its continuous leaves moved by L-BFGS-B to a local maximum of log
        EI, its trace, and the EI there. Gradients are forward differences, all the
        perturbed points predicted in one call."""
        enc = self.encoder()
        x0 = enc.encode(config, trace)
        leaves = [(path, dom, col) for kind, path, cond, dom, col in enc.leaves
                  if kind == "number" and isinstance(dom, Float)
                  and not getattr(dom.get_sampler(), "q", None)
                  and all(trace.get(p) == i for p, i in cond)]
        cols = [col for _, _, col in leaves]
        if not cols:
            return config, trace, -np.inf
        h = 1e-6

        def neg_log_ei(u: np.ndarray) -> tuple[float, np.ndarray]:
            step = np.where(u + h <= 1.0, h, -h)
            U = np.repeat(x0[None, :], len(cols) + 1, axis=0)
            U[:, cols] = u
            U[np.arange(1, len(cols) + 1), cols] += step
            mu, sd = gp.predict(U)
            v = -np.log(np.maximum(expected_improvement(mu, sd, best, self.xi), 1e-300))
            return float(v[0]), (v[1:] - v[0]) / step

        res = minimize(neg_log_ei, x0[cols], jac=True, method="L-BFGS-B",
                       bounds=[(0.0, 1.0)] * len(cols), options={"maxiter": 30})
        child = copy.deepcopy(config)
        for (path, dom, _), u in zip(leaves, res.x):
            set_path(child, path, from_unit(dom, u))
        mu, sd = gp.predict(enc.encode(child, trace)[None, :])
        return child, trace, float(expected_improvement(mu, sd, best, self.xi)[0])
