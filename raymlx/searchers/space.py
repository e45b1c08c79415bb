"""Reading Tune search spaces: the Domain leaves of a (nested, conditional) ``param_space``.

Tune hands a custom searcher the raw ``param_space`` with ``ray.tune.search.sample`` Domain
objects in it and does not sample a Domain left inside a suggested config, so a searcher
must resolve every leaf itself, including those inside the dict chosen by a
``tune.choice([{...}, {...}])``. These helpers do that recursively; non-Domain leaves
(constants, Tune's placeholders for ``sample_from`` and object refs) are left as they are.

A *trace* records, for a sampled config, which category every ``choice`` took
(``{config path: category index}``); with it the active leaves of a conditional space are
known without guessing from values, which is what mutation (evolution) and grids need.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from ray.tune.search.sample import Categorical, Domain, Float, Integer

Path = tuple[str, ...]


def _is_grid(node: Any) -> bool:
    return isinstance(node, dict) and set(node) == {"grid_search"}


def is_choice(node: Any) -> bool:
    """A ``tune.choice`` or a ``tune.grid_search``: a node that picks one of a list."""
    return isinstance(node, Categorical) or _is_grid(node)


def categories_of(node: Any) -> list:
    """The list a choice node picks from."""
    return node.categories if isinstance(node, Categorical) else node["grid_search"]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


_LOCAL = threading.local()


def _reseeded(seed: int) -> np.random.RandomState:
    """This thread's RandomState, reseeded: the values of ``RandomState(seed)``."""
    state = getattr(_LOCAL, "state", None)
    if state is None:
        state = _LOCAL.state = np.random.RandomState(seed)
    else:
        state.seed(seed)
    return state


def sample_config(space: Any, rng: np.random.Generator, trace: dict | None = None,
                  path: Path = ()) -> Any:
    """A copy of ``space`` with every Domain replaced by a sample, recursing into choices.

    ``tune.grid_search`` values are sampled uniformly too (grids are :class:`GridSearch`'s).
    When ``trace`` is given it receives ``{path: category index}`` for every choice taken.
    """
    if is_choice(space):
        cats = categories_of(space)
        index = int(rng.integers(len(cats)))
        if trace is not None:
            trace[path] = index
        return sample_config(copy.deepcopy(cats[index]), rng, trace, path)
    if isinstance(space, Domain):
        # one integer of ``rng`` seeds each value, as always (searchers keep their seeded
        # sequences); reseeding one RandomState per thread costs a fifteenth of making a new
        # one, which was most of a GP suggestion's candidate time
        return _plain(space.sample(random_state=_reseeded(int(rng.integers(2**31 - 1)))))
    if isinstance(space, dict):
        return {k: sample_config(v, rng, trace, path + (str(k),)) for k, v in space.items()}
    if isinstance(space, list):
        return [sample_config(v, rng, trace, path + (str(i),)) for i, v in enumerate(space)]
    return copy.deepcopy(space)


def has_domains(space: Any) -> bool:
    """True when ``space`` still holds a Domain anywhere (searchers must never return one)."""
    if isinstance(space, Domain) or _is_grid(space):
        return True
    if isinstance(space, dict):
        return any(has_domains(v) for v in space.values())
    if isinstance(space, list):
        return any(has_domains(v) for v in space)
    return False


