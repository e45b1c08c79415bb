"""GridSearch: every grid point exactly once, then FINISHED."""

import itertools

import pytest
from ray import tune
from ray.tune.search import Searcher

from raymlx import InputError
from raymlx.searchers import GridSearch


def _all(space, **kw):
    s = GridSearch(metric="loss", mode="min", **kw)
    s.set_search_properties("loss", "min", space)
    out = []
    while isinstance(cfg := s.suggest(str(len(out))), dict):
        out.append(cfg)
    assert cfg == Searcher.FINISHED
    return out


def test_cartesian_product_of_lists_each_point_once():
    space = {"a": tune.choice([1, 2, 3]), "b": tune.grid_search(["x", "y"]), "c": 7}
    points = _all(space)
    expected = [{"a": a, "b": b, "c": 7} for a, b in itertools.product([1, 2, 3], ["x", "y"])]
    assert points == expected


def test_numeric_domains_are_discretised_by_resolution():
    points = _all({"lr": tune.loguniform(1e-4, 1e-1), "n": tune.randint(1, 4)}, resolution=4)
    lrs = sorted({p["lr"] for p in points})
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])  # log-spaced, bounds included
    assert sorted({p["n"] for p in points}) == [1, 2, 3]  # randint's upper bound excluded
    assert len(points) == 4 * 3 == len({tuple(sorted(p.items())) for p in points})


def test_conditional_space_is_the_union_of_sub_grids():
    space = {"model": tune.choice([
        {"family": "gbm", "params": {"depth": tune.choice([3, 6])}},
        {"family": "knn", "params": {"k": tune.choice([5, 10, 20])}},
    ])}
    points = _all(space)
    assert len(points) == 2 + 3
    assert [p["model"]["family"] for p in points] == ["gbm"] * 2 + ["knn"] * 3


def test_points_to_evaluate_come_before_the_grid():
    first = {"a": 99}
    assert _all({"a": tune.choice([1, 2])}, points_to_evaluate=[first]) == [first, {"a": 1},
                                                                           {"a": 2}]


def test_resolution_is_checked():
    with pytest.raises(InputError, match="resolution=1 is invalid"):
        GridSearch(resolution=1)
