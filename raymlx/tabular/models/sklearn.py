"""scikit-learn families: random forest, extra trees, k-nearest neighbours and linear
models (logistic regression / ridge).

The forests grow in chunks of trees (``warm_start``) so a fit stops at the trial's deadline
with the trees it has; they read NaN natively. k-NN and the linear models see dense, scaled,
one-hot inputs from :mod:`raymlx.tabular.models.encoding`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.extmath import softmax

from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.models.encoding import dense_encoder, encode_dense

TREES_PER_CHUNK = 50
PARALLEL_ROWS = 2000  # forests predict fewer rows than this on one thread


class _SklearnEstimator(FoldEstimator):
    """A fold estimator around one fitted sklearn model, ``self.model_``."""

    def _predict(self, X):
        model = self.model_
        if isinstance(model, Pipeline):  # k-NN and linear: dense encoder, then the model
            X, model = encode_dense(self, model[0], self.problem, X), model[-1]
        if self.problem.is_classification:
            return model.predict_proba(X)
        return model.predict(X)


class _ForestEstimator(_SklearnEstimator):
    classifier: type
    regressor: type

    def _fit(self, X, y, X_val, y_val, deadline):
        params = dict(self.params)
        n_trees = int(params.pop("n_estimators", 200))
        if params.get("max_features", "auto") == "auto":
            # sqrt of the features for classification, all of them for regression: the
            # usual forest defaults (Breiman's sqrt(p) hurts regression badly)
            params["max_features"] = "sqrt" if self.problem.is_classification else 1.0
        if self.problem.is_classification:
            model = self.classifier(n_estimators=0, warm_start=True, n_jobs=self.num_threads,
                                    random_state=self.seed, **params)
        else:
            params.pop("criterion", None)
            model = self.regressor(n_estimators=0, warm_start=True, n_jobs=self.num_threads,
                                   random_state=self.seed, **params)
        grown = 0
        while grown < n_trees:
            grown = min(n_trees, grown + TREES_PER_CHUNK)
            model.set_params(n_estimators=grown)
            model.fit(X, y)
            if grown < n_trees and self._out_of_time(deadline):
                break
        self.model_ = model

    def _predict(self, X):
        # a few rows: joblib's threads cost several times the trees themselves
        self.model_.n_jobs = 1 if len(X) < PARALLEL_ROWS else self.num_threads
        return super()._predict(X)


class RandomForestEstimator(_ForestEstimator):
    classifier, regressor = RandomForestClassifier, RandomForestRegressor


class ExtraTreesEstimator(_ForestEstimator):
    classifier, regressor = ExtraTreesClassifier, ExtraTreesRegressor


class KNNEstimator(_SklearnEstimator):
    def _fit(self, X, y, X_val, y_val, deadline):
        cls = KNeighborsClassifier if self.problem.is_classification else KNeighborsRegressor
        k = min(int(self.params.get("n_neighbors", 10)), len(X))
        knn = cls(n_neighbors=k, weights=self.params.get("weights", "distance"),
                  p=self.params.get("p", 2), n_jobs=self.num_threads)
        self.model_ = make_pipeline(dense_encoder(self.problem), knn).fit(X, y)

class LinearEstimator(_SklearnEstimator):
    def _fit(self, X, y, X_val, y_val, deadline):
        if self.problem.is_classification:
            model = LogisticRegression(C=float(self.params.get("C", 1.0)), max_iter=1000)
        else:
            model = Ridge(alpha=float(self.params.get("alpha", 1.0)))
        self.model_ = make_pipeline(dense_encoder(self.problem), model).fit(X, y)

    def _predict(self, X):
        """sklearn's own formulas for a fitted linear model (decision ``X @ coef_.T +
        intercept_``, then the logistic function for two classes and softmax for more),
        without its per-call input checks, which cost more than the product for a row."""
        model = self.model_[-1]
        z = encode_dense(self, self.model_[0], self.problem, X) @ model.coef_.T \
            + model.intercept_
        if not self.problem.is_classification:
            return z
        if z.ndim == 1 or z.shape[1] == 1:
            p = expit(z.reshape(-1))
            return np.column_stack([1.0 - p, p])
        return softmax(z)

def _forest_space() -> dict:
    from ray import tune

    return {
        "n_estimators": tune.choice([100, 200, 300]),
        "max_features": tune.choice(["auto", "sqrt", 0.5, 0.8, 1.0]),
        "min_samples_leaf": tune.lograndint(1, 20),
        "criterion": tune.choice(["gini", "entropy"]),
    }


class RandomForest(ModelFamily):
    name = "random_forest"
    estimator = RandomForestEstimator
    portfolio = (
        {"n_estimators": 200, "max_features": "auto", "min_samples_leaf": 2},
        {"n_estimators": 200, "max_features": 0.5, "min_samples_leaf": 5},
    )

    def search_space(self) -> dict:
        return _forest_space()


class ExtraTrees(ModelFamily):
    name = "extra_trees"
    estimator = ExtraTreesEstimator
    portfolio = (
        {"n_estimators": 200, "max_features": "auto", "min_samples_leaf": 2},
        {"n_estimators": 200, "max_features": 0.8, "min_samples_leaf": 5},
    )

    def search_space(self) -> dict:
        return _forest_space()


class KNearestNeighbors(ModelFamily):
    name = "knn"
    estimator = KNNEstimator
    portfolio = ({"n_neighbors": 10, "weights": "distance", "p": 2},)

    def search_space(self) -> dict:
        from ray import tune

        return {
            "n_neighbors": tune.lograndint(2, 100),
            "weights": tune.choice(["uniform", "distance"]),
            "p": tune.choice([1, 2]),
        }


class Linear(ModelFamily):
    name = "linear"
    estimator = LinearEstimator
    portfolio = ({"C": 1.0, "alpha": 1.0},)

    def search_space(self) -> dict:
        from ray import tune

        return {"C": tune.loguniform(1e-3, 1e2), "alpha": tune.loguniform(1e-3, 1e3)}


RANDOM_FOREST, EXTRA_TREES = RandomForest(), ExtraTrees()
KNN, LINEAR = KNearestNeighbors(), Linear()
