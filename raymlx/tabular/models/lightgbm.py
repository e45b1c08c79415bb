"""LightGBM family: native categorical splits, early stopping on the held-out fold, and a
callback that ends boosting at the trial's deadline."""

from __future__ import annotations

from raymlx.tabular.models.base import FoldEstimator, ModelFamily, per_class_patience

MAX_ROUNDS = 10_000
EARLY_STOPPING_ROUNDS = 50


class LightGBMEstimator(FoldEstimator):
    rounds_param = "n_estimators"

    def _fit(self, X, y, X_val, y_val, deadline):
        import lightgbm as lgb

        params = dict(self.params)
        rounds = int(params.pop("n_estimators", MAX_ROUNDS))
        if not self.problem.is_classification:
            objective = {"objective": "regression"}
        elif self.n_fit_classes == 2:
            objective = {"objective": "binary"}
        else:
            objective = {"objective": "multiclass", "num_class": self.n_fit_classes}
        params.update(objective, verbosity=-1, num_threads=self.num_threads, seed=self.seed,
                      deterministic=True, force_row_wise=True)
        cats = sorted(self.problem.categorical)
        train = lgb.Dataset(X, y, categorical_feature=cats, free_raw_data=True)
        valid_sets, callbacks = [], [self._deadline_callback(deadline)]
        if X_val is not None and len(X_val):
            valid_sets = [lgb.Dataset(X_val, y_val, reference=train)]
            callbacks.append(lgb.early_stopping(
                per_class_patience(self.n_fit_classes, EARLY_STOPPING_ROUNDS), verbose=False))
        self.booster_ = lgb.train(params, train, rounds, valid_sets=valid_sets,
                                  callbacks=callbacks)

    def _deadline_callback(self, deadline):
        import lightgbm as lgb

        def stop_at_deadline(env):
            if self._out_of_time(deadline):
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

        stop_at_deadline.order = 1
        return stop_at_deadline

    def fitted_rounds(self) -> int:
        return int(self.booster_.best_iteration or self.booster_.current_iteration())

    def _predict(self, X):
        best = self.booster_.best_iteration or None
        return self.booster_.predict(X, num_iteration=best)


class LightGBM(ModelFamily):
    name = "lightgbm"
    estimator = LightGBMEstimator
    per_class_rate_param = "learning_rate"
    portfolio = (
        {"learning_rate": 0.05},
        {"learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9,
         "min_data_in_leaf": 3},
        {"learning_rate": 0.05, "extra_trees": True},
    )

    def search_space(self) -> dict:
        from ray import tune

        return {
            "learning_rate": tune.loguniform(0.01, 0.2),
            "num_leaves": tune.lograndint(8, 256),
            "min_data_in_leaf": tune.lograndint(2, 100),
            "feature_fraction": tune.uniform(0.4, 1.0),
            "bagging_fraction": tune.uniform(0.5, 1.0),
            "bagging_freq": tune.choice([0, 1]),
            "lambda_l2": tune.loguniform(1e-3, 10.0),
            "extra_trees": tune.choice([False, True]),
        }


FAMILY = LightGBM()
