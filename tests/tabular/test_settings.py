"""AutoML's arguments: declared once (the signature), constrained once (a table checked in
``fit``), stored as given by ``__init__``, and read everywhere from those two places."""

import argparse
import inspect

import pytest
from ray import tune
from sklearn.base import clone

from raymlx import AutoML, AutoMLClassifier, AutoMLRegressor, InputError
from raymlx.schedulers import ASHAScheduler
from raymlx.searchers import PointsFirst, RandomSearch, TPESearch
from raymlx.tabular import cli
from raymlx.tabular.settings import CONSTRAINTS, make_searcher, resolve_settings

PARAMS = [p for p in inspect.signature(AutoML.__init__).parameters if p != "self"]


def test_every_argument_has_one_constraint():
    assert list(CONSTRAINTS) == PARAMS


def test_init_only_stores_the_arguments_even_bad_ones():
    aml = AutoML(label=3, num_folds=-1, searcher="bogus", memory_per_trial="lots")
    assert (aml.label, aml.num_folds, aml.searcher) == (3, -1, "bogus")
    assert aml.get_params()["memory_per_trial"] == "lots"


def test_get_params_set_params_and_clone_follow_the_signature():
    aml = AutoML(label="y", time_limit=30, families=["linear"])
    assert sorted(aml.get_params()) == sorted(PARAMS)
    assert aml.set_params(time_limit=60) is aml and aml.time_limit == 60
    copy = clone(aml)
    assert copy is not aml and copy.get_params() == aml.get_params()
    assert repr(aml) == "AutoML(families=['linear'], label='y', time_limit=60)"


def test_the_estimators_take_automl_arguments_but_label_and_problem_type():
    for cls in (AutoMLClassifier, AutoMLRegressor):
        names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        assert names == [p for p in PARAMS if p not in ("label", "problem_type")]
        assert cls(time_limit=9).time_limit == 9 and cls().searcher == "auto"
        with pytest.raises(TypeError, match="unexpected keyword arguments \\['label'\\]"):
            cls(label="y")


@pytest.mark.parametrize("name, value, message", [
    ("label", "", "label='' is invalid; give the label column's name"),
    ("problem_type", "ranking", "problem_type='ranking' is invalid; choose one of: binary"),
    ("metric", "auc", "unknown metric 'auc'"),
    ("time_limit", 0, "time_limit=0 is invalid; it must be a number > 0 or None"),
    ("max_models", 0, "max_models=0 is invalid; it must be an integer >= 1 or None"),
    ("num_folds", 21, "num_folds=21 is invalid; it must be an integer from 2 to 20 or None"),
    ("seed", -1, "seed=-1 is invalid"),
    ("path", 5, "path=5 is invalid; give a folder path or None"),
    ("families", ["lightgbm", "nope"], "unknown model family 'nope'"),
    ("hyperparameters", {"linear": {}}, "hyperparameters must map family names to lists"),
    ("searcher", object(), "choose one of: random, tpe, gp, evolution, rl, auto; or give a "
                           "ray.tune.search.Searcher instance"),
    ("use_gpus", "yes", "use_gpus='yes' is invalid; choose one of: True, False or None"),
    ("memory_per_trial", "lots", "memory_per_trial='lots' is invalid"),
    ("verbosity", 3, "verbosity=3 is invalid; it must be an integer from 0 to 2"),
])
def test_each_bad_argument_is_one_line_quoting_it(name, value, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        resolve_settings({**AutoML(label="y").get_params(), name: value})


def test_families_take_instances_and_names_and_hyperparameters_pick_among_them():
    from raymlx.tabular.models.sklearn import Linear

    class Mine(Linear):
        name = "mine"

    settings = resolve_settings(AutoML(label="y", families=[Mine(), "knn"]).get_params())
    assert [f.name for f in settings.families] == ["knn", "mine"]
    settings = resolve_settings(AutoML(label="y", families=[Mine()],
                                       hyperparameters={"mine": [{}]}).get_params())
    assert [type(f) for f in settings.families] == [Mine]


def test_a_searcher_instance_is_copied_and_runs_after_the_portfolio():
    mine = TPESearch(seed=3)
    points = [{"model": {"family": "linear", "params": {}}}]
    made = make_searcher(mine, 0, points)
    assert isinstance(made, PointsFirst) and made.searcher is not mine
    assert made.points == points
    assert isinstance(make_searcher("random", 0, points), RandomSearch)


def test_a_scheduler_instance_is_accepted_and_copied_per_fit():
    from raymlx.tabular.engine.search import make_scheduler

    mine = ASHAScheduler(time_attr="folds_done", max_t=5, variant="stopping")
    assert resolve_settings(AutoML(label="y", scheduler=mine).get_params()).scheduler is mine
    made = make_scheduler(mine, 5)
    assert isinstance(made, ASHAScheduler) and made is not mine


def test_the_command_line_offers_every_argument_but_hyperparameters():
    """And but callbacks: Python objects, which a command line cannot give."""
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fit", "train.csv", "--label", "y", "--output", "out"])
    given = cli._fit_arguments(args)
    assert sorted(given) == sorted(p for p in PARAMS if p not in ("hyperparameters", "callbacks"))
    assert given["label"] == "y" and given["verbosity"] == 1
    args = parser.parse_args(["fit", "t.csv", "--label", "y", "--output", "o", "--families",
                              "lightgbm,linear", "--use-gpus", "off", "--dynamic-stacking",
                              "on", "--quiet"])
    given = cli._fit_arguments(args)
    assert given["families"] == ["lightgbm", "linear"] and given["use_gpus"] is False
    assert given["dynamic_stacking"] is True and given["verbosity"] == 0


def test_the_command_line_choices_are_the_settings_names():
    from raymlx.tabular.settings import PRESETS, SCHEDULER_NAMES, SEARCHER_CLASSES

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    fit = parser._subparsers._group_actions[0].choices["fit"]
    choices = {a.dest: a.choices for a in fit._actions if a.choices}
    assert set(choices["searcher"]) == set(SEARCHER_CLASSES)
    assert set(choices["presets"]) == set(PRESETS)
    assert set(choices["scheduler"]) == set(SCHEDULER_NAMES)


def test_tune_domains_are_not_arguments():
    with pytest.raises(InputError, match="hyperparameters must map"):
        resolve_settings({**AutoML(label="y").get_params(),
                          "hyperparameters": {"linear": [tune.uniform(0, 1)]}})
