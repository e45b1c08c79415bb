"""Configurations of a (conditional) Tune space as fixed-length vectors in [0, 1].

Model-based searchers that need numbers (the Gaussian process) see one column per
numeric leaf of every category (scaled to [0, 1], in log space for log domains, integers
and quantized values kept on their grid by the sampler) and a one-hot block per choice.
Leaves of a category that was not chosen are inactive: their column holds 0.5, the
middle of the range, and their one-hot block is all zeros, so two configurations that
differ only in inactive leaves encode identically.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ray.tune.search.sample import Domain, Float, Integer

from raymlx.searchers.space import build_config, categories_of, get_path, infer_trace, is_choice

INACTIVE = 0.5


class SpaceEncoder:
    """Maps configurations of ``space`` to vectors; ``columns`` names each dimension."""

    def __init__(self, space: Any) -> None:
        self.space = space
        self.columns: list[str] = []
        self.leaves: list[tuple] = []  # (kind, path, condition, domain, first column)
        self._walk(space, (), ())

    def _walk(self, node: Any, path: tuple, condition: tuple) -> None:
        name = "/".join(path) or "<root>"
        if is_choice(node):
            cats = categories_of(node)
            self.leaves.append(("choice", path, condition, node, len(self.columns)))
            self.columns += [f"{name}={i}" for i in range(len(cats))]
            for i, cat in enumerate(cats):
                self._walk(cat, path, condition + ((path, i),))
        elif isinstance(node, (Float, Integer)):
            self.leaves.append(("number", path, condition, node, len(self.columns)))
            self.columns.append(name + "".join(f"[{i}]" for _, i in condition))
        elif isinstance(node, Domain):
            raise ValueError(f"cannot encode the domain at {name!r} ({type(node).__name__})")
        elif isinstance(node, dict):
            for k, v in node.items():
                self._walk(v, path + (str(k),), condition)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._walk(v, path + (str(i),), condition)

    @property
    def n_dims(self) -> int:
        return len(self.columns)

    def encode(self, config: Any, trace: dict | None = None) -> np.ndarray:
        trace = trace if trace is not None else infer_trace(self.space, config) or {}
        x = np.zeros(self.n_dims)
        for kind, path, condition, domain, col in self.leaves:
            active = all(trace.get(p) == i for p, i in condition)
            if kind == "choice":
                if active and path in trace:
                    x[col + trace[path]] = 1.0
                continue
            if not active:
                x[col] = INACTIVE
                continue
            try:
                value = get_path(config, path)
            except (KeyError, IndexError):
                x[col] = INACTIVE
                continue
            x[col] = unit_scale(domain, value)
        return x


def unit_scale(domain: Float | Integer, value: float) -> float:
    """``value`` mapped to [0, 1] within the domain's bounds (log scale for log domains)."""
    sampler = domain.get_sampler()
    inner = getattr(sampler, "sampler", sampler)
    lo, hi = float(domain.lower), float(domain.upper)
    if type(inner).__name__ == "_LogUniform":
        lo, hi, value = math.log(lo), math.log(hi), math.log(max(float(value), 1e-300))
    if hi <= lo:
        return 0.5
    return float(min(max((float(value) - lo) / (hi - lo), 0.0), 1.0))


def from_unit(domain: Float | Integer, u: float) -> float | int:
    """The inverse of :func:`unit_scale`: a value of the domain (rounded onto integer and
    quantized grids, clipped into the bounds)."""
    sampler = domain.get_sampler()
    q = getattr(sampler, "q", None)
    inner = getattr(sampler, "sampler", sampler)
    lo, hi = float(domain.lower), float(domain.upper)
    u = min(max(float(u), 0.0), 1.0)
    if type(inner).__name__ == "_LogUniform":
        value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    else:
        value = lo + u * (hi - lo)
    if q:
        value = round(value / q) * q
    if isinstance(domain, Integer):
        top = hi if q else hi - 1  # randint / lograndint exclude the upper bound
        return int(min(max(round(value), lo), top))
    return float(min(max(value, lo), hi))


class DecisionVectors:
    """Configurations as one number per *decision*, for the density-based searchers.

    A choice is its category index; a numeric leaf its [0, 1] value (:func:`unit_scale`);
    a leaf the configuration does not use is NaN. Unlike :class:`SpaceEncoder`'s one-hot
    vectors, these keep a categorical decision in one column, which is what a kernel
    density over categories needs (BOHB, multivariate TPE).
    """

    def __init__(self, space: Any) -> None:
        self.space = space
        enc = SpaceEncoder(space)
        self.variables = [(kind, path, cond, dom) for kind, path, cond, dom, _ in enc.leaves]
        self.cardinalities = np.array(
            [len(categories_of(dom)) if kind == "choice" else 0
             for kind, _, _, dom in self.variables], dtype=int)
        self._index = {(path, cond): j for j, (_, path, cond, _) in enumerate(self.variables)}

    @property
    def n_dims(self) -> int:
        return len(self.variables)

    def vector(self, config: Any, trace: dict | None = None) -> np.ndarray:
        trace = trace if trace is not None else infer_trace(self.space, config) or {}
        x = np.full(self.n_dims, np.nan)
        for j, (kind, path, cond, dom) in enumerate(self.variables):
            if not all(trace.get(p) == i for p, i in cond):
                continue
            if kind == "choice":
                x[j] = trace.get(path, np.nan)
            else:
                try:
                    x[j] = unit_scale(dom, get_path(config, path))
                except (KeyError, IndexError):
                    pass
        return x

    def decode(self, x: np.ndarray) -> tuple[Any, dict]:
        """The configuration a full vector describes (numbers rounded onto their grids)."""
        def choose(path, cond, n):
            return int(x[self._index[(path, cond)]]) % n

        def number(path, cond, domain):
            return from_unit(domain, float(x[self._index[(path, cond)]]))

        trace: dict = {}
        return build_config(self.space, choose, number, trace), trace

    def random(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` full vectors drawn uniformly: numbers in [0, 1], choices as indices
        (uniform in log space for log domains, as Tune's own samplers are)."""
        out = rng.random((size, self.n_dims))
        for j in np.flatnonzero(self.cardinalities):
            out[:, j] = rng.integers(self.cardinalities[j], size=size)
        return out