def active_leaves(space: Any, trace: dict, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """``(config path, domain)`` for every Domain that decides a value of a config whose
    choices are ``trace`` (the leaves inside unchosen categories are not active)."""
    if is_choice(space):
        yield path, space
        yield from active_leaves(categories_of(space)[trace[path]], trace, path)
    elif isinstance(space, Domain):
        yield path, space
    elif isinstance(space, dict):
        for k, v in space.items():
            yield from active_leaves(v, trace, path + (str(k),))
    elif isinstance(space, list):
        for i, v in enumerate(space):
            yield from active_leaves(v, trace, path + (str(i),))


def get_path(config: Any, path: Path) -> Any:
    for key in path:
        config = config[int(key)] if isinstance(config, list) else config[key]
    return config


def set_path(config: Any, path: Path, value: Any) -> Any:
    """``config`` with the value at ``path`` replaced (in place; the root is returned)."""
    if not path:
        return value
    parent = get_path(config, path[:-1])
    key = int(path[-1]) if isinstance(parent, list) else path[-1]
    parent[key] = value
    return config


def mutate(space: Any, config: Any, trace: dict, rng: np.random.Generator,
           tries: int = 20) -> tuple[Any, dict]:
    """A copy of ``config`` with exactly one active decision changed, and its trace.

    A numeric leaf is resampled from its prior until it differs; a choice takes another
    category (whose own leaves are then sampled afresh). A space whose only active decisions
    cannot change (single-category choices, one-value ranges) returns an unchanged copy.
    """
    leaves = [(p, d) for p, d in active_leaves(space, trace) if _can_change(d)]
    child, child_trace = copy.deepcopy(config), dict(trace)
    if not leaves:
        return child, child_trace
    path, domain = leaves[int(rng.integers(len(leaves)))]
    if is_choice(domain):
        cats = categories_of(domain)
        others = [i for i in range(len(cats)) if i != trace[path]]
        index = others[int(rng.integers(len(others)))]
        for p in [p for p in child_trace if p[: len(path)] == path]:
            del child_trace[p]
        child_trace[path] = index
        value = sample_config(copy.deepcopy(cats[index]), rng, child_trace, path)
        return set_path(child, path, value), child_trace
    try:
        old = get_path(config, path)
    except (KeyError, IndexError):  # a point to evaluate may leave a key at its default
        old = None
    value = old
    for _ in range(tries):
        value = sample_config(domain, rng)
        if value != old:
            break
    return set_path(child, path, value), child_trace


def _can_change(domain: Any) -> bool:
    if isinstance(domain, Categorical):
        return len(domain.categories) > 1
    if _is_grid(domain):
        return len(domain["grid_search"]) > 1
    if isinstance(domain, (Float, Integer)):
        return domain.upper is None or domain.lower is None or domain.upper != domain.lower
    return True


def grid_values(domain: Float | Integer, resolution: int) -> list:
    """The grid of one numeric domain: every integer when there are at most ``resolution``,
    else ``resolution`` points evenly spaced (in log space for log domains), deduplicated."""
    sampler = domain.get_sampler()
    q = getattr(sampler, "q", None)
    inner = getattr(sampler, "sampler", sampler)
    is_log = type(inner).__name__ == "_LogUniform"
    lo, hi = float(domain.lower), float(domain.upper)
    if isinstance(domain, Integer):
        hi_incl = hi if q else hi - 1  # randint excludes its upper bound, qrandint includes it
        step = q or 1
        every = list(range(int(lo), int(hi_incl) + 1, int(step)))
        if len(every) <= resolution:
            return every
    else:
        hi_incl = hi
    if is_log:
        points = np.exp(np.linspace(math.log(lo), math.log(hi_incl), resolution))
    else:
        points = np.linspace(lo, hi_incl, resolution)
    if q:
        points = np.clip(np.round(points / q) * q, lo, hi_incl)
    if isinstance(domain, Integer):
        points = np.round(points).astype(int)
    else:
        points = np.array([float(f"{v:.12g}") for v in points])  # exp/log round-off
    out = []
    for v in points.tolist():
        if v not in out:
            out.append(v)
    return out


def grid_points(space: Any, resolution: int, path: Path = ()) -> list[tuple[Any, dict]]:
    """Every point of the grid over ``space`` as ``(config, trace)``, in a fixed order:
    the cartesian product over a dict's keys, the union over a choice's categories."""
    if is_choice(space):
        cats = categories_of(space)
        out = []
        for i, cat in enumerate(cats):
            for config, trace in grid_points(cat, resolution, path):
                out.append((config, {**trace, path: i}))
        return out
    if isinstance(space, (Float, Integer)):
        return [(v, {}) for v in grid_values(space, resolution)]
    if isinstance(space, Domain):
        raise ValueError(f"cannot make a grid of a {type(space).__name__} domain")
    if isinstance(space, (dict, list)):
        keys = list(space) if isinstance(space, dict) else list(range(len(space)))
        parts = [grid_points(space[k], resolution, path + (str(k),)) for k in keys]
        out = []
        for combo in itertools.product(*parts):
            values = [c for c, _ in combo]
            trace = {}
            for _, t in combo:
                trace.update(t)
            config = dict(zip(keys, values)) if isinstance(space, dict) else values
            out.append((config, trace))
        return out
    return [(copy.deepcopy(space), {})]


def infer_trace(space: Any, config: Any, path: Path = ()) -> dict | None:
    """The trace of a config that was not sampled here (a point to evaluate), found by
    matching each choice's categories against the config's constant values; None when
    no category matches. Sub-space keys the config leaves out are allowed."""
    trace: dict = {}

    def walk(node: Any, value: Any, p: Path) -> bool:
        if is_choice(node):
            cats = categories_of(node)
            for i, cat in enumerate(cats):
                saved = dict(trace)
                if walk(cat, value, p):
                    trace[p] = i
                    return True
                trace.clear()
                trace.update(saved)
            return False
        if isinstance(node, Domain):
            return True
        if isinstance(node, dict):
            return isinstance(value, dict) and set(value) <= set(node) and all(
                walk(node[k], value[k], p + (str(k),)) for k in value)
        if isinstance(node, list):
            return isinstance(value, list) and len(value) == len(node) and all(
                walk(n, v, p + (str(i),)) for i, (n, v) in enumerate(zip(node, value)))
        return node == value

    return trace if walk(space, config, path) else None


def build_config(space: Any, choose, number, trace: dict, path: Path = (),
                 condition: tuple = ()) -> Any:
    """A config of ``space`` whose decisions come from callbacks: ``choose(path, condition,
    n) -> category index`` and ``number(path, condition, domain) -> value``. ``condition``
    is the tuple of ``(choice path, index)`` enclosing a leaf, as in
    :class:`raymlx.searchers.encoding.SpaceEncoder`; ``trace`` receives the choices."""
    if is_choice(space):
        cats = categories_of(space)
        i = int(choose(path, condition, len(cats)))
        trace[path] = i
        return build_config(copy.deepcopy(cats[i]), choose, number, trace, path,
                            condition + ((path, i),))
    if isinstance(space, (Float, Integer)):
        return _plain(number(path, condition, space))
    if isinstance(space, dict):
        return {k: build_config(v, choose, number, trace, path + (str(k),), condition)
                for k, v in space.items()}
    if isinstance(space, list):
        return [build_config(v, choose, number, trace, path + (str(i),), condition)
                for i, v in enumerate(space)]
    return copy.deepcopy(space)
