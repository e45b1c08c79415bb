"""Model families raymlx searches over, by name.

``FAMILIES`` is ordered by how often each family tends to win on tables; the portfolio
interleaves their known-good configurations in that order (:func:`portfolio_configs`).
"""

from __future__ import annotations

from typing import Any

from raymlx.errors import InputError
from raymlx.models.base import Family, FoldEstimator, Problem
from raymlx.models.lightgbm import FAMILY as LIGHTGBM
from raymlx.models.mlp import FAMILY as MLP
from raymlx.models.sklearn import EXTRA_TREES, KNN, LINEAR, RANDOM_FOREST
from raymlx.models.xgboost import FAMILY as XGBOOST

FAMILIES: dict[str, Family] = {
    f.name: f for f in (LIGHTGBM, XGBOOST, EXTRA_TREES, RANDOM_FOREST, MLP, LINEAR, KNN)
}

__all__ = ["FAMILIES", "Family", "FoldEstimator", "Problem", "get_families",
           "portfolio_configs", "search_space"]


def get_families(names: list[str] | None = None) -> list[Family]:
    """The families called ``names`` (all of them by default), in registry order."""
    if names is None:
        return list(FAMILIES.values())
    unknown = [n for n in names if n not in FAMILIES]
    if unknown or not names:
        raise InputError(
            f"unknown model families {unknown or names}; choose from: {', '.join(FAMILIES)}"
        )
    return [FAMILIES[n] for n in FAMILIES if n in names]


def portfolio_configs(
    families: list[Family], custom: dict[str, list[dict[str, Any]]] | None = None
) -> list[dict[str, Any]]:
    """Every family's configurations to try first, round-robin (all first configs, then all
    second ones...): the built-in portfolios, or ``custom[family]`` where given."""
    lists = {f.name: list(custom[f.name]) if custom and f.name in custom else list(f.portfolio)
             for f in families}
    out, depth = [], max(len(v) for v in lists.values())
    for i in range(depth):
        for f in families:
            if i < len(lists[f.name]):
                out.append({"model": {"family": f.name, "params": dict(lists[f.name][i])}})
    return out


def search_space(families: list[Family]) -> dict[str, Any]:
    """The conditional Tune space: a choice of family, each with its own hyperparameters."""
    from ray import tune

    return {"model": tune.choice(
        [{"family": f.name, "params": dict(f.search_space)} for f in families]
    )}
