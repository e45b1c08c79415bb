"""Grid search: every point of the grid exactly once, in a fixed order.

Lists (``tune.choice``, ``tune.grid_search``) contribute their values; numeric domains are
discretised by ``resolution`` points (every integer when a range has at most that many,
log-spaced for log domains); a choice between sub-spaces contributes the union of their
grids. After ``points_to_evaluate`` the grid is walked once, then the search is FINISHED.
"""

from __future__ import annotations

from ray.tune.search import Searcher

from raymlx._internal.validation import check_int
from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.space import grid_points


class GridSearch(SpaceSearcher):
    """Each grid point once (``seed`` is accepted for the common signature; order is fixed)."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, resolution: int = 5) -> None:
        check_int("resolution", resolution, 2)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.resolution = resolution
        self._grid: list | None = None
        self._next = 0

    def grid_size(self) -> int:
        if self._grid is None:
            self._grid = grid_points(self._space, self.resolution)
        return len(self._grid)

    def _propose(self, trial_id: str):
        if self._next >= self.grid_size():
            return Searcher.FINISHED
        assert self._grid is not None  # built by grid_size()
        point = self._grid[self._next]
        self._next += 1
        return point
