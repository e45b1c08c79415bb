"""Every raymlx searcher through the shared contract of conformance.py."""

import pytest

from raymlx.searchers import (
    BOHBSearch,
    EvolutionSearch,
    GPSearch,
    GridSearch,
    RandomSearch,
    RLSearch,
    TPESearch,
)
from tests.searchers import conformance as c

FACTORIES = {
    "random": lambda seed=None, points_to_evaluate=None: RandomSearch(
        seed=seed, points_to_evaluate=points_to_evaluate),
    "grid": lambda seed=None, points_to_evaluate=None: GridSearch(
        seed=seed, points_to_evaluate=points_to_evaluate, resolution=2),
    "evolution": lambda seed=None, points_to_evaluate=None: EvolutionSearch(
        seed=seed, points_to_evaluate=points_to_evaluate, population_size=8, sample_size=3),
    "tpe": lambda seed=None, points_to_evaluate=None: TPESearch(
        seed=seed, points_to_evaluate=points_to_evaluate, n_startup=8),
    "tpe_independent": lambda seed=None, points_to_evaluate=None: TPESearch(
        seed=seed, points_to_evaluate=points_to_evaluate, n_startup=8, multivariate=False),
    "gp": lambda seed=None, points_to_evaluate=None: GPSearch(
        seed=seed, points_to_evaluate=points_to_evaluate, n_startup=8, n_candidates=100),
    "rl": lambda seed=None, points_to_evaluate=None: RLSearch(
        seed=seed, points_to_evaluate=points_to_evaluate),
    "bohb": lambda seed=None, points_to_evaluate=None: BOHBSearch(
        seed=seed, points_to_evaluate=points_to_evaluate, random_fraction=0.2),
}


@pytest.fixture(params=list(FACTORIES))
def make(request):
    return FACTORIES[request.param]


def test_constructor_contract(make):
    c.check_constructor_contract(make)


def test_valid_suggestions(make):
    c.check_valid_suggestions(make)


def test_points_to_evaluate_first(make):
    c.check_points_to_evaluate_first(make)


def test_seeded_reproducibility(make):
    c.check_seeded_reproducibility(make)


def test_save_restore(make, tmp_path):
    c.check_save_restore(make, tmp_path)


def test_asynchronous_suggestions(make):
    c.check_asynchronous(make)


def test_failed_and_metricless_trials(make):
    c.check_failures_tolerated(make)


def test_plain_tuner(make, ray_session):
    c.check_plain_tuner(make)
