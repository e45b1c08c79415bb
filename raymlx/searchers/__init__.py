"""Tune searchers of raymlx; each works inside a plain ``tune.Tuner``.

All share :class:`~raymlx.searchers.base.SpaceSearcher`'s contract and pass the conformance
suite in ``tests/searchers/conformance.py``.
"""

from raymlx.searchers.bohb import BOHBSearch
from raymlx.searchers.evolution import EvolutionSearch
from raymlx.searchers.gp import GPSearch
from raymlx.searchers.grid_search import GridSearch
from raymlx.searchers.random_search import RandomSearch
from raymlx.searchers.rl import RLSearch
from raymlx.searchers.tpe import TPESearch

__all__ = ["BOHBSearch", "EvolutionSearch", "GPSearch", "GridSearch", "RLSearch", "RandomSearch",
           "TPESearch"]
