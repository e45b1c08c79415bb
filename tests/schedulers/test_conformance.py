"""Every raymlx scheduler through the shipped contract, ``raymlx.testing.SchedulerTestCase``
(driven by the Ray-free simulator, then in a plain Tuner), and the argument checks raymlx's
schedulers add to it."""

import pytest
from ray import tune

from raymlx.errors import InputError
from raymlx.schedulers import (
    ASHAScheduler,
    BOHBScheduler,
    HyperbandScheduler,
    PBTScheduler,
    SuccessiveHalvingScheduler,
)
from raymlx.schedulers.in_order import InOrderASHAScheduler
from raymlx.searchers import BOHBSearch
from raymlx.testing import SchedulerTestCase


class TestSuccessiveHalving(SchedulerTestCase):
    def make_scheduler(self, metric=None, mode=None):
        return SuccessiveHalvingScheduler(max_t=9, metric=metric, mode=mode)


class TestHyperband(SchedulerTestCase):
    def make_scheduler(self, metric=None, mode=None):
        return HyperbandScheduler(max_t=9, metric=metric, mode=mode)


class TestASHAPromotion(SchedulerTestCase):
    def make_scheduler(self, metric=None, mode=None):
        return ASHAScheduler(max_t=9, metric=metric, mode=mode)


class TestASHAStopping(SchedulerTestCase):
    def make_scheduler(self, metric=None, mode=None):
        return ASHAScheduler(max_t=9, variant="stopping", metric=metric, mode=mode)


class TestInOrderASHA(SchedulerTestCase):
    """AutoML's ASHA over folds: raymlx's stopping ASHA, leaving pending trials to Tune."""

    def make_scheduler(self, metric=None, mode=None):
        return InOrderASHAScheduler(max_t=9, variant="stopping", metric=metric, mode=mode)


class TestBOHB(SchedulerTestCase):
    def make_scheduler(self, metric=None, mode=None):
        searcher = BOHBSearch(metric=metric, mode=mode, seed=0,
                              space={"x": tune.uniform(0, 1)})
        return BOHBScheduler(max_t=9, metric=metric, mode=mode, searcher=searcher)


class TestPBT(SchedulerTestCase):
    def make_scheduler(self, metric=None, mode=None):
        return PBTScheduler(perturbation_interval=2, hyperparam_mutations={
            "x": tune.uniform(0, 1)}, seed=0, metric=metric, mode=mode)


FACTORIES = [TestSuccessiveHalving, TestHyperband, TestASHAPromotion, TestASHAStopping,
             TestInOrderASHA, TestBOHB, TestPBT]


@pytest.mark.parametrize("case", FACTORIES, ids=lambda c: c.__name__[4:])
def test_without_metric_and_mode_a_scheduler_fails_clearly(case):
    make = case().make_scheduler
    with pytest.raises(InputError, match="needs metric and mode"):
        make()._check_ready()
    with pytest.raises(InputError, match="'best'"):
        make(mode="best")


@pytest.mark.parametrize("make", [
    lambda: HyperbandScheduler(time_attr=None),
    lambda: ASHAScheduler(time_attr=None),
    lambda: SuccessiveHalvingScheduler(time_attr=None),
    lambda: PBTScheduler(time_attr=None, hyperparam_mutations={"x": [1, 2]}),
])
def test_time_attr_must_be_a_reported_key(make):
    with pytest.raises(InputError, match="time_attr"):
        make()
