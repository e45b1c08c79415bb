"""Budget-aware bagging: the fold count falls only when the measured cost says the time
left would not fit enough trials, never below the floor, and merged folds still give every
row an out-of-fold prediction from a model that did not train on it."""

import time

import numpy as np
import pytest

from raymlx import AutoML
from raymlx.tabular.engine.fold_budget import (
    FOLD_FLOOR,
    MIN_TRIALS,
    folds_for_budget,
    trial_seconds,
)
from raymlx.tabular.ensembles.bagging import assign_folds, fit_bag
from raymlx.tabular.models import FAMILIES
from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.problem import Problem


def test_a_trial_of_fewer_folds_costs_less_in_proportion_to_its_training_rows():
    assert trial_seconds(2.0, 5, 5) == pytest.approx(10.0)  # 5 folds of 2 s
    assert trial_seconds(2.0, 3, 5) == pytest.approx(5.0)  # 2 * (2/4) * 5: 3 folds of 2/3
    assert trial_seconds(2.0, 2, 8) == pytest.approx(2.0 * 8 / 7)


def test_the_fold_count_stays_while_the_budget_fits_enough_trials():
    # 1 s per fold, 5 folds: 5 s per trial; 2 at once for 60 s fit 24 more trials
    assert folds_for_budget(1, 1.0, 5, 5, 2, 60.0) == 5
    assert folds_for_budget(MIN_TRIALS, 50.0, 5, 5, 2, 1.0) == 5  # enough already done


def test_the_fold_count_falls_to_the_largest_that_fits_and_not_below_the_floor():
    # 8 folds at 1 s: 8 s per trial; 2 at once for 30 s: 7.5 more, under 10 - 1 done
    k = folds_for_budget(1, 1.0, 8, 8, 2, 30.0)
    assert k < 8
    fits = 1 + 2 * 30.0 / trial_seconds(1.0, k, 8)
    assert fits >= MIN_TRIALS and 1 + 2 * 30.0 / trial_seconds(1.0, k + 1, 8) < MIN_TRIALS
    assert folds_for_budget(1, 20.0, 8, 8, 2, 30.0) == FOLD_FLOOR  # nothing fits: the floor
    assert folds_for_budget(1, 20.0, 8, 4, 2, 30.0) == FOLD_FLOOR
    assert folds_for_budget(1, 20.0, 8, 2, 2, 30.0) == 2  # never above the current count


def test_merged_folds_keep_every_prediction_out_of_fold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    fold = assign_folds(y, 8, True, 0) % 3
    assert sorted(np.unique(fold)) == [0, 1, 2]
    assert all(abs(y[fold == f].mean() - y.mean()) < 0.05 for f in range(3))  # stratified
    bag = fit_bag(FAMILIES["linear"], {}, Problem("binary", classes=(0, 1), n_features=3),
                  X, y, fold, float("inf"))
    assert len(bag.models) == 3 and not np.isnan(bag.oof).any()
    for f, model in enumerate(bag.models):  # fold f's model never saw fold f's rows
        np.testing.assert_allclose(bag.oof[fold == f], model.predict(X[fold == f]))


class SlowPrior(FoldEstimator):
    """The training class frequencies, after a second per fold: a costly model."""

    def _fit(self, X, y, X_val, y_val, deadline):
        time.sleep(1.0)
        self.prior_ = np.bincount(y, minlength=self.n_fit_classes) / len(y)

    def _predict(self, X):
        return np.tile(self.prior_, (len(X), 1))


class SlowPriorFamily(ModelFamily):
    name = "slow_prior"
    estimator = SlowPrior
    applies_to = ("binary", "multiclass")
    portfolio = tuple({"n": i} for i in range(30))

    def search_space(self):
        return {"n": 0}


@pytest.mark.timing
def test_a_fit_whose_trials_cost_too_much_bags_its_later_trials_over_fewer_folds(
        ray_session, binary_frame, tmp_path):
    aml = AutoML(label="target", families=[SlowPriorFamily()], time_limit=30, path=tmp_path,
                 verbosity=0).fit(binary_frame)  # 5 s per 5-fold trial, 2 at once
    records = [r for r in aml.models_.records.values() if r.family == "slow_prior" and r.ok]
    notes = [r.note or "" for r in records]
    assert any("bagged over 3 of the fit's 5 folds" in n for n in notes), notes
    first = records[0]
    assert len(aml.models_.fold_models(first.name)) == 5  # the first trials kept 5 folds
    fewer = [r for r in records if "bagged over 3" in (r.note or "")]
    assert all(len(aml.models_.fold_models(r.name)) == 3 for r in fewer)


def test_a_given_num_folds_is_kept(ray_session, binary_frame, tmp_path):
    aml = AutoML(label="target", families=[SlowPriorFamily()], time_limit=20, num_folds=5,
                 path=tmp_path, verbosity=0).fit(binary_frame)
    assert all(len(aml.models_.fold_models(r.name)) == 5 for r in aml.models_.usable()
               if not r.weights)
