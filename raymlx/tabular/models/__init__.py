"""Model families raymlx searches over, and the registry users add their own to.

A family is a :class:`~raymlx.tabular.models.base.ModelFamily`. ``AutoML(families=[...])``
takes names of registered families and family instances, mixed; a fit sends the families
it was given to its trials, so an unregistered instance works as well as a registered one.
:func:`register_family` makes a family's name usable everywhere a name is accepted
(``families=["mine"]``, ``hyperparameters={"mine": [...]}``, ``raymlx fit --families``).

:data:`FAMILIES` is the registry, ordered by how often each family tends to win on tables,
with the slow MLP last. :data:`PORTFOLIO_ORDER` orders the built-in known-good
configurations by value for time on small machines: the boosted trees first (they win most
tables; CatBoost, slower, after the quick LightGBM and XGBoost defaults), then the cheap
linear and k-NN models, then the slower forests and the MLP, which mostly add diversity to
the ensemble. A registered family's configurations come after the built-in ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from raymlx.errors import InputError
from raymlx.tabular.models.base import FoldEstimator, ModelFamily, per_class_rate
from raymlx.tabular.models.catboost import FAMILY as CATBOOST
from raymlx.tabular.models.lightgbm import FAMILY as LIGHTGBM
from raymlx.tabular.models.mlp import FAMILY as MLP
from raymlx.tabular.models.sklearn import EXTRA_TREES, KNN, LINEAR, RANDOM_FOREST
from raymlx.tabular.models.xgboost import FAMILY as XGBOOST

FAMILIES: dict[str, ModelFamily] = {
    f.name: f for f in (LIGHTGBM, XGBOOST, CATBOOST, RANDOM_FOREST, EXTRA_TREES, LINEAR, KNN,
                        MLP)
}

__all__ = ["FAMILIES", "FoldEstimator", "ModelFamily", "portfolio_configs",
           "register_family", "resolve_families", "search_space"]


def register_family(family: ModelFamily, replace: bool = False) -> ModelFamily:
    """Adds ``family`` to the registry under ``family.name``; returns it. A name already
    taken is refused unless ``replace=True``."""
    if not isinstance(family, ModelFamily):
        raise InputError(f"register_family needs a ModelFamily instance, not "
                         f"{type(family).__name__}; subclass raymlx.tabular.ModelFamily")
    if family.name in FAMILIES and not replace:
        raise InputError(f"a model family named {family.name!r} is already registered; "
                         "pass replace=True to replace it")
    FAMILIES[family.name] = family
    return family


def resolve_families(given: Iterable[str | ModelFamily] | None = None) -> list[ModelFamily]:
    """The families a fit was given (names of registered families and instances, mixed),
    in registry order, families that are not registered last in the order given; every
    registered family when ``given`` is None."""
    if given is None:
        return list(FAMILIES.values())
    if isinstance(given, (str, ModelFamily)) or not isinstance(given, Iterable):
        raise InputError(f"families={given!r} is invalid; give a list of family names or "
                         "ModelFamily instances, e.g. ['lightgbm', 'xgboost']")
    out: list[ModelFamily] = []
    for item in given:
        if isinstance(item, ModelFamily):
            family = item
        elif isinstance(item, str) and item in FAMILIES:
            family = FAMILIES[item]
        elif isinstance(item, str):
            raise InputError(f"unknown model family {item!r}; choose from: "
                             f"{', '.join(FAMILIES)}, or pass a ModelFamily instance")
        else:
            raise InputError(f"families holds {item!r}; give family names or ModelFamily "
                             "instances")
        if any(f.name == family.name for f in out):
            raise InputError(f"families names {family.name!r} twice")
        out.append(family)
    if not out:
        raise InputError("families is empty; give at least one model family")
    # registry order (what portfolios and round-robins follow), unregistered ones after
    order = {name: i for i, name in enumerate(FAMILIES)}
    return sorted(out, key=lambda f: order.get(f.name, len(order)))


PORTFOLIO_ORDER: tuple[tuple[str, int], ...] = (
    ("lightgbm", 0), ("xgboost", 0), ("lightgbm", 1), ("catboost", 0), ("linear", 0),
    ("knn", 0), ("xgboost", 1), ("random_forest", 0), ("extra_trees", 0), ("mlp", 0),
    ("lightgbm", 2), ("random_forest", 1), ("extra_trees", 1), ("mlp", 1),
)


def portfolio_configs(
    families: list[ModelFamily], custom: dict[str, list[dict[str, Any]]] | None = None,
    n_classes: int = 0,
) -> list[dict[str, Any]]:
    """The configurations to try first: the built-in portfolio in :data:`PORTFOLIO_ORDER`
    (a family that is not a built-in one, or a built-in name given by a user's instance,
    contributes its own portfolio after it), or, with ``custom``, every family's list
    round-robin (all first configs, then all second ones...), their own portfolios for
    the families ``custom`` leaves out. For ``n_classes > 2`` the built-in portfolio's
    learning rates of one-tree-per-class boosters are scaled by
    :func:`~raymlx.tabular.models.base.per_class_rate` (``custom`` is used as given)."""
    by_name = {f.name: f for f in families}
    if not custom:
        listed = [(n, i) for n, i in PORTFOLIO_ORDER
                  if n in by_name and by_name[n] is FAMILIES.get(n)
                  and i < len(by_name[n].portfolio)]
        extra = [(f.name, i) for f in families for i in range(len(f.portfolio))
                 if (f.name, i) not in listed]
        return [{"model": {"family": n, "params": _sized(by_name[n], by_name[n].portfolio[i],
                                                         n_classes)}}
                for n, i in listed + extra]
    lists = {f.name: list(custom[f.name]) if f.name in custom else
             [_sized(f, c, n_classes) for c in f.portfolio] for f in families}
    out, depth = [], max(len(v) for v in lists.values())
    for i in range(depth):
        for f in families:
            if i < len(lists[f.name]):
                out.append({"model": {"family": f.name, "params": dict(lists[f.name][i])}})
    return out


def _sized(family: ModelFamily, config: dict[str, Any], n_classes: int) -> dict[str, Any]:
    key, out = family.per_class_rate_param, dict(config)
    if key is not None and key in out and n_classes > 2:
        out[key] = round(float(out[key]) * per_class_rate(n_classes), 6)
    return out


def search_space(families: list[ModelFamily]) -> dict[str, Any]:
    """The conditional Tune space: a choice of family, each with its own hyperparameters."""
    from ray import tune

    return {"model": tune.choice(
        [{"family": f.name, "params": dict(f.search_space())} for f in families]
    )}
