"""Per-row contributions: each source's defining property on real fitted estimators.

A booster's native TreeSHAP values plus its base value equal its raw output (the margin);
the forests' path attribution plus the root value equals the forest's output; rescaled onto
probabilities, a classifier's contributions plus the base probabilities equal its
predicted probabilities. No Ray: the estimators are fitted here, as a trial fits a fold.
"""

from __future__ import annotations

import numpy as np
import pytest

from raymlx.tabular.explain.contributions import (
    estimator_attribution,
    margin_to_probability,
    native_attribution,
)
from raymlx.tabular.models import FAMILIES
from raymlx.tabular.problem import Problem

RNG = np.random.default_rng(0)
X = RNG.normal(size=(300, 4)).astype(np.float32)
X[:, 3] = RNG.integers(0, 3, 300)  # a categorical column of codes
X[RNG.random(300) < 0.05, 1] = np.nan
SIGNAL = X[:, 0] * 2 - np.nan_to_num(X[:, 1]) + (X[:, 3] == 1)
Y = {"regression": SIGNAL + RNG.normal(0, 0.1, 300),
     "binary": (SIGNAL > 0).astype(np.int64),
     "multiclass": np.digitize(SIGNAL, [-1, 0.5]).astype(np.int64)}
CLASSES = {"regression": (), "binary": ("a", "b"), "multiclass": ("a", "b", "c")}


def fitted(family: str, kind: str, params: dict | None = None):
    problem = Problem(kind, CLASSES[kind], n_features=4, categorical={3: 3})
    est = FAMILIES[family].make_estimator(params or {"n_estimators": 30}, problem)
    return est.fit(X, Y[kind], X[:60], Y[kind][:60])


def raw_output(est, family: str) -> np.ndarray:
    """The booster's own raw (margin) output, as ``(rows, outputs)``."""
    if family == "lightgbm":
        out = est.booster_.predict(X, num_iteration=est.booster_.best_iteration or None,
                                   raw_score=True)
    elif family == "xgboost":
        import xgboost as xgb

        best = getattr(est.booster_, "best_iteration", None)
        out = est.booster_.predict(
            xgb.DMatrix(X, feature_types=est.feature_types_, enable_categorical=True),
            output_margin=True, iteration_range=(0, best + 1) if best is not None else (0, 0))
    else:
        out = est.model_.predict(est._pool(X), prediction_type="RawFormulaVal")
    return np.asarray(out, dtype=np.float64).reshape(len(X), -1)


@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
def test_booster_contributions_plus_base_equal_its_raw_output(family, kind):
    est = fitted(family, kind)
    (phi, base), space = native_attribution(est, X)
    assert space == "margin"
    assert phi.shape == (len(X), 4, raw_output(est, family).shape[1])
    # XGBoost computes in float32, hence the relative tolerance of its precision
    np.testing.assert_allclose(base + phi.sum(axis=1), raw_output(est, family), atol=1e-6,
                               rtol=1e-6)


@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("family", ["random_forest", "extra_trees"])
def test_forest_path_contributions_plus_root_equal_its_output(family, kind):
    est = fitted(family, kind, {"n_estimators": 20, "max_depth": 6})
    phi, base = estimator_attribution(est, X)
    np.testing.assert_allclose(base + phi.sum(axis=1),
                               est.predict(X).reshape(len(X), -1), atol=1e-6)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
def test_classifier_contributions_add_up_to_its_probabilities(family, kind):
    est = fitted(family, kind)
    phi, base = estimator_attribution(est, X)
    assert phi.shape == (len(X), 4, len(CLASSES[kind]))
    np.testing.assert_allclose(base + phi.sum(axis=1), est.predict(X), atol=1e-6)
    # the probabilities sum to one, so each feature's contributions over the classes cancel
    np.testing.assert_allclose(phi.sum(axis=2), 0, atol=1e-9)


def test_probability_rescaling_keeps_each_binary_contributions_sign_and_order():
    phi = RNG.normal(size=(50, 5, 1))
    base = np.full((50, 1), -0.3)
    psi, pbase = margin_to_probability(phi, base)
    p1 = 1 / (1 + np.exp(-(base + phi.sum(axis=1))))
    np.testing.assert_allclose(pbase[:, 1] + psi[:, :, 1].sum(axis=1), p1[:, 0], atol=1e-12)
    assert (np.sign(psi[:, :, 1]) == np.sign(phi[:, :, 0])).all()
    assert (np.argsort(psi[:, :, 1], axis=1) == np.argsort(phi[:, :, 0], axis=1)).all()
    assert (np.abs(psi[:, :, 1]) <= 0.25 * np.abs(phi[:, :, 0]) + 1e-12).all()  # sigmoid' <= 1/4


def test_softmax_contributions_are_exact_and_bounded_where_a_margin_barely_moves():
    phi = RNG.normal(size=(200, 6, 4))
    phi[:50, :, 2] -= phi[:50, :, 2].mean(axis=1, keepdims=True)  # class 2's margin: no change
    base = RNG.normal(size=(200, 4))
    psi, pbase = margin_to_probability(phi, base)
    z = base + phi.sum(axis=1)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(pbase + psi.sum(axis=1), p, atol=1e-12)
    np.testing.assert_allclose(psi.sum(axis=2), 0, atol=1e-12)
    assert np.abs(psi).max() <= np.abs(phi).sum(axis=2).max()  # no division by a small change


def test_a_family_without_native_contributions_says_so():
    assert native_attribution(fitted("knn", "binary", {}), X[:5]) is None
    assert estimator_attribution(fitted("linear", "regression", {}), X[:5]) is None
