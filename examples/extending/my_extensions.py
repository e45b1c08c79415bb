"""A model family and a searcher written outside raymlx, as a user would write them.

- ``HistGradientBoosting``: scikit-learn's histogram gradient boosting (after LightGBM) as a
  raymlx model family: native missing values and categorical codes, early stopping on the
  fold's held-out rows, and boosting in chunks so that it stops at the trial's deadline.
- ``SobolSearch``: quasi-random search over any Tune space on a scrambled Sobol sequence
  (Sobol 1967; scipy's ``qmc.Sobol``), which covers a space more evenly than independent
  random draws for the same number of trials (Bergstra & Bengio 2012 recommend it).

``docs/extending.md`` walks through this file; ``test_my_extensions.py`` runs both through
raymlx's conformance suites and one AutoML fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import qmc

from raymlx.searchers.base import SpaceSearcher
from raymlx.tabular import FoldEstimator, ModelFamily

CHUNK = 25  # boosting rounds between deadline checks
MAX_BINS = 255  # scikit-learn's limit on the codes of a categorical feature


class HistGradientBoostingEstimator(FoldEstimator):
    """One fold of scikit-learn's HistGradientBoosting{Classifier,Regressor}."""

    def _fit(self, X, y, X_val, y_val, deadline):
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )

        params = dict(self.params)
        rounds = int(params.pop("max_iter", 300))
        cats = [self.problem.categorical.get(i, MAX_BINS + 1) < MAX_BINS
                for i in range(X.shape[1])]
        cls = (HistGradientBoostingClassifier if self.problem.is_classification
               else HistGradientBoostingRegressor)
        model = cls(max_iter=0, warm_start=True, early_stopping=False,
                    categorical_features=cats if any(cats) else None,
                    random_state=self.seed, **params)
        best, best_rounds, done = np.inf, 0, 0
        while done < rounds:
            done = min(rounds, done + CHUNK)
            model.set_params(max_iter=done)
            model.fit(X, y)
            if X_val is not None and len(X_val):  # early stopping on the held-out rows
                loss = -model.score(X_val, y_val)
                if loss < best - 1e-9:
                    best, best_rounds = loss, done
                elif done - best_rounds >= 2 * CHUNK:
                    break
            if done < rounds and self._out_of_time(deadline):
                break
        self.model_ = model

    def _predict(self, X):
        if self.problem.is_classification:
            return self.model_.predict_proba(X)
        return self.model_.predict(X)


class HistGradientBoosting(ModelFamily):
    name = "hist_gradient_boosting"
    estimator = HistGradientBoostingEstimator
    portfolio = ({"learning_rate": 0.1, "max_leaf_nodes": 31},
                 {"learning_rate": 0.05, "max_leaf_nodes": 63, "l2_regularization": 1.0})

    def search_space(self) -> dict[str, Any]:
        from ray import tune

        return {
            "learning_rate": tune.loguniform(0.01, 0.3),
            "max_leaf_nodes": tune.lograndint(8, 128),
            "min_samples_leaf": tune.lograndint(2, 64),
            "l2_regularization": tune.loguniform(1e-4, 10.0),
        }


class SobolSearch(SpaceSearcher):
    """Quasi-random search: each configuration is the next point of a scrambled Sobol
    sequence in the space's decision vector (one number per numeric leaf and choice)."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None) -> None:
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self._sobol: qmc.Sobol | None = None

    def _propose(self, trial_id: str):
        codec = self._codec()
        if self._sobol is None:
            self._sobol = qmc.Sobol(d=max(codec.n_dims, 1), scramble=True,
                                    seed=int(self._rng.integers(2**31 - 1)))
        u = self._sobol.random(1)[0][: codec.n_dims]
        n = codec.cardinalities
        x = np.where(n > 0, np.floor(u * np.maximum(n, 1)), u)  # choices: an index each
        return codec.decode(x)
