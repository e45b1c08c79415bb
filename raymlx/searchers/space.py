"""Reading Tune search spaces: the Domain leaves of a (nested, conditional) ``param_space``.

Tune hands a custom searcher the raw ``param_space`` with ``ray.tune.search.sample`` Domain
objects in it and does not sample a Domain left inside a suggested config, so a searcher
must resolve every leaf itself, including those inside the dict chosen by a
``tune.choice([{...}, {...}])``. These helpers do that recursively; non-Domain leaves
(constants, Tune's placeholders for ``sample_from`` and object refs) are left as they are.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from ray.tune.search.sample import Categorical, Domain


def sample_config(space: Any, rng: np.random.Generator) -> Any:
    """A copy of ``space`` with every Domain replaced by a sample, recursing into choices."""
    if isinstance(space, Categorical):
        pick = space.categories[int(rng.integers(len(space.categories)))]
        return sample_config(copy.deepcopy(pick), rng)
    if isinstance(space, Domain):
        seed = int(rng.integers(2**31 - 1))
        value = space.sample(random_state=np.random.RandomState(seed))
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(space, dict):
        return {k: sample_config(v, rng) for k, v in space.items()}
    if isinstance(space, list):
        return [sample_config(v, rng) for v in space]
    return copy.deepcopy(space)


def has_domains(space: Any) -> bool:
    """True when ``space`` still holds a Domain anywhere (searchers must never return one)."""
    if isinstance(space, Domain):
        return True
    if isinstance(space, dict):
        return any(has_domains(v) for v in space.values())
    if isinstance(space, list):
        return any(has_domains(v) for v in space)
    return False
