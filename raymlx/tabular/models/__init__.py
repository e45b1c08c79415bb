"""Model families raymlx searches over, by name.

``FAMILIES`` is ordered by how often each family tends to win on tables, with the slow MLP
last. :data:`PORTFOLIO_ORDER` orders the built-in known-good configurations by value for
time on small machines: the boosted trees first (they win most tables; CatBoost, slower,
after the quick LightGBM and XGBoost defaults), then the cheap linear and k-NN models, then
the slower forests and the MLP, which mostly add diversity to the ensemble.
"""

from __future__ import annotations

from typing import Any

from raymlx.errors import InputError
from raymlx.tabular.models.base import Family, FoldEstimator, Problem
from raymlx.tabular.models.catboost import FAMILY as CATBOOST
from raymlx.tabular.models.lightgbm import FAMILY as LIGHTGBM
from raymlx.tabular.models.mlp import FAMILY as MLP
from raymlx.tabular.models.sklearn import EXTRA_TREES, KNN, LINEAR, RANDOM_FOREST
from raymlx.tabular.models.xgboost import FAMILY as XGBOOST

FAMILIES: dict[str, Family] = {
    f.name: f for f in (LIGHTGBM, XGBOOST, CATBOOST, RANDOM_FOREST, EXTRA_TREES, LINEAR, KNN,
                        MLP)
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


PORTFOLIO_ORDER: tuple[tuple[str, int], ...] = (
    ("lightgbm", 0), ("xgboost", 0), ("lightgbm", 1), ("catboost", 0), ("linear", 0),
    ("knn", 0), ("xgboost", 1), ("random_forest", 0), ("extra_trees", 0), ("mlp", 0),
    ("lightgbm", 2), ("random_forest", 1), ("extra_trees", 1), ("mlp", 1),
)


def portfolio_configs(
    families: list[Family], custom: dict[str, list[dict[str, Any]]] | None = None
) -> list[dict[str, Any]]:
    """The configurations to try first: the built-in portfolio in :data:`PORTFOLIO_ORDER`,
    or, with ``custom``, every family's list round-robin (all first configs, then all
    second ones...), built-in portfolios for the families ``custom`` leaves out."""
    if not custom:
        names = {f.name for f in families}
        listed = [(n, i) for n, i in PORTFOLIO_ORDER if n in names]
        extra = [(f.name, i) for f in families for i in range(len(f.portfolio))
                 if (f.name, i) not in PORTFOLIO_ORDER]
        return [{"model": {"family": n, "params": dict(FAMILIES[n].portfolio[i])}}
                for n, i in listed + extra]
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
