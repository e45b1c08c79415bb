"""The GP surrogate of :mod:`raymlx.searchers.gp`: a constant mean (normalised targets), a
Matérn 5/2 kernel with one lengthscale per dimension times a signal variance, plus white
noise, with its hyperparameters fitted by maximum marginal likelihood (Rasmussen & Williams
2006, ch. 5, eq. 5.8-5.9 for the likelihood and its gradient).

It is the model of scikit-learn's ``GaussianProcessRegressor(ConstantKernel * Matern(nu=2.5)
+ WhiteKernel, normalize_y=True)`` (``tests/searchers/test_gp.py`` checks that the
likelihood and its gradient are sklearn's), written here for speed alone: sklearn's kernel
objects rebuild the pairwise distances and a gradient tensor through generic code on every
likelihood evaluation, about 3 ms at 100 observations in 10 dimensions, which made a GP
suggestion cost 165 to 270 ms. Here the squared differences are computed once per fit and
each evaluation is a few matrix products and one Cholesky factorisation.

By default the fit maximises the likelihood times a weak prior on the hyperparameters
(:func:`log_prior`, the maximum a posteriori fit); ``prior=False`` is sklearn's maximum
likelihood. :meth:`MaternGP.with_fantasies` conditions a fitted model on its own mean at
pending points (the kriging believer).
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize

SQRT5 = np.sqrt(5.0)
JITTER = 1e-10  # sklearn's default alpha on the diagonal
#: the bounds of signal variance, lengthscales and noise variance (searched in log space)
SIGNAL_BOUNDS, LENGTH_BOUNDS, NOISE_BOUNDS = (1e-3, 1e3), (1e-2, 1e2), (1e-6, 1e-1)


def _matern(r: np.ndarray, signal: float) -> np.ndarray:
    return signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-SQRT5 * r)


def log_prior(theta: np.ndarray) -> tuple[float, np.ndarray]:
    """A weak prior on the kernel's hyperparameters and its gradient in ``theta`` (log signal
    variance, log lengthscales, log noise variance; normalised targets).

    - each inverse squared lengthscale lam: log p = -(0.1 / lam + 0.1 lam), which keeps
      lengthscales away from both ends (its mode is lam = 1, a lengthscale of 1 on [0, 1]
      inputs);
    - the signal variance s: a Gamma(2, 1) density, log p = log s - s;
    - the noise variance n: a Gamma(1.1, 30) density, log p = 0.1 log n - 30 n, a mean noise
      of 0.037 of the targets' variance.

    These are the priors of Optuna's GPSampler (its ``default_log_prior``; the numbers are
    theirs, picked by hand there). Maximum likelihood alone drives the noise to its floor
    on deterministic objectives and shrinks lengthscales on rugged ones: the GP then
    interpolates and its EI exploits one basin. On BBOB's multimodal functions (f15-19)
    that is where our GP trailed Optuna's most (``benchmarks/bbob.py``). Densities are
    taken on the values themselves (no Jacobian of the log parametrisation), as there.
    """
    signal, lam, noise = np.exp(theta[0]), np.exp(-2.0 * theta[1:-1]), np.exp(theta[-1])
    value = (-(0.1 / lam + 0.1 * lam).sum() + (np.log(signal) - signal)
             + (0.1 * np.log(noise) - 30.0 * noise))
    grad = np.empty_like(theta)
    grad[0] = 1.0 - signal
    grad[1:-1] = -0.2 / lam + 0.2 * lam  # d/dtheta of -(0.1/lam + 0.1 lam), lam = e^-2theta
    grad[-1] = 0.1 - 30.0 * noise
    return float(value), grad


def cholesky_with_jitter(K: np.ndarray, what: str = "the GP's kernel matrix") -> np.ndarray:
    """The lower Cholesky factor of ``K``, adding a little to the diagonal if it must (a
    sentinel-only fit, fantasies next to observations, or the posterior covariance of
    pending trials close together can leave K indefinite). The jitter is relative to K's
    mean diagonal, so it suits a kernel matrix and a small posterior covariance alike."""
    scale = max(float(np.trace(K)) / max(len(K), 1), 1e-300)
    for extra in (0.0, 1e-10, 1e-8, 1e-6, 1e-4):
        try:
            return cholesky(K + extra * scale * np.eye(len(K)), lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError(f"{what} is not positive definite")


class MaternGP:
    """Fit with :meth:`fit`; ``theta`` (log signal variance, log lengthscales, log noise
    variance) is the fitted hyperparameters and seeds the next fit."""

    def __init__(self, dims: int, prior: bool = True) -> None:
        self.dims = dims
        self.prior = prior
        self.theta = np.concatenate([[0.0], np.full(dims, np.log(0.5)), [np.log(1e-4)]])

    def bounds(self) -> list[tuple[float, float]]:
        return ([tuple(np.log(SIGNAL_BOUNDS))] + [tuple(np.log(LENGTH_BOUNDS))] * self.dims
                + [tuple(np.log(NOISE_BOUNDS))])

    def _prepare(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        std = float(y.std())
        # sklearn's rule (_handle_zeros_in_scale): a spread below 10 eps counts as none
        self.y_mean, self.y_std = float(y.mean()), std if std >= 10 * np.finfo(float).eps \
            else 1.0
        self.y = (y - self.y_mean) / self.y_std
        diff = self.X[:, None, :] - self.X[None, :, :]
        self.D = diff * diff  # (n, n, d) squared differences, once per fit
        self.D_flat = self.D.reshape(-1, self.dims)

    def _training_distances(self, theta: np.ndarray) -> np.ndarray:
        """Scaled distances between the prepared rows, from their squared differences."""
        n = len(self.y)
        return np.sqrt(np.maximum(self.D_flat @ np.exp(-2.0 * theta[1:-1]), 0.0)).reshape(n, n)

    def log_likelihood(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The log marginal likelihood of the prepared data and its gradient in ``theta``."""
        signal, inv_l2, noise = np.exp(theta[0]), np.exp(-2.0 * theta[1:-1]), np.exp(theta[-1])
        n = len(self.y)
        r = self._training_distances(theta)
        e = np.exp(-SQRT5 * r)
        Kf = signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e
        K = Kf + (noise + JITTER) * np.eye(n)
        try:
            L = cholesky(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return -np.inf, np.zeros_like(theta)
        alpha = cho_solve((L, True), self.y, check_finite=False)
        value = (-0.5 * self.y @ alpha - np.log(np.diag(L)).sum()
                 - 0.5 * n * np.log(2.0 * np.pi))
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(n), check_finite=False)
        G = (5.0 / 3.0) * signal * (1.0 + SQRT5 * r) * e  # dK/dlog(l_j) = G * D_j / l_j^2
        grad = np.empty_like(theta)
        grad[0] = 0.5 * np.sum(W * Kf)
        grad[1:-1] = 0.5 * ((W * G).reshape(-1) @ self.D_flat) * inv_l2
        grad[-1] = 0.5 * noise * np.trace(W)
        return float(value), grad

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator,
            restarts: int = 1, maxiter: int = 200) -> MaternGP:
        """Maximises the likelihood (times :func:`log_prior`'s prior when ``prior``) from the
        current ``theta`` and from ``restarts`` random points of the bounds (in log space),
        keeping the best; then factors the kernel."""
        self._prepare(X, y)
        bounds = self.bounds()
        low, high = np.array(bounds).T
        starts = [np.clip(self.theta, low, high)]
        starts += [rng.uniform(low, high) for _ in range(restarts)]
        best: tuple[float, np.ndarray] | None = None

        def negative(t: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = self.log_likelihood(t)
            if getattr(self, "prior", False):
                pv, pg = log_prior(t)
                v, g = v + pv, g + pg
            return (-v, -g) if np.isfinite(v) else (1e25, np.zeros_like(t))

        for start in starts:
            res = minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": maxiter})
            if best is None or res.fun < best[0]:
                best = (float(res.fun), res.x)
        assert best is not None
        self.theta = best[1]
        self._factor()
        return self

    def _factor(self) -> None:
        signal, noise = self.signal(), self.noise()
        # the distances the likelihood used, so K is the matrix the optimiser factored
        K = _matern(self._training_distances(self.theta), signal) \
            + (noise + JITTER) * np.eye(len(self.X))
        self.L = cholesky_with_jitter(K)
        self.alpha = cho_solve((self.L, True), self.y, check_finite=False)

    def signal(self) -> float:
        """The kernel's signal variance (normalised target units)."""
        return float(np.exp(self.theta[0]))

    def noise(self) -> float:
        """The white-noise variance (normalised target units)."""
        return float(np.exp(self.theta[-1]))

    def kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """The latent kernel k(A, B) at the fitted hyperparameters (normalised units)."""
        return _matern(self._distance(np.asarray(A, dtype=np.float64),
                                      np.asarray(B, dtype=np.float64)), self.signal())

    def with_fantasies(self, Xp: np.ndarray) -> MaternGP:
        """A copy of this fitted GP that also believes it observed its own predictive mean
        at the rows ``Xp`` (the kriging believer of Ginsbourger, Le Riche & Carraro 2010).

        The hyperparameters stay those fitted on real observations, so made-up values never
        bend the lengthscales; the mean is unchanged and the predictive variance shrinks to
        the noise level at each pending point, so expected improvement there drops and
        parallel suggestions go elsewhere."""
        Xp = np.asarray(Xp, dtype=np.float64).reshape(-1, self.dims)
        out = copy.copy(self)
        if len(Xp) == 0:
            return out
        signal = self.signal()
        believed = _matern(self._distance(Xp, self.X), signal) @ self.alpha
        out.X = np.vstack([self.X, Xp])
        out.y = np.concatenate([self.y, believed])
        K = _matern(out._distance(out.X, out.X), signal) \
            + (self.noise() + JITTER) * np.eye(len(out.X))
        out.L = cholesky_with_jitter(K)
        out.alpha = cho_solve((out.L, True), out.y, check_finite=False)
        return out

    def _distance(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Scaled distances between new rows ``A`` and the training rows ``B``."""
        scale = np.exp(self.theta[1:-1])
        a, b = A / scale, B / scale
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return np.sqrt(np.maximum(sq, 0.0))

    def predict(self, Xs: np.ndarray,
                include_noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation in the targets' units: of the latent
        function plus noise (as sklearn's ``return_std``), or of the function alone
        (``include_noise=False``, what expected improvement is taken on)."""
        signal, noise = self.signal(), self.noise()
        Ks = _matern(self._distance(np.asarray(Xs, dtype=np.float64), self.X), signal)
        mu = Ks @ self.alpha
        v = solve_triangular(self.L, Ks.T, lower=True, check_finite=False)
        var = np.maximum(signal + (noise if include_noise else 0.0) - (v * v).sum(0), 0.0)
        return mu * self.y_std + self.y_mean, np.sqrt(var) * self.y_std


__all__ = ["MaternGP"]
