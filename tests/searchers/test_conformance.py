"""Every raymlx searcher through the shipped contract, ``raymlx.testing.SearcherTestCase``."""

from raymlx.searchers import (
    BOHBSearch,
    EvolutionSearch,
    GPSearch,
    GridSearch,
    PointsFirst,
    RandomSearch,
    RLSearch,
    TPESearch,
)
from raymlx.testing import SearcherTestCase


class TestRandomSearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return RandomSearch(seed=seed, points_to_evaluate=points_to_evaluate)


class TestGridSearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return GridSearch(seed=seed, points_to_evaluate=points_to_evaluate, resolution=2)


class TestEvolutionSearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return EvolutionSearch(seed=seed, points_to_evaluate=points_to_evaluate,
                               population_size=8, sample_size=3)


class TestTPESearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return TPESearch(seed=seed, points_to_evaluate=points_to_evaluate, n_startup=8)


class TestIndependentTPESearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return TPESearch(seed=seed, points_to_evaluate=points_to_evaluate, n_startup=8,
                         multivariate=False)


class TestGPSearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return GPSearch(seed=seed, points_to_evaluate=points_to_evaluate, n_startup=8,
                        n_candidates=100)


class TestRLSearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return RLSearch(seed=seed, points_to_evaluate=points_to_evaluate)


class TestBOHBSearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return BOHBSearch(seed=seed, points_to_evaluate=points_to_evaluate,
                          random_fraction=0.2)


class TestPointsFirstAroundTPE(SearcherTestCase):
    """The wrapper AutoML puts around a user's searcher instance: its points run first
    and the wrapped searcher learns their results."""

    def make_searcher(self, seed=None, points_to_evaluate=None):
        return PointsFirst(TPESearch(seed=seed, n_startup=8), points_to_evaluate or [])
