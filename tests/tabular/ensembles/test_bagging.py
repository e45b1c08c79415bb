"""k-fold bagging: out-of-fold predictions never come from a model that saw the row."""

import time

import numpy as np
import pytest

from raymlx.tabular.ensembles.bagging import (
    OutOfTime,
    assign_folds,
    assign_repeated_folds,
    fit_bag,
    predict_bag,
)
from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.problem import Problem

UNSEEN = -999.0


class Memoriser(FoldEstimator):
    """Returns the training label of any row it has seen, UNSEEN otherwise."""

    def _fit(self, X, y, X_val, y_val, deadline):
        self.memory_ = {row.tobytes(): label for row, label in zip(X, y)}
        time.sleep(self.params.get("sleep", 0.0))

    def _predict(self, X):
        return np.array([self.memory_.get(row.tobytes(), UNSEEN) for row in X])


class MemoriserFamily(ModelFamily):
    name = "memoriser"
    estimator = Memoriser

    def search_space(self):
        return {}


MEMORISER = MemoriserFamily()


def test_out_of_fold_predictions_are_never_in_fold():
    X = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.arange(100, dtype=np.float64)
    fold = assign_folds(np.zeros(100, dtype=np.int64), 5, stratify=False, seed=0)
    bag = fit_bag(MEMORISER, {}, Problem("regression", n_features=2), X, y, fold, time.time() + 60)
    assert np.all(bag.oof == UNSEEN)  # a memoriser learns nothing out of fold
    assert len(bag.models) == 5
    # each training row is remembered by the 4 fold models that trained on it
    assert np.allclose(predict_bag(bag.models, X), (4 * y + UNSEEN) / 5)


def test_folds_are_stratified_and_cover_every_row():
    y = np.array([0] * 80 + [1] * 20)
    fold = assign_folds(y, 5, stratify=True, seed=1)
    assert sorted(np.bincount(fold)) == [20] * 5
    for k in range(5):
        assert np.bincount(y[fold == k]).tolist() == [16, 4]


@pytest.mark.timing
def test_a_bag_refuses_to_overrun_its_deadline():
    X = np.zeros((50, 1), dtype=np.float32)
    y = np.zeros(50)
    fold = assign_folds(np.zeros(50, dtype=np.int64), 5, stratify=False, seed=0)
    t0 = time.time()
    with pytest.raises(OutOfTime, match="before fold"):
        fit_bag(MEMORISER, {"sleep": 0.3}, Problem("regression", n_features=1), X, y, fold,
                deadline=time.time() + 0.5)
    assert time.time() - t0 < 0.75


class UntilDeadline(FoldEstimator):
    """An iterative learner that would train forever: it stops only at its deadline."""

    def _fit(self, X, y, X_val, y_val, deadline):
        self.mean_ = float(np.mean(y))
        while not self._out_of_time(deadline):
            time.sleep(0.01)

    def _predict(self, X):
        return np.full(len(X), self.mean_)


class SlowFamily(ModelFamily):
    name = "slow"
    estimator = UntilDeadline

    def search_space(self):
        return {}


@pytest.mark.timing
def test_iterative_learners_share_the_time_left_and_finish_every_fold():
    X = np.zeros((50, 1), dtype=np.float32)
    y = np.arange(50, dtype=np.float64)
    fold = assign_folds(np.zeros(50, dtype=np.int64), 5, stratify=False, seed=0)
    t0 = time.time()
    bag = fit_bag(SlowFamily(), {}, Problem("regression", n_features=1),
                  X, y, fold, deadline=t0 + 1.0)
    elapsed = time.time() - t0
    assert len(bag.models) == 5 and bag.truncated == 5
    assert 0.9 <= elapsed <= 1.6  # each fold got about a fifth of the second


def test_repeated_bagging_stays_out_of_fold_and_keeps_every_repeat():
    X = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.arange(100, dtype=np.float64)
    folds = assign_repeated_folds(np.zeros(100, dtype=np.int64), 5, False, 0, repeats=3)
    assert folds.shape == (3, 100)
    assert not np.array_equal(folds[0], folds[1])  # each repeat splits anew
    bag = fit_bag(MEMORISER, {}, Problem("regression", n_features=2), X, y, folds, time.time() + 60)
    assert bag.repeats == 3 and len(bag.models) == 15
    assert np.all(bag.oof == UNSEEN)  # the mean of out-of-fold predictions only
    # each training row is remembered by 4 of the 5 fold models of every repeat
    assert np.allclose(predict_bag(bag.models, X), (12 * y + 3 * UNSEEN) / 15)


def test_further_repeats_run_only_while_time_allows():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20, dtype=np.float64)
    folds = assign_repeated_folds(np.zeros(20, dtype=np.int64), 2, False, 0, repeats=5)
    # a repeat takes ~0.4 s; after the first, 0.5 s are left: less than twice a repeat
    bag = fit_bag(MEMORISER, {"sleep": 0.2}, Problem("regression", n_features=2), X, y, folds,
                  time.time() + 0.9)
    assert bag.repeats == 1 and len(bag.models) == 2
