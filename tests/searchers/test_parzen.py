"""The multivariate Parzen estimator: proper densities, unused dimensions, bandwidth rule."""

import numpy as np
import pytest

from raymlx.searchers.parzen import MixedParzenEstimator, neighbour_widths, recency_weights


def test_numeric_density_integrates_to_one_and_peaks_at_the_data():
    est = MixedParzenEstimator(np.array([[0.2], [0.25], [0.9]]), np.ones(3), np.array([0]))
    grid = np.linspace(0, 1, 20001)[:, None]
    pdf = np.exp(est.log_pdf(grid))
    assert np.trapezoid(pdf, grid[:, 0]) == pytest.approx(1.0, abs=1e-3)
    assert pdf[np.argmin(np.abs(grid[:, 0] - 0.22))] > pdf[np.argmin(np.abs(grid[:, 0] - 0.6))]


def test_categorical_probabilities_sum_to_one_and_favour_the_observed():
    est = MixedParzenEstimator(np.array([[2.0], [2.0], [0.0]]), np.ones(3), np.array([4]))
    probs = np.exp(est.log_pdf(np.arange(4.0)[:, None]))
    assert probs.sum() == pytest.approx(1.0)
    assert probs[2] > probs[0] > probs[1] == pytest.approx(probs[3])


def test_a_dimension_an_observation_does_not_use_is_uniform_and_unscored():
    X = np.array([[0, 0.1, np.nan], [1, np.nan, 0.8]])
    est = MixedParzenEstimator(X, np.ones(2), np.array([2, 0, 0]))
    # a candidate that uses only dimensions 0 and 1 is scored on those
    a = est.log_pdf(np.array([[0, 0.1, np.nan]]))
    b = est.log_pdf(np.array([[0, 0.1, 0.0]]))
    assert np.isfinite(a).all() and not np.isclose(a, b)
    near = np.array([[1, np.nan, 0.78], [1, np.nan, 0.8], [1, np.nan, 0.82]])
    draws = MixedParzenEstimator(near, np.ones(3), np.array([2, 0, 0]), prior_weight=1e-9)
    s = draws.sample(np.random.default_rng(0), 4000)
    assert abs(s[:, 1].mean() - 0.5) < 0.03  # unused by every observation: uniform
    # used: kernels of width 1 / min(100, 3 + 2) = 0.2 around 0.8, truncated at 1
    assert abs(s[:, 2].mean() - 0.8) < 0.1 and (s[:, 0] == 1).mean() > 0.99


def test_samples_follow_the_density():
    est = MixedParzenEstimator(np.array([[0.3, 1.0]]), np.ones(1), np.array([0, 3]))
    s = est.sample(np.random.default_rng(0), 20000)
    grid = np.linspace(0, 1, 2001)
    pdf = np.exp(est.log_pdf(np.column_stack([grid, np.full_like(grid, np.nan)])))
    assert s[:, 0].mean() == pytest.approx(np.trapezoid(grid * pdf, grid), abs=0.01)
    cat = np.exp(est.log_pdf(np.column_stack([np.full(3, np.nan), np.arange(3.0)])))
    assert np.bincount(s[:, 1].astype(int), minlength=3) / len(s) == pytest.approx(cat, abs=0.01)


def test_neighbour_widths_and_the_magic_clip():
    # sorted 0.1, 0.2, 0.5: the extremes use their inner gap, the middle its larger gap
    w = neighbour_widths(np.array([0.5, 0.1, 0.2]), n_kernels=99)
    assert w == pytest.approx([0.3, 0.1, 0.3])
    # with 4 kernels the floor is 1 / min(100, 5) = 0.2: the narrow width of 0.1 is raised
    w = neighbour_widths(np.array([0.5, 0.1, 0.2]), n_kernels=4)
    assert w == pytest.approx([0.3, 0.2, 0.3])
    assert neighbour_widths(np.array([0.5, 0.5]), n_kernels=3).min() == pytest.approx(1 / 4)


def test_recency_weights_ramp_the_oldest():
    assert (recency_weights(10) == 1).all()
    w = recency_weights(50)
    assert (w[-25:] == 1).all() and w[0] == pytest.approx(1 / 50) and (np.diff(w) >= 0).all()
