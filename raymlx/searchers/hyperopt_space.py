"""Tune search spaces as hyperopt spaces, with labels that stay unique in conditional spaces.

Ray's ``HyperOptSearch.convert_search_space`` labels a leaf by its key path only, so two
categories of one ``tune.choice`` that share a key (random forest and extra trees both have
``n_estimators``) collide and hyperopt raises ``DuplicateLabel``. Here a category's leaves
are labelled under ``path[index]``. ``config_to_vals`` goes the other way, so configurations
evaluated elsewhere (points to evaluate) can be told to hyperopt's TPE.
"""

from __future__ import annotations

import math
from typing import Any

from hyperopt import hp
from hyperopt.pyll import scope
from ray.tune.search.sample import Domain, Float, Integer

from raymlx.searchers.space import active_leaves, categories_of, get_path, infer_trace, is_choice


def _label(path: tuple, trace_prefix: str) -> str:
    return trace_prefix + "/".join(path)


def to_hyperopt(space: Any, path: tuple = (), prefix: str = "") -> Any:
    """The hyperopt expression for a Tune space (constants stay constants)."""
    label = _label(path, prefix)
    if is_choice(space):
        cats = categories_of(space)
        return hp.choice(label, [to_hyperopt(c, path, f"{label}[{i}]/" if path else f"[{i}]/")
                                 for i, c in enumerate(cats)])
    if isinstance(space, (Float, Integer)):
        only = single_value(space)  # hyperopt refuses ranges of one value: a constant
        return _numeric(space, label) if only is None else only
    if isinstance(space, Domain):
        raise ValueError(f"TPESearch cannot model the domain at {label!r} "
                         f"({type(space).__name__}); use uniform, loguniform, randint or choice")
    if isinstance(space, dict):
        return {k: to_hyperopt(v, path + (str(k),), prefix) for k, v in space.items()}
    if isinstance(space, list):
        return [to_hyperopt(v, path + (str(i),), prefix) for i, v in enumerate(space)]
    return space


def single_value(domain: Float | Integer) -> float | int | None:
    """The one value a numeric domain allows (``uniform(2, 2)``, ``randint(3, 4)``), or
    None when it allows more."""
    lo, hi = domain.lower, domain.upper
    if lo is None or hi is None:
        return None
    if isinstance(domain, Integer):
        q = getattr(domain.get_sampler(), "q", None)
        top = hi if q else hi - 1  # randint/lograndint exclude the upper bound
        return int(lo) if top <= lo else None
    return float(lo) if hi <= lo else None


def _numeric(domain: Float | Integer, label: str):
    sampler = domain.get_sampler()
    q = getattr(sampler, "q", None)
    inner = getattr(sampler, "sampler", sampler)
    kind = type(inner).__name__
    lo, hi = float(domain.lower), float(domain.upper)
    if isinstance(domain, Integer):
        hi = hi if q else hi - 1  # randint/lograndint exclude the upper bound; qrandint not
        if kind == "_LogUniform":
            return scope.int(hp.qloguniform(label, math.log(lo), math.log(hi), q or 1))
        return scope.int(hp.quniform(label, lo - 0.4999 if not q else lo, hi + 0.4999
                                     if not q else hi, q or 1))
    if kind == "_LogUniform":
        expr = hp.qloguniform(label, math.log(lo), math.log(hi), q) if q else \
            hp.loguniform(label, math.log(lo), math.log(hi))
    elif kind == "_Normal":
        expr = hp.normal(label, inner.mean, inner.sd)
    else:
        expr = hp.quniform(label, lo, hi, q) if q else hp.uniform(label, lo, hi)
    return expr


def clip_to_space(space: Any, config: Any) -> Any:
    """``config`` with numeric values clipped into their domains' bounds (exp/log round-off
    and q-rounding can step just outside them); done in place, returned for convenience."""
    trace = infer_trace(space, config) or {}
    for path, domain in active_leaves(space, trace):
        if not isinstance(domain, (Float, Integer)) or domain.lower is None:
            continue
        parent = get_path(config, path[:-1]) if path else None
        if parent is None:
            continue
        value = parent[path[-1]]
        upper = domain.upper
        if isinstance(domain, Integer):
            q = getattr(domain.get_sampler(), "q", None)
            upper = upper if q else upper - 1
            parent[path[-1]] = int(min(max(round(value), domain.lower), upper))
        else:
            parent[path[-1]] = float(min(max(value, domain.lower), upper))
    return config


def config_to_vals(space: Any, config: Any, labels: list[str]) -> dict[str, list] | None:
    """hyperopt's ``vals`` (label -> [value] or [] when inactive) for a configuration of
    ``space``; None when the configuration does not fit the space."""
    trace = infer_trace(space, config)
    if trace is None:
        return None
    vals: dict[str, list] = {label: [] for label in labels}

    def walk(node: Any, path: tuple, prefix: str) -> bool:
        label = _label(path, prefix)
        if is_choice(node):
            index = trace[path]
            vals[label] = [index]
            return walk(categories_of(node)[index], path, f"{label}[{index}]/" if path
                        else f"[{index}]/")
        if isinstance(node, (Float, Integer)) and single_value(node) is not None:
            return True  # a constant to hyperopt (see to_hyperopt)
        if isinstance(node, Domain):
            try:
                vals[label] = [get_path(config, path)]
            except (KeyError, IndexError):
                return False  # a key left to its default: hyperopt needs every active value
            return True
        if isinstance(node, dict):
            return all(walk(v, path + (str(k),), prefix) for k, v in node.items())
        if isinstance(node, list):
            return all(walk(v, path + (str(i),), prefix) for i, v in enumerate(node))
        return True

    return vals if walk(space, (), "") else None
