"""Gaussian-process Bayesian optimisation with expected improvement.

Surrogate: a GP with a constant mean (normalised targets), a Matérn 5/2 kernel with one
lengthscale per dimension (ARD) times a signal variance, plus a white-noise term, fitted by
maximum marginal likelihood (:mod:`raymlx.searchers.gp_model`: sklearn's
``GaussianProcessRegressor`` model, computed faster; Snoek, Larochelle & Adams 2012 for the
recipe). Inputs are the [0, 1] encodings of
:mod:`raymlx.searchers.encoding`: log domains in log space, integers as scaled values,
categoricals one-hot, inactive leaves of conditional spaces at a fixed value.

Acquisition: expected improvement for minimisation
(:func:`raymlx.searchers.gp_acquisition.expected_improvement`). It is maximised over
candidates that are *valid configurations*: samples from the prior plus one-decision
mutations of the best ones seen, so categorical and integer values are never rounded from a
relaxed optimum. They are drawn and encoded as arrays
(:mod:`raymlx.searchers.gp_candidates`); only the few refined or chosen are built as
configurations. The ``n_refine`` best candidates are then polished by L-BFGS-B on log EI over
their continuous leaves (choices, integers and quantized values stay as they are): random
candidates alone cannot place a point precisely once the model is sharp. The kernel's
hyperparameters are warm-started from the previous fit, with a random restart every
``restart_every`` fits (every fit by default: on Hartmann-6 a warm start alone got stuck
early, median regret 0.13 against 0.005 at 50 evaluations). The first ``n_startup``
suggestions are random.

Trials still running (``pending``): by default the kriging believer (Ginsbourger, Le Riche &
Carraro 2010): the GP fitted on real observations is told its own mean at each running
point, so its variance there shrinks and EI moves elsewhere; made-up values never enter the
hyperparameter fit. The alternatives are ``"fantasies"``, the EI of the batch a candidate
forms with the running trials, their outcomes drawn from the GP
(:class:`~raymlx.searchers.gp_acquisition.PendingEI`), and ``"liar"``, this searcher's old
rule (running points fitted as observations at the mean loss). On BBOB with 4 trials
running (``benchmarks/bbob.py``, instance 1, 50 evaluations, mean rank among 9 searchers)
the believer ranked 4.42, the fantasies 4.60 and the liar 5.38.

The kernel's hyperparameters are fitted with a weak prior (:func:`gp_model.log_prior`):
with maximum likelihood alone the noise fell to its floor on deterministic functions and
the GP interpolated; the prior moved every pending rule about one rank up on the same
benchmark (believer 5.37 to 4.62 among 10).

Cost: each suggestion refits the GP (cubic in observations, a lengthscale per encoded
dimension); ``benchmarks/gp_cost.py`` (``benchmarks/results/gp_cost.json``) measures it.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
from ray.tune.search.sample import Float
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from raymlx._internal.validation import Options, check_int
from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.encoding import SpaceEncoder, from_unit
from raymlx.searchers.gp_acquisition import PendingEI, expected_improvement
from raymlx.searchers.gp_candidates import CandidateEncoder
from raymlx.searchers.gp_model import MaternGP
from raymlx.searchers.space import set_path

#: how pending trials enter: "believer" (kriging believer: the GP fitted on real
#: observations is told its own mean at each pending point), "fantasies" (EI of the
#: candidate together with the running trials, their outcomes drawn from the GP:
#: :class:`PendingEI`) or "liar" (pending points fitted as observations at the mean loss)
PENDING_RULES = ("believer", "fantasies", "liar")




@functools.cache
def _blas() -> ThreadpoolController:
    """The process's thread pools, inspected once (a fresh inspection costs 1.5 ms)."""
    return ThreadpoolController()


