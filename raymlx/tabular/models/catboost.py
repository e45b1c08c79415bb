"""CatBoost family (Prokhorenkova et al. 2018, "CatBoost: unbiased boosting with categorical
features"): ordered target statistics for categorical features and symmetric trees, early
stopping on the held-out fold, and a callback that ends boosting at the trial's deadline.

CatBoost wants categorical features as integers or strings, so the preprocessor's float codes
(NaN for missing) become int codes with -1 for missing before they reach it. A few rows
to predict (a served request) go in as a list of rows rather than a DataFrame and a Pool,
whose construction costs about three times the prediction; both give the same answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raymlx.tabular.models.base import FoldEstimator, ModelFamily

MAX_ROUNDS = 10_000
EARLY_STOPPING_ROUNDS = 50
FEW_ROWS = 64  # predicted from a list of rows


class _StopAtDeadline:
    """CatBoost's user callback protocol: ``after_iteration`` returning False stops."""

    def __init__(self, estimator: CatBoostEstimator, deadline: float) -> None:
        self.estimator, self.deadline = estimator, deadline

    def after_iteration(self, info) -> bool:
        return not self.estimator._out_of_time(self.deadline)


class CatBoostEstimator(FoldEstimator):
    rounds_param = "n_estimators"

    def _pool(self, X, y=None):
        import catboost
        import pandas as pd

        cats = sorted(self.problem.categorical)
        frame = pd.DataFrame(X)
        for c in cats:
            frame[c] = np.nan_to_num(frame[c].to_numpy(), nan=-1).astype(np.int64)
        return catboost.Pool(frame, y, cat_features=cats)

    def _fit(self, X, y, X_val, y_val, deadline):
        import catboost

        params = dict(self.params)
        rounds = int(params.pop("n_estimators", MAX_ROUNDS))
        if not self.problem.is_classification:
            cls, loss = catboost.CatBoostRegressor, "RMSE"
        else:
            cls = catboost.CatBoostClassifier
            loss = "Logloss" if self.n_fit_classes == 2 else "MultiClass"
        model = cls(iterations=rounds, loss_function=loss, thread_count=self.num_threads,
                    random_seed=self.seed, verbose=False, allow_writing_files=False, **params)
        eval_set, stopping = None, None
        if X_val is not None and len(X_val):
            eval_set, stopping = self._pool(X_val, y_val), EARLY_STOPPING_ROUNDS
        if self.problem.is_classification and self.n_fit_classes < 2:
            raise ValueError("CatBoost needs two classes in a fold's training rows")
        model.fit(self._pool(X, y), eval_set=eval_set, early_stopping_rounds=stopping,
                  use_best_model=eval_set is not None,
                  callbacks=[_StopAtDeadline(self, deadline)])
        self.model_ = model

    def fitted_rounds(self) -> int:
        return int(self.model_.tree_count_)  # the best model's trees with an eval set

    def _predict(self, X):
        if len(X) <= FEW_ROWS:  # building a DataFrame and a Pool costs more than the trees
            rows = np.asarray(X, dtype=object)
            for c in self.problem.categorical:
                rows[:, c] = np.nan_to_num(np.asarray(X[:, c], dtype=np.float64),
                                           nan=-1).astype(np.int64)
            data: Any = rows.tolist()
        else:
            data = self._pool(X)
        if self.problem.is_classification:
            return self.model_.predict_proba(data)
        return self.model_.predict(data)


class CatBoost(ModelFamily):
    name = "catboost"
    estimator = CatBoostEstimator
    portfolio = ({"learning_rate": 0.08},)

    def search_space(self) -> dict:
        from ray import tune

        return {
            "learning_rate": tune.loguniform(0.02, 0.2),
            "depth": tune.randint(4, 9),
            "l2_leaf_reg": tune.loguniform(1.0, 10.0),
            "one_hot_max_size": tune.choice([2, 10]),
        }


FAMILY = CatBoost()
