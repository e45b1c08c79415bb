"""XGBoost family: histogram trees with native categorical features, early stopping on the
held-out fold, a training callback that ends boosting at the trial's deadline, and CUDA
when Ray gave the trial a GPU that XGBoost's build can use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raymlx.tabular.models.base import FoldEstimator, ModelFamily, per_class_patience

MAX_ROUNDS = 10_000
EARLY_STOPPING_ROUNDS = 50


class XGBoostEstimator(FoldEstimator):
    rounds_param = "n_estimators"

    def _fit(self, X, y, X_val, y_val, deadline):
        import xgboost as xgb

        estimator = self

        class StopAtDeadline(xgb.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log) -> bool:
                return estimator._out_of_time(deadline)

        params = dict(self.params)
        rounds = int(params.pop("n_estimators", MAX_ROUNDS))
        if not self.problem.is_classification:
            params["objective"] = "reg:squarederror"
        elif self.n_fit_classes == 2:
            params["objective"] = "binary:logistic"
        else:
            params.update(objective="multi:softprob", num_class=self.n_fit_classes)
        params.update(tree_method="hist", nthread=self.num_threads, seed=self.seed,
                      max_cat_to_onehot=8, device=self.device)
        types = ["c" if i in self.problem.categorical else "q" for i in range(X.shape[1])]
        dtrain = xgb.DMatrix(X, y, feature_types=types, enable_categorical=True)
        evals, stopping = [], None
        if X_val is not None and len(X_val):
            evals = [(xgb.DMatrix(X_val, y_val, feature_types=types, enable_categorical=True),
                      "valid")]
            stopping = per_class_patience(self.n_fit_classes, EARLY_STOPPING_ROUNDS)
        self.feature_types_ = types
        self.booster_ = xgb.train(params, dtrain, rounds, evals=evals, verbose_eval=False,
                                  early_stopping_rounds=stopping, callbacks=[StopAtDeadline()])
        if self.device != "cpu":  # predict anywhere: the driver may have no GPU
            self.booster_.set_param({"device": "cpu"})

    def fitted_rounds(self) -> int:
        best = getattr(self.booster_, "best_iteration", None)
        return int(best + 1 if best is not None else self.booster_.num_boosted_rounds())

    def _predict(self, X):
        # inplace_predict skips building a DMatrix (about half the cost of a one-row call);
        # the booster remembers which features are categorical
        best = getattr(self.booster_, "best_iteration", None)
        limit = (0, best + 1) if best is not None else (0, 0)
        return np.asarray(self.booster_.inplace_predict(X, iteration_range=limit))


class XGBoost(ModelFamily):
    name = "xgboost"
    estimator = XGBoostEstimator
    per_class_rate_param = "eta"
    gpus = True
    portfolio = (
        {"eta": 0.1, "max_depth": 6},
        {"eta": 0.05, "max_depth": 8, "colsample_bytree": 0.7, "min_child_weight": 2.0},
    )

    def search_space(self) -> dict:
        from ray import tune

        return {
            "eta": tune.loguniform(0.01, 0.2),
            "max_depth": tune.randint(3, 11),
            "min_child_weight": tune.loguniform(0.5, 20.0),
            "subsample": tune.uniform(0.5, 1.0),
            "colsample_bytree": tune.uniform(0.4, 1.0),
            "lambda": tune.loguniform(1e-2, 10.0),
        }

    def cuda_usable(self) -> bool:
        """XGBoost computes on CUDA when its build has CUDA and an NVIDIA device is
        present; whether torch sees one does not matter to it."""
        try:
            import xgboost

            return bool(xgboost.build_info().get("USE_CUDA")) and any(
                Path("/dev").glob("nvidia[0-9]*"))
        except Exception:  # the library is missing or broken: no CUDA here
            return False


FAMILY = XGBoost()
