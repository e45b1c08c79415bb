"""Every built-in model family through the shipped contract, ``raymlx.testing.FamilyTestCase``,
and the registry: portfolios, user families by instance and by name."""

import pytest

from raymlx.errors import InputError
from raymlx.searchers.space import has_domains, sample_config
from raymlx.tabular.models import (
    FAMILIES,
    portfolio_configs,
    register_family,
    resolve_families,
)
from raymlx.tabular.models.lightgbm import LightGBM
from raymlx.tabular.models.sklearn import Linear
from raymlx.testing import FamilyTestCase


class TestLightGBM(FamilyTestCase):
    family = FAMILIES["lightgbm"]
    iterative = True


class TestXGBoost(FamilyTestCase):
    family = FAMILIES["xgboost"]
    iterative = True


class TestCatBoost(FamilyTestCase):
    family = FAMILIES["catboost"]
    fast_params = {"n_estimators": 200}
    iterative = True


class TestRandomForest(FamilyTestCase):
    family = FAMILIES["random_forest"]
    fast_params = {"n_estimators": 100}
    iterative = True


class TestExtraTrees(FamilyTestCase):
    family = FAMILIES["extra_trees"]
    fast_params = {"n_estimators": 100}


class TestLinear(FamilyTestCase):
    family = FAMILIES["linear"]


class TestKNN(FamilyTestCase):
    family = FAMILIES["knn"]


class TestMLP(FamilyTestCase):
    family = FAMILIES["mlp"]
    fast_params = {"max_epochs": 15}
    iterative = True


def test_every_built_in_family_has_its_suite():
    tested = {cls.family.name for name, cls in globals().items()
              if name.startswith("Test") and isinstance(cls, type)}
    assert tested == set(FAMILIES) >= {"lightgbm", "xgboost", "catboost", "random_forest",
                                       "extra_trees", "linear", "knn", "mlp"}


def test_only_the_families_that_can_use_a_gpu_say_so():
    assert {f.name for f in resolve_families() if f.gpus} == {"xgboost", "mlp"}


def test_search_spaces_sample_to_concrete_configs():
    for fam in resolve_families():
        cfg = sample_config(fam.search_space(), _rng())
        assert not has_domains(cfg) and set(cfg) == set(fam.search_space())


def test_portfolio_puts_boosted_trees_first_and_covers_every_config():
    configs = portfolio_configs(resolve_families())
    order = [c["model"]["family"] for c in configs]
    assert order[:3] == ["lightgbm", "xgboost", "lightgbm"]
    assert set(order[:10]) == set(FAMILIES)  # every family gets its first try early
    assert sum(len(f.portfolio) for f in resolve_families()) == len(configs)
    params = [c["model"]["params"] for c in configs]
    assert all(p in [dict(q) for q in FAMILIES[f].portfolio] for f, p in zip(order, params))


def test_custom_hyperparameters_go_round_robin():
    custom = {"knn": [{"n_neighbors": 3}, {"n_neighbors": 30}], "linear": [{}]}
    configs = portfolio_configs(resolve_families(["knn", "linear"]), custom)
    assert [(c["model"]["family"], c["model"]["params"]) for c in configs] == [
        ("linear", {}), ("knn", {"n_neighbors": 3}), ("knn", {"n_neighbors": 30})]


class ShallowTrees(LightGBM):
    """A user's family: LightGBM with a different name and a portfolio of its own."""

    name = "shallow_trees"
    portfolio = ({"num_leaves": 4}, {"num_leaves": 8})


def test_a_user_family_instance_mixes_with_names():
    fams = resolve_families([ShallowTrees(), "linear", "lightgbm"])
    assert [f.name for f in fams] == ["lightgbm", "linear", "shallow_trees"]
    configs = portfolio_configs(fams)
    assert [c["model"]["family"] for c in configs][-2:] == ["shallow_trees"] * 2


def test_a_user_instance_under_a_built_in_name_brings_its_own_portfolio():
    class MyLinear(Linear):
        portfolio = ({"C": 0.1, "alpha": 10.0},)

    configs = portfolio_configs(resolve_families([MyLinear()]))
    assert configs == [{"model": {"family": "linear", "params": {"C": 0.1, "alpha": 10.0}}}]


def test_register_family_makes_the_name_usable_and_refuses_a_taken_one():
    fam = ShallowTrees()
    try:
        assert register_family(fam) is fam and resolve_families(["shallow_trees"]) == [fam]
        with pytest.raises(InputError, match="already registered; pass replace=True"):
            register_family(ShallowTrees())
        assert register_family(ShallowTrees(), replace=True) is not fam
    finally:
        FAMILIES.pop("shallow_trees", None)
    with pytest.raises(InputError, match="needs a ModelFamily instance"):
        register_family("lightgbm")


@pytest.mark.parametrize("given, message", [
    (["lightgbm", "bogus"], "unknown model family 'bogus'"),
    (["lightgbm", "lightgbm"], "names 'lightgbm' twice"),
    ([], "families is empty"),
    ("lightgbm", "give a list of family names"),
    ([3], "give family names or ModelFamily instances"),
])
def test_bad_family_lists_are_one_line_errors(given, message):
    with pytest.raises(InputError, match=message):
        resolve_families(given)


def test_a_family_without_a_name_or_an_estimator_cannot_be_made():
    class Incomplete(LightGBM.__mro__[1]):  # ModelFamily itself
        def search_space(self):
            return {}

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


def _rng():
    import numpy as np

    return np.random.default_rng(0)


def test_many_class_boosters_get_a_faster_portfolio_and_shorter_patience():
    from raymlx.tabular.models.base import per_class_patience, per_class_rate

    two, ten = (portfolio_configs(resolve_families(["lightgbm", "xgboost", "linear"]),
                                  n_classes=k) for k in (2, 10))
    for a, b in zip(two, ten):
        fam, pa, pb = a["model"]["family"], a["model"]["params"], b["model"]["params"]
        rate = {"lightgbm": "learning_rate", "xgboost": "eta"}.get(fam)
        if rate in pa:
            assert pb[rate] == pytest.approx(2 * pa[rate])  # ten classes: twice the rate
            assert {k: v for k, v in pb.items() if k != rate} == \
                {k: v for k, v in pa.items() if k != rate}
        else:
            assert pa == pb
    assert per_class_rate(2) == 1.0 and per_class_rate(6) == 1.5 and per_class_rate(30) == 2
    assert [per_class_patience(k) for k in (1, 2, 3, 5, 10, 40)] == [50, 50, 33, 20, 20, 20]
    custom = {"lightgbm": [{"learning_rate": 0.05}]}  # a user's list is used as given
    assert portfolio_configs(resolve_families(["lightgbm"]), custom, 10)[0]["model"][
        "params"] == {"learning_rate": 0.05}
