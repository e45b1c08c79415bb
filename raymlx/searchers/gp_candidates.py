"""The GP searcher's acquisition candidates, drawn and encoded as arrays.

The candidates are valid configurations: half drawn from the prior, half one-decision
mutations of the best observed ones (a numeric leaf resampled from its prior, or a choice
switched to another category whose own leaves are drawn afresh; the rule of
:func:`raymlx.searchers.space.mutate`). Building each as a nested config and encoding it
again cost about 60 % of a suggestion at 100 observations (500 candidates through Python
dictionaries). Here they are rows of decision vectors (:class:`DecisionVectors`: one number
per decision, category indices for choices), mutated with array operations and mapped to
the GP's one-hot encoding (:class:`SpaceEncoder`) in one pass per column; only the few
candidates that are refined or chosen are decoded into configurations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.tune.search.sample import Float, Integer

from raymlx.searchers.encoding import INACTIVE, DecisionVectors, SpaceEncoder


def snap_units(domain: Float | Integer, u: np.ndarray) -> np.ndarray:
    """``unit_scale(domain, from_unit(domain, u))`` for an array of unit values: the encoding
    of the value each one decodes to (integer and quantized grids, one-value ranges)."""
    sampler = domain.get_sampler()
    q = getattr(sampler, "q", None)
    log = type(getattr(sampler, "sampler", sampler)).__name__ == "_LogUniform"
    lo, hi = float(domain.lower), float(domain.upper)
    if hi <= lo:
        return np.full(len(u), 0.5)
    u = np.clip(u, 0.0, 1.0)
    value = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))) if log else lo + u * (hi - lo)
    if q:
        value = np.round(value / q) * q  # half to even, as Python's round
    if isinstance(domain, Integer):
        value = np.clip(np.round(value), lo, hi if q else hi - 1)
    else:
        value = np.clip(value, lo, hi)
    if log:
        lo, hi, value = np.log(lo), np.log(hi), np.log(np.maximum(value, 1e-300))
    return np.clip((value - lo) / (hi - lo), 0.0, 1.0)


class CandidateEncoder:
    """Decision vectors of ``space`` to GP encodings, as :meth:`SpaceEncoder.encode` would
    encode the decoded configurations (numbers snapped onto integer and quantized grids)."""

    def __init__(self, space: Any, encoder: SpaceEncoder, codec: DecisionVectors) -> None:
        self.codec, self.n_dims = codec, encoder.n_dims
        index = {(path, cond): j for j, (_, path, cond, _) in enumerate(codec.variables)}
        self.columns = []  # (kind, decision column, first encoded column, domain, conditions)
        for kind, path, cond, dom, col in encoder.leaves:
            conds = [(index[(p, cond[:k])], i) for k, (p, i) in enumerate(cond)]
            self.columns.append((kind, index[(path, cond)], col, dom, conds))
        self.changeable = np.array([
            codec.cardinalities[j] > 1 if kind == "choice"
            else dom.lower is None or dom.upper is None or dom.lower != dom.upper
            for j, (kind, _, _, dom) in enumerate(codec.variables)], dtype=bool)
        self._snapped = [self._needs_snap(dom) if kind == "number" else False
                         for kind, _, _, dom, _ in self.columns]

    @staticmethod
    def _needs_snap(domain) -> bool:
        return (isinstance(domain, Integer) or bool(getattr(domain.get_sampler(), "q", None))
                or domain.lower == domain.upper)  # a one-value range encodes as 0.5

    def encode(self, V: np.ndarray) -> np.ndarray:
        """GP encodings of full decision vectors ``V`` (every decision set, as drawn)."""
        E = np.zeros((len(V), self.n_dims))
        for (kind, j, col, dom, conds), snap in zip(self.columns, self._snapped):
            active = np.ones(len(V), dtype=bool)
            for jc, i in conds:
                active &= V[:, jc].astype(int) % self.codec.cardinalities[jc] == i
            if kind == "choice":
                k = V[:, j].astype(int) % self.codec.cardinalities[j]
                rows = np.flatnonzero(active)
                E[rows, col + k[rows]] = 1.0
                continue
            u = np.clip(V[:, j], 0.0, 1.0)
            if snap:
                u = snap_units(dom, u)
            E[:, col] = np.where(active, u, INACTIVE)
        return E

    def draw(self, rng: np.random.Generator, parents: np.ndarray, size: int) -> np.ndarray:
        """``size`` full decision vectors: the first half from the prior, the rest one-decision
        mutations of ``parents`` (decision vectors, NaN where a decision is unused) in turn."""
        n_random = size // 2 if len(parents) else size
        out = self.codec.random(rng, size)  # also fills the unused decisions of mutants
        if len(parents) == 0:
            return out
        card = self.codec.cardinalities
        for r in range(n_random, size):
            parent = parents[(r - n_random) % len(parents)]
            used = ~np.isnan(parent)
            row = out[r].copy()
            row[used] = parent[used]
            options = np.flatnonzero(used & self.changeable)
            if len(options):
                j = int(options[rng.integers(len(options))])
                if card[j]:  # another category; its leaves keep the fresh draws
                    row[j] = (int(parent[j]) + 1 + rng.integers(card[j] - 1)) % card[j]
                else:
                    row[j] = out[r, j]  # the prior's draw for this leaf
                    if row[j] == parent[j]:
                        row[j] = rng.random()
            out[r] = row
        return out


__all__ = ["CandidateEncoder"]