class GPSearch(SpaceSearcher):
    """GP-EI over a (conditional) Tune space."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, n_startup: int = 10, n_candidates: int = 500, xi: float = 0.0,
                 max_observations: int = 500, n_refine: int = 3,
                 restart_every: int = 1, pending: str = "believer",
                 prior: bool = True) -> None:
        check_int("n_startup", n_startup, 2)
        check_int("n_candidates", n_candidates, 1)
        check_int("max_observations", max_observations, 2)
        check_int("n_refine", n_refine, 0)
        check_int("restart_every", restart_every, 1)
        Options(PENDING_RULES).check("pending", pending)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.n_startup = n_startup
        self.n_candidates = n_candidates
        self.xi = xi
        self.max_observations = max_observations
        self.n_refine = n_refine
        self.restart_every = restart_every
        self.pending = pending
        self.prior = bool(prior)
        self._model: MaternGP | None = None  # keeps the last fit's hyperparameters
        self._n_fits = 0
        self._encoder: SpaceEncoder | None = None
        self._candidate_encoder: CandidateEncoder | None = None
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
            self._model = MaternGP(X.shape[1], prior=getattr(self, "prior", False))
        restart = self._n_fits % self.restart_every == 0
        self._model.fit(X, y, self._rng, restarts=1 if restart else 0)
        self._n_fits += 1
        return self._model

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Decision vectors of the acquisition candidates and their GP encodings: half from
        the prior, half one-decision mutations of the ten best observations
        (:mod:`raymlx.searchers.gp_candidates`)."""
        if getattr(self, "_candidate_encoder", None) is None:  # absent from old checkpoints
            self._candidate_encoder = CandidateEncoder(self._space, self.encoder(),
                                                       self._codec())
        codec, configs = self._codec(), [c for c, _ in self.history]
        parents = np.array([codec.vector(configs[i]) for i in np.argsort(self._losses())[:10]])
        cands = self._candidate_encoder
        assert cands is not None
        V = cands.draw(self._rng, parents, self.n_candidates)
        return V, cands.encode(V)

    def _propose(self, trial_id: str):
        if len(self.history) < self.n_startup:
            return self._sample()
        # one BLAS thread: the GP's matrices are 100s wide, and threads fighting over them
        # made a suggestion in AutoML's space 17x slower on 2 cores (1.5 s against 87 ms,
        # benchmarks/gp_cost.py)
        with _blas().limit(limits=1, user_api="blas"):
            return self._propose_with_model()

    def _propose_with_model(self):
        losses = self._losses()
        X = np.array(self._X[-self.max_observations:])
        y = losses[-self.max_observations:]
        pending = [self.encoder().encode(c, m) for c, m in self._live.values()]
        if pending and getattr(self, "pending", "liar") == "liar":  # fitted as mean outcomes
            X = np.vstack([X, pending])
            y = np.concatenate([y, np.full(len(pending), y.mean())])
        gp = self._fit_gp(X, y)
        acquisition = self.acquisition(gp, float(losses.min()), pending)
        V, E = self.candidates()
        ei = acquisition(E)
        top = np.argsort(-ei, kind="stable")[: max(self.n_refine, 1)]
        chosen = {int(i): self._codec().decode(V[i]) for i in top}
        polish = [int(i) for i in top[: self.n_refine]]
        if polish:
            for i, (config, trace, value) in zip(
                    polish, self.refine(acquisition, [chosen[i] for i in polish])):
                if value > ei[i]:
                    chosen[i], ei[i] = (config, trace), value
        return chosen[max(chosen, key=lambda i: ei[i])]

    def acquisition(self, gp: MaternGP, best: float, pending: list[np.ndarray]):
        """The function from encoded candidates to their EI, with the pending trials taken
        into account by ``self.pending``'s rule."""
        rule = getattr(self, "pending", "liar")  # checkpoints from before the rule: the liar
        if pending and rule == "fantasies":
            return PendingEI(gp, best, np.array(pending), self.xi,
                             seed=int(self._rng.integers(2**31 - 1)))
        if pending and rule == "believer":
            gp = gp.with_fantasies(np.array(pending))

        def ei(Xc: np.ndarray) -> np.ndarray:
            mu, sd = gp.predict(Xc, include_noise=False)
            return expected_improvement(mu, sd, best, self.xi)
        return ei

    def refine(self, acquisition, starts: list[tuple]) -> list[tuple]:
        """Each (config, trace) of ``starts`` with its continuous leaves moved by L-BFGS-B to
        a local maximum of log EI, as (config, trace, EI there).

        The starts are polished in one L-BFGS-B run over all their leaves: the objective is
        the sum of their log EIs, which are independent, so its optimum is each one's, and
        each evaluation is one acquisition call for every start and its forward-difference
        steps (a third of the calls of three runs; the calls, not their size, were what a
        refine cost)."""
        enc = self.encoder()
        blocks = []  # (x0, leaves, cols) per start with continuous leaves
        for config, trace in starts:
            leaves = [(path, dom, col) for kind, path, cond, dom, col in enc.leaves
                      if kind == "number" and isinstance(dom, Float)
                      and not getattr(dom.get_sampler(), "q", None)
                      and all(trace.get(p) == i for p, i in cond)]
            blocks.append((enc.encode(config, trace), leaves, [c for _, _, c in leaves]))
        live = [b for b in range(len(blocks)) if blocks[b][2]]
        if not live:
            return [(c, t, -np.inf) for c, t in starts]
        sizes = [len(blocks[b][2]) for b in live]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        h = 1e-6

        def neg_log_ei(u: np.ndarray) -> tuple[float, np.ndarray]:
            step = np.where(u + h <= 1.0, h, -h)
            rows = []
            for k, b in enumerate(live):
                x0, _, cols = blocks[b]
                U = np.repeat(x0[None, :], len(cols) + 1, axis=0)
                U[:, cols] = u[offsets[k]:offsets[k + 1]]
                U[np.arange(1, len(cols) + 1), cols] += step[offsets[k]:offsets[k + 1]]
                rows.append(U)
            v = -np.log(np.maximum(acquisition(np.vstack(rows)), 1e-300))
            value, grad, at = 0.0, np.empty_like(u), 0
            for k, n in enumerate(sizes):
                base = v[at]
                value += base
                grad[offsets[k]:offsets[k + 1]] = (v[at + 1:at + 1 + n] - base) \
                    / step[offsets[k]:offsets[k + 1]]
                at += n + 1
            return float(value), grad

        u0 = np.concatenate([blocks[b][0][blocks[b][2]] for b in live])
        res = minimize(neg_log_ei, u0, jac=True, method="L-BFGS-B",
                       bounds=[(0.0, 1.0)] * len(u0), options={"maxiter": 30})
        moved = {}
        for k, b in enumerate(live):
            config, trace = starts[b]
            child = copy.deepcopy(config)
            for (path, dom, _), u in zip(blocks[b][1], res.x[offsets[k]:offsets[k + 1]]):
                set_path(child, path, from_unit(dom, u))
            moved[b] = (child, trace)
        values = acquisition(np.array([enc.encode(c, t) for c, t in moved.values()]))
        out = [(c, t, -np.inf) for c, t in starts]
        for (b, (child, trace)), value in zip(moved.items(), values):
            out[b] = (child, trace, float(value))
        return out
