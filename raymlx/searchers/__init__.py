"""Tune searchers of raymlx; each works inside a plain ``tune.Tuner``.

All share :class:`~raymlx.searchers.base.SpaceSearcher`'s contract and pass the conformance
suite a third-party searcher can run too, :class:`raymlx.testing.SearcherTestCase`.
:class:`PointsFirst` runs a list of configurations before any Tune searcher's own.
"""

from raymlx.searchers.bohb import BOHBSearch
from raymlx.searchers.evolution import EvolutionSearch
from raymlx.searchers.gp import GPSearch
from raymlx.searchers.grid_search import GridSearch
from raymlx.searchers.points_first import PointsFirst
from raymlx.searchers.random_search import RandomSearch
from raymlx.searchers.rl import RLSearch
from raymlx.searchers.tpe import TPESearch

__all__ = ["BOHBSearch", "EvolutionSearch", "GPSearch", "GridSearch", "PointsFirst", "RLSearch",
           "RandomSearch", "TPESearch"]
