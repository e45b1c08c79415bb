"""A multivariate Parzen estimator over mixed, conditional decision vectors: the density
model of multivariate TPE (Falkner, Klein & Hutter 2018 showed joint kernels beat TPE's
independent ones; Watanabe 2023, "Tree-structured Parzen estimator: understanding its
algorithm components", recommends them; Optuna 5 made them its default).

Why by hand: hyperopt, which does the maths of raymlx's independent TPE, has no joint
density, and Optuna's lives inside its samplers and trial storage. The estimator is small.

The density is a weighted mixture with one component per observation plus one prior
component. A component is a product over dimensions:
- numeric dimensions (values in [0, 1]): a normal truncated to [0, 1], centred on the
  observation. Its width is the larger gap to its sorted neighbours (the two extreme points
  use their inner gap), clipped to [1 / min(100, n + 2), 1]: TPE's bandwidth rule with the
  "magic clip" floor;
- categorical dimensions: the observed category gets weight 1 and every category
  ``prior_weight / (n + 1)``, normalised;
- a dimension the observation does not use (NaN: a leaf of an unchosen branch) contributes
  the uniform prior.
The prior component is a normal of width 1 centred on 0.5 for numbers, uniform over
categories. A candidate is scored only on the dimensions it uses itself.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp, ndtr
from scipy.stats import truncnorm

PRIOR_CENTRE, PRIOR_WIDTH = 0.5, 1.0


def recency_weights(n: int, flat: int = 25) -> np.ndarray:
    """Weights of ``n`` observations in the order they were made: 1 for the newest ``flat``,
    a linear ramp from 1/n up for the older ones (TPE's linear forgetting)."""
    if n <= flat:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, n - flat), np.ones(flat)])


def neighbour_widths(values: np.ndarray, n_kernels: int) -> np.ndarray:
    """The bandwidth of each value in [0, 1]: the larger gap to its sorted neighbours (0 and
    1 act as neighbours, the extreme values use their inner gap), clipped to
    [1 / min(100, n_kernels + 1), 1]."""
    if len(values) == 0:
        return np.empty(0)
    order = np.argsort(values, kind="stable")
    padded = np.concatenate([[0.0], values[order], [1.0]])
    widths = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
    if len(values) >= 2:
        widths[0] = padded[2] - padded[1]
        widths[-1] = padded[-2] - padded[-3]
    out = np.empty_like(widths)
    out[order] = widths
    return np.clip(out, 1.0 / min(100.0, n_kernels + 1.0), 1.0)


def _log_truncnorm(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log pdf of normals (mu, sigma) truncated to [0, 1], broadcast over x and mu."""
    z = (x - mu) / sigma
    mass = ndtr((1.0 - mu) / sigma) - ndtr((0.0 - mu) / sigma)
    return (-0.5 * z * z - math.log(math.sqrt(2 * math.pi)) - np.log(sigma)
            - np.log(np.maximum(mass, 1e-300)))


class MixedParzenEstimator:
    """The mixture density of observations ``X`` (rows; NaN = dimension not used)."""

    def __init__(self, X: np.ndarray, weights: np.ndarray, cardinalities: np.ndarray,
                 prior_weight: float = 1.0) -> None:
        self.X = np.asarray(X, dtype=float).reshape(-1, len(cardinalities))
        self.cardinalities = np.asarray(cardinalities, dtype=int)
        n = len(self.X)
        w = np.append(np.asarray(weights, dtype=float), prior_weight)
        self.log_weights = np.log(w / w.sum())
        self.prior_weight = prior_weight
        self.widths = np.full(self.X.shape, np.nan)
        for j in np.flatnonzero(self.cardinalities == 0):
            used = ~np.isnan(self.X[:, j])
            self.widths[used, j] = neighbour_widths(self.X[used, j], n + 1)

    def _category_probs(self, j: int) -> np.ndarray:
        """(n + 1, k) category probabilities of each component on dimension j."""
        n, k = len(self.X), int(self.cardinalities[j])
        probs = np.full((n + 1, k), self.prior_weight / (n + 1))
        col = self.X[:, j]
        used = np.flatnonzero(~np.isnan(col))
        probs[used, col[used].astype(int)] += 1.0
        probs[np.flatnonzero(np.isnan(col))] = 1.0  # not used by that observation: uniform
        probs[n] = 1.0  # the prior component: uniform
        return probs / probs.sum(axis=1, keepdims=True)

    def _numeric_kernels(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(centres, widths, unused) of the n + 1 components on numeric dimension j; an
        unused component gets a harmless centre and width (its density is uniform)."""
        mu = np.append(self.X[:, j], PRIOR_CENTRE)
        sigma = np.append(self.widths[:, j], PRIOR_WIDTH)
        unused = np.isnan(mu)
        return np.where(unused, 0.5, mu), np.where(unused, 1.0, sigma), unused

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` full vectors (every dimension drawn) from the mixture."""
        n, d = self.X.shape
        comp = rng.choice(n + 1, size=size, p=np.exp(self.log_weights))
        out = np.empty((size, d))
        for j in range(d):
            k = int(self.cardinalities[j])
            if k:
                probs = self._category_probs(j)[comp]
                u = rng.random(size)[:, None]
                out[:, j] = np.minimum((u > np.cumsum(probs, axis=1)).sum(axis=1), k - 1)
                continue
            mu, sigma, unused = (a[comp] for a in self._numeric_kernels(j))
            draw = truncnorm.rvs((0.0 - mu) / sigma, (1.0 - mu) / sigma, loc=mu, scale=sigma,
                                 random_state=rng)
            out[:, j] = np.where(unused, rng.random(size), draw)
        return out

    def log_pdf(self, C: np.ndarray) -> np.ndarray:
        """log density at each row of ``C``, over the dimensions that row uses (not NaN)."""
        C = np.atleast_2d(np.asarray(C, dtype=float))
        n = len(self.X)
        total = np.zeros((len(C), n + 1))
        for j in range(C.shape[1]):
            used = ~np.isnan(C[:, j])
            if not used.any():
                continue
            x = C[used, j][:, None]
            k = int(self.cardinalities[j])
            if k:
                probs = self._category_probs(j)
                part = np.log(probs[:, x[:, 0].astype(int)].T)
            else:
                mu, sigma, unused = self._numeric_kernels(j)
                part = _log_truncnorm(x, mu[None, :], sigma[None, :])
                part = np.where(unused[None, :], 0.0, part)  # uniform on [0, 1]: log 1
            total[used] += part
        return logsumexp(total + self.log_weights[None, :], axis=1)


__all__ = ["MixedParzenEstimator", "neighbour_widths", "recency_weights"]
