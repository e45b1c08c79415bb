"""Caruana et al. (2004) greedy selection with replacement, on cases worked out by hand."""

import numpy as np
import pytest

from raymlx.tabular.ensembles.selection import greedy_ensemble_selection


def _mse(y, p):
    return float(np.mean((y - p) ** 2))


def test_picks_with_replacement_to_reach_two_to_one_weights():
    y = np.zeros(4)
    a, b, c = y + 1.0, y - 2.0, y + 5.0  # errors +1, -2, +5: 2/3 a + 1/3 b is exact
    sel = greedy_ensemble_selection([a, b, c], y, _mse, mode="min", n_iterations=6)
    np.testing.assert_allclose(sel.weights, [2 / 3, 1 / 3, 0.0])
    assert sel.score == pytest.approx(0.0)
    # step 1 takes a (mse 1), step 2 adds b (mean error -0.5), step 3 adds a again (exact)
    assert sel.trajectory[:3] == pytest.approx([1.0, 0.25, 0.0])


def test_returns_the_best_ensemble_along_the_way_not_the_last():
    y = np.zeros(3)
    a, b = y + 1.0, y - 1.0
    sel = greedy_ensemble_selection([a, b], y, _mse, mode="min", n_iterations=5)
    # after 2 steps (a, b) the error is 0; later steps can only make it worse
    np.testing.assert_allclose(sel.weights, [0.5, 0.5])
    assert sel.score == 0.0 and max(sel.trajectory) > 0.0


def test_ties_go_to_the_first_model_and_max_mode_works():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.1, 0.9, 0.8, 0.2])
    acc = lambda yt, pr: float(np.mean((pr > 0.5) == yt))  # noqa: E731
    sel = greedy_ensemble_selection([p, p.copy()], y, acc, mode="max", n_iterations=3)
    assert sel.weights[0] == 1.0 and sel.score == 1.0


def test_needs_at_least_one_model():
    with pytest.raises(ValueError):
        greedy_ensemble_selection([], np.zeros(2), _mse)
