"""The contract every model family meets (run for each family and problem type)."""

import time

import numpy as np
import pytest

from raymlx.searchers.space import has_domains, sample_config
from raymlx.tabular.models import FAMILIES, get_families, portfolio_configs
from raymlx.tabular.models.base import Problem

FAST = {"mlp": {"max_epochs": 15}, "catboost": {"n_estimators": 200}}


def _data(problem_type, n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    X[:, 3] = rng.integers(0, 3, n)  # a categorical code
    X[rng.random(n) < 0.05, 1] = np.nan
    signal = 2 * X[:, 0] - np.nan_to_num(X[:, 1]) + (X[:, 3] == 2)
    if problem_type == "regression":
        return X, signal + 0.1 * rng.normal(size=n)
    if problem_type == "binary":
        return X, (signal > 0).astype(np.int64)
    return X, np.digitize(signal, [-1.0, 1.0]).astype(np.int64)


@pytest.mark.parametrize("problem_type", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_learns_and_predicts_the_right_shape(name, problem_type):
    X, y = _data(problem_type)
    n_classes = 0 if problem_type == "regression" else int(y.max()) + 1
    problem = Problem(problem_type, n_classes, X.shape[1], {3: 3})
    fam = FAMILIES[name]
    params = {**fam.portfolio[0], **FAST.get(name, {})}
    tr, va = np.arange(len(y)) < 220, np.arange(len(y)) >= 220
    est = fam.estimator(params, problem).fit(X[tr], y[tr], X[va], y[va], time.time() + 60)
    pred = est.predict(X[va])
    if problem_type == "regression":
        assert pred.shape == (va.sum(),)
        baseline = np.mean((y[va] - y[tr].mean()) ** 2)
        assert np.mean((pred - y[va]) ** 2) < 0.8 * baseline
    else:
        assert pred.shape == (va.sum(), n_classes)
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-9)
        baseline = np.bincount(y[tr]).max() / tr.sum()
        assert (pred.argmax(axis=1) == y[va]).mean() > baseline


@pytest.mark.parametrize("name", list(FAMILIES))
def test_class_missing_from_a_fold_gets_zero_probability(name):
    X, y = _data("multiclass")
    problem = Problem("multiclass", 4, X.shape[1], {3: 3})  # class 3 never appears
    fam = FAMILIES[name]
    est = fam.estimator({**fam.portfolio[0], **FAST.get(name, {})}, problem)
    est.fit(X[:200], y[:200], X[200:], y[200:], time.time() + 60)
    pred = est.predict(X[200:])
    assert pred.shape == (100, 4) and np.all(pred[:, 3] == 0)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost", "random_forest", "mlp"])
def test_iterative_learners_stop_at_the_deadline(name):
    X, y = _data("regression")
    fam = FAMILIES[name]
    est = fam.estimator(dict(fam.portfolio[0]), Problem("regression", 0, 4, {3: 3}))
    est.fit(X, y, X, y, deadline=time.time() - 1)
    assert est.stopped_early_by_deadline_
    assert est.predict(X).shape == (len(y),)


def test_search_spaces_sample_to_concrete_configs():
    rng = np.random.default_rng(0)
    for fam in get_families():
        cfg = sample_config(fam.search_space, rng)
        assert not has_domains(cfg) and set(cfg) == set(fam.search_space)


def test_portfolio_puts_boosted_trees_first_and_covers_every_config():
    configs = portfolio_configs(get_families())
    order = [c["model"]["family"] for c in configs]
    assert order[:3] == ["lightgbm", "xgboost", "lightgbm"]
    assert set(order[:10]) == set(FAMILIES)  # every family gets its first try early
    assert sum(len(f.portfolio) for f in get_families()) == len(configs)
    params = [c["model"]["params"] for c in configs]
    assert all(p in [dict(q) for q in FAMILIES[f].portfolio] for f, p in zip(order, params))


def test_custom_hyperparameters_go_round_robin():
    custom = {"knn": [{"n_neighbors": 3}, {"n_neighbors": 30}], "linear": [{}]}
    configs = portfolio_configs(get_families(["knn", "linear"]), custom)
    assert [(c["model"]["family"], c["model"]["params"]) for c in configs] == [
        ("linear", {}), ("knn", {"n_neighbors": 3}), ("knn", {"n_neighbors": 30})]
