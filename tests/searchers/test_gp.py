"""GPSearch: expected improvement, encodings of conditional spaces, and search quality."""

import numpy as np
import pytest
from ray import tune

from raymlx import InputError
from raymlx.searchers import GPSearch, RandomSearch
from raymlx.searchers.encoding import INACTIVE, SpaceEncoder
from raymlx.searchers.gp import expected_improvement
from tests.searchers.test_tpe import _best


def test_expected_improvement_matches_monte_carlo():
    rng = np.random.default_rng(0)
    for mu, sigma, best in [(0.3, 0.5, 0.1), (-1.0, 2.0, 0.0), (2.0, 0.1, 1.5)]:
        draws = rng.normal(mu, sigma, 1_000_000)
        mc = np.mean(np.maximum(best - draws, 0.0))
        ei = expected_improvement(np.array([mu]), np.array([sigma]), best)[0]
        assert abs(ei - mc) < 1e-3 * max(1.0, sigma)


def test_encoding_scales_logs_and_switches_off_inactive_leaves():
    space = {"lr": tune.loguniform(1e-4, 1e-0),
             "model": tune.choice([{"k": tune.randint(1, 11)}, {"depth": tune.uniform(0, 4)}])}
    enc = SpaceEncoder(space)
    assert enc.n_dims == 1 + 2 + 1 + 1
    x = enc.encode({"lr": 1e-2, "model": {"k": 1}})
    lr, onehot, k, depth = x[0], x[1:3], x[3], x[4]
    assert lr == pytest.approx(0.5)  # 1e-2 is half way between 1e-4 and 1 in log space
    assert list(onehot) == [1.0, 0.0] and k == 0.0 and depth == INACTIVE


def test_gp_beats_random_on_a_six_dimensional_sphere_across_seeds():
    space = {f"x{i}": tune.uniform(-10, 10) for i in range(6)}
    f = lambda c: sum((c[f"x{i}"] - i) ** 2 for i in range(6))  # noqa: E731
    gp = [_best(GPSearch(seed=s, n_startup=8, n_candidates=300), space, f, 40)
          for s in range(3)]
    rnd = [_best(RandomSearch(seed=s), space, f, 40) for s in range(3)]
    assert np.median(gp) < np.median(rnd) / 3


def test_arguments_are_checked():
    with pytest.raises(InputError, match="n_startup=1 is invalid"):
        GPSearch(n_startup=1)


def test_the_surrogate_is_sklearns_gp_likelihood_gradient_and_predictions():
    """gp_model.MaternGP is sklearn's ConstantKernel * Matern(5/2) + WhiteKernel with
    normalize_y, computed faster: same log marginal likelihood and gradient at any
    hyperparameters, and the same predictive mean and standard deviation once fitted."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    from raymlx.searchers.gp_model import MaternGP

    rng = np.random.default_rng(0)
    X = rng.random((60, 5))
    y = np.sin(5 * X).sum(axis=1) + rng.normal(0, 0.1, 60)
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        length_scale=np.full(5, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
    ) + WhiteKernel(1e-4, (1e-8, 1e-1))
    theirs = GaussianProcessRegressor(kernel=kernel, normalize_y=True, optimizer=None).fit(X, y)
    ours = MaternGP(5)
    ours._prepare(X, y)
    for theta in [kernel.theta, rng.uniform(-3, 3, 7)]:
        value, grad = theirs.log_marginal_likelihood(theta, eval_gradient=True)
        mine, my_grad = ours.log_likelihood(theta)
        assert mine == pytest.approx(value, rel=1e-10)
        np.testing.assert_allclose(my_grad, grad, rtol=1e-8, atol=1e-8)
    ours.fit(X, y, rng)
    fitted = GaussianProcessRegressor(kernel=kernel.clone_with_theta(ours.theta),
                                      normalize_y=True, optimizer=None).fit(X, y)
    Xs = rng.random((20, 5))
    mu, sd = fitted.predict(Xs, return_std=True)
    my_mu, my_sd = ours.predict(Xs)
    np.testing.assert_allclose(my_mu, mu, atol=1e-9)
    np.testing.assert_allclose(my_sd, sd, atol=1e-9)
    assert ours.log_likelihood(ours.theta)[0] >= theirs.log_marginal_likelihood(kernel.theta)


def test_the_surrogate_takes_constant_and_duplicated_observations():
    from raymlx.searchers.gp_model import MaternGP

    rng = np.random.default_rng(1)
    X = np.repeat(rng.random((5, 3)), 4, axis=0)  # every point four times
    model = MaternGP(3).fit(X, np.full(20, 0.1), rng)
    mu, sd = model.predict(rng.random((7, 3)))
    np.testing.assert_allclose(mu, 0.1, atol=1e-9)
    assert np.isfinite(sd).all()
