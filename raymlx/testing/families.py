"""The contract every model family of ``raymlx.tabular`` meets, for a third party's too.

Subclass :class:`FamilyTestCase` (name the subclass ``Test...``) and set ``family``::

    from raymlx.testing import FamilyTestCase

    class TestMyFamily(FamilyTestCase):
        family = MyFamily()
        fast_params = {"n_estimators": 50}   # optional: keeps the fits quick

Each test fits the family's estimator on small synthetic tables (numeric columns, a
categorical code, missing values) for every problem type the family ``applies_to``.
Covered: a search space of Tune domains that samples to Python values, a portfolio of
plain JSON-able configurations, predictions of the right shape that learn (better than a
constant), probabilities that sum to one, a class absent from a fold's rows getting
probability zero, a deadline in the past (an iterative family stops and still predicts), a
fitted estimator surviving a pickle round trip, a seeded refit giving the same model, the
resource declarations, and a k-fold bag of the family through raymlx's own bagging.
"""

from __future__ import annotations

import json
import pickle
import time
from typing import Any

import numpy as np
import pytest

from raymlx.tabular.ensembles.bagging import assign_folds, fit_bag
from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.problem import BINARY, MULTICLASS, PROBLEM_TYPES, REGRESSION, Problem
from raymlx.testing.searchers import assert_in_space

CATEGORICAL = {3: 3}  # column 3 holds the codes 0, 1, 2


def synthetic_table(problem_type: str, n: int = 300, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, Problem]:
    """Four float32 columns (one categorical code, 5% missing in another) and a label
    with a learnable signal; the :class:`Problem` that describes them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    X[:, 3] = rng.integers(0, 3, n)
    X[rng.random(n) < 0.05, 1] = np.nan
    signal = 2 * X[:, 0] - np.nan_to_num(X[:, 1]) + (X[:, 3] == 2)
    if problem_type == REGRESSION:
        return X, signal + 0.1 * rng.normal(size=n), Problem(REGRESSION, (), 4, CATEGORICAL)
    if problem_type == BINARY:
        y = (signal > 0).astype(np.int64)
    else:
        y = np.digitize(signal, [-1.0, 1.0]).astype(np.int64)
    return X, y, Problem(problem_type, tuple(range(int(y.max()) + 1)), 4, CATEGORICAL)


def _params(family: ModelFamily, fast: dict[str, Any]) -> dict[str, Any]:
    return {**dict(family.portfolio[0] if family.portfolio else {}), **fast}


def _fit(family: ModelFamily, params: dict, problem_type: str, seed: int = 0,
         deadline: float | None = None) -> tuple[FoldEstimator, np.ndarray, np.ndarray]:
    X, y, problem = synthetic_table(problem_type)
    train, valid = np.arange(len(y)) < 220, np.arange(len(y)) >= 220
    est = family.make_estimator(params, problem, num_threads=1, seed=seed)
    est.fit(X[train], y[train], X[valid], y[valid],
            deadline=time.time() + 120 if deadline is None else deadline)
    return est, X[valid], y[valid]


def check_declarations(family: ModelFamily) -> None:
    """Name, problem types and resources are plain values of the right kinds."""
    assert isinstance(family.name, str) and family.name.isidentifier(), family.name
    assert family.applies_to and set(family.applies_to) <= set(PROBLEM_TYPES)
    assert isinstance(family.gpus, bool)
    assert isinstance(family.cuda_usable(), bool)
    assert issubclass(family.estimator, FoldEstimator)


def check_search_space(family: ModelFamily, samples: int = 20) -> None:
    """The space is Tune domains; samples are Python values inside them."""
    from raymlx.searchers.space import sample_config

    space = family.search_space()
    assert isinstance(space, dict) and space, "the search space is empty"
    rng = np.random.default_rng(0)
    for _ in range(samples):
        assert_in_space(space, sample_config(space, rng), f"{family.name} config")


def check_portfolio(family: ModelFamily) -> None:
    """Known-good configurations: plain dicts that survive JSON (the fit's ledger)."""
    assert isinstance(family.portfolio, (tuple, list)) and family.portfolio
    for config in family.portfolio:
        assert isinstance(config, dict)
        assert json.loads(json.dumps(config)) == config, config


def check_learns(family: ModelFamily, problem_type: str, params: dict) -> None:
    est, X, y = _fit(family, params, problem_type)
    pred = est.predict(X)
    if problem_type == REGRESSION:
        assert pred.shape == (len(y),) and pred.dtype == np.float64
        assert np.mean((pred - y) ** 2) < 0.8 * np.var(y), "no better than the mean"
    else:
        n_classes = int(y.max()) + 1
        assert pred.shape == (len(y), n_classes), pred.shape
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-9)
        assert (pred.argmax(axis=1) == y).mean() > np.bincount(y).max() / len(y), \
            "no better than the majority class"


