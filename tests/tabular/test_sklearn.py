"""AutoMLClassifier and AutoMLRegressor keep scikit-learn's estimator contract: the whole of
``parametrize_with_checks``, and life inside ``Pipeline``, ``cross_val_score`` and ``clone``."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from raymlx import AutoMLClassifier, AutoMLRegressor
from raymlx.tabular.sklearn import EXPECTED_FAILED_CHECKS

# small and deterministic: one cheap family, two folds, no time limit (each check fits one
# to a few times, each fit a Tune experiment of its own; fits running at once on make
# test's two workers each make a folder of their own in it)
FAST = {"families": ["linear"], "num_folds": 2, "max_models": 1, "verbosity": 0,
        "path": "/tmp/raymlx-sklearn-checks"}


@pytest.fixture(autouse=True)
def _ray(ray_session):
    """Every check fits on the session's Ray instance."""


class TestClassifierChecks:  # one class per estimator: make test's workers take one each
    @parametrize_with_checks([AutoMLClassifier(**FAST)],
                             expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
    def test_scikit_learn_estimator_checks(self, estimator, check):
        check(estimator)


class TestRegressorChecks:
    @parametrize_with_checks([AutoMLRegressor(**FAST)],
                             expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
    def test_scikit_learn_estimator_checks(self, estimator, check):
        check(estimator)


def test_fit_predict_on_a_dataframe_with_text_columns(binary_frame, tmp_path):
    X, y = binary_frame.drop(columns="target"), binary_frame["target"]
    clf = AutoMLClassifier(families=["lightgbm", "linear"], num_folds=3, path=tmp_path,
                           verbosity=0).fit(X, y)
    assert list(clf.classes_) == ["no", "yes"]
    assert list(clf.feature_names_in_) == list(X.columns) and clf.n_features_in_ == 6
    proba = clf.predict_proba(X.head(20))
    assert proba.shape == (20, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(clf.predict(X.head(20))) <= {"no", "yes"}
    assert clf.score(X, y) > 0.75  # accuracy, scikit-learn's default for classifiers
    assert "lightgbm_1" in set(clf.leaderboard_.model)


def test_inside_a_pipeline_with_cross_validation(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = X[:, 0] * 2 - X[:, 1] + 0.1 * rng.normal(size=150)
    pipe = make_pipeline(StandardScaler(), AutoMLRegressor(families=["linear"], num_folds=2,
                                                           path=tmp_path, verbosity=0))
    scores = cross_val_score(pipe, X, y, cv=3)  # R^2 on each held-out third
    assert scores.shape == (3,) and scores.min() > 0.9
    copy = clone(pipe)
    assert copy.steps[-1][1].get_params() == pipe.steps[-1][1].get_params()


def test_a_pickled_estimator_predicts_without_its_fit_folder(tmp_path):
    import pickle
    import shutil

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    y = (X.a > 0).astype(int)
    clf = AutoMLClassifier(families=["linear"], num_folds=2, path=tmp_path / "runs",
                           verbosity=0).fit(X, y)
    blob = pickle.dumps(clf)
    shutil.rmtree(tmp_path / "runs")  # the fold models travel inside the pickle
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