def check_missing_class(family: ModelFamily, params: dict) -> None:
    """A class absent from a fold's training rows gets probability zero."""
    X, y, _ = synthetic_table(MULTICLASS)
    problem = Problem(MULTICLASS, (0, 1, 2, 3), 4, CATEGORICAL)  # class 3 never appears
    est = family.make_estimator(params, problem)
    est.fit(X[:200], y[:200], X[200:], y[200:], time.time() + 120)
    pred = est.predict(X[200:])
    assert pred.shape == (100, 4) and np.all(pred[:, 3] == 0)


def check_past_deadline(family: ModelFamily, params: dict, iterative: bool) -> None:
    """A deadline already passed still gives a model that predicts; an iterative family
    says it stopped early."""
    problem_type = family.applies_to[0]
    est, X, y = _fit(family, params, problem_type, deadline=time.time() - 1)
    assert est.predict(X).shape[0] == len(y)
    if iterative:
        assert est.stopped_early_by_deadline_


def check_pickle_round_trip(family: ModelFamily, params: dict) -> None:
    est, X, _ = _fit(family, params, family.applies_to[0])
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def check_seeded_refit(family: ModelFamily, params: dict) -> None:
    """Two fits with the same seed and data give the same predictions."""
    a, X, _ = _fit(family, params, family.applies_to[0], seed=3)
    b, _, _ = _fit(family, params, family.applies_to[0], seed=3)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6, atol=1e-9)


def check_bagging(family: ModelFamily, params: dict) -> None:
    """raymlx's k-fold bagging fits the family on every fold: one out-of-fold row each."""
    problem_type = family.applies_to[0]
    X, y, problem = synthetic_table(problem_type, n=150)
    folds = assign_folds(y, 3, problem.is_classification, seed=0)
    bag = fit_bag(family, params, problem, X, y, folds, time.time() + 120)
    assert len(bag.models) == 3
    assert bag.oof.shape[0] == len(y) and np.isfinite(bag.oof).all()


class FamilyTestCase:
    """The whole contract as pytest tests; subclass it and set ``family``.

    ``fast_params`` are merged over the family's first portfolio configuration for every
    fit; ``iterative`` says that the family grows rounds, trees or epochs and must stop
    at its deadline."""

    family: ModelFamily
    fast_params: dict[str, Any] = {}
    iterative: bool = False

    def params(self) -> dict[str, Any]:
        return _params(self.family, self.fast_params)

    def test_declarations(self) -> None:
        check_declarations(self.family)

    def test_search_space_samples_to_python_values(self) -> None:
        check_search_space(self.family)

    def test_portfolio_is_plain_configurations(self) -> None:
        check_portfolio(self.family)

    @pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
    def test_learns_and_predicts_the_right_shape(self, problem_type: str) -> None:
        if problem_type not in self.family.applies_to:
            pytest.skip(f"{self.family.name} does not apply to {problem_type}")
        check_learns(self.family, problem_type, self.params())

    def test_a_class_missing_from_a_fold_gets_zero_probability(self) -> None:
        if MULTICLASS not in self.family.applies_to:
            pytest.skip(f"{self.family.name} does not apply to multiclass")
        check_missing_class(self.family, self.params())

    def test_a_past_deadline_still_gives_a_model(self) -> None:
        check_past_deadline(self.family, self.params(), self.iterative)

    def test_a_fitted_estimator_survives_pickling(self) -> None:
        check_pickle_round_trip(self.family, self.params())

    def test_a_seeded_refit_gives_the_same_model(self) -> None:
        check_seeded_refit(self.family, self.params())

    def test_bagged_over_folds(self) -> None:
        check_bagging(self.family, self.params())
