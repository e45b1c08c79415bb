"""GPSearch: expected improvement, encodings of conditional spaces, and search quality."""

import numpy as np
import pytest
from ray import tune

from raymlx import InputError
from raymlx.searchers import GPSearch, RandomSearch
from raymlx.searchers.encoding import INACTIVE, SpaceEncoder
from raymlx.searchers.gp_acquisition import expected_improvement
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
    ours = MaternGP(5, prior=False)  # maximum likelihood, as sklearn fits
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


def test_the_kriging_believer_keeps_the_fit_and_the_mean_and_shrinks_pending_variance():
    """A pending point enters as the GP's own mean there: the hyperparameters and the mean
    everywhere stay those of the real observations, the variance at the point drops to
    about the noise, and it drops less far away."""
    from raymlx.searchers.gp_model import MaternGP

    rng = np.random.default_rng(2)
    X = rng.random((30, 4))
    y = np.cos(4 * X).sum(axis=1)
    gp = MaternGP(4).fit(X, y, rng)
    theta = gp.theta.copy()
    pending = rng.random((3, 4))
    believer = gp.with_fantasies(pending)
    np.testing.assert_array_equal(believer.theta, theta)
    probe = np.vstack([pending, rng.random((50, 4))])
    mu, sd = gp.predict(probe)
    mu_b, sd_b = believer.predict(probe)
    np.testing.assert_allclose(mu_b, mu, atol=1e-6 * np.abs(y).max())
    noise_sd = np.sqrt(np.exp(theta[-1])) * gp.y_std
    # predict's sd includes the noise: at a believed point it falls to about that floor
    assert (sd_b[:3] <= 1.5 * noise_sd).all() and (sd_b[:3] < sd[:3]).all()
    assert (sd_b <= sd + 1e-9).all()
    assert len(gp.X) == 30  # the fitted model itself is untouched


def test_pending_ei_is_the_batch_improvement_under_the_joint_posterior():
    """PendingEI(x) + E[I_P] equals E[max(0, f* - min(f(P), f(x)))], the expected
    improvement of the batch {running trials, x}, estimated here by sampling the joint
    posterior of the function at all of them directly."""
    from raymlx.searchers.gp_acquisition import PendingEI
    from raymlx.searchers.gp_model import MaternGP

    rng = np.random.default_rng(3)
    X = rng.random((25, 2))
    y = ((X - 0.4) ** 2).sum(axis=1)
    gp = MaternGP(2).fit(X, y, rng)
    best = float(y.min())
    P = rng.random((2, 2))
    acq = PendingEI(gp, best, P, n_draws=4096)
    for x in rng.random((4, 2)):
        pts = np.vstack([P, x])
        Kx = gp.kernel(gp.X, pts)
        mean = (Kx.T @ gp.alpha) * gp.y_std + gp.y_mean
        V = np.linalg.solve(gp.L, Kx)
        cov = (gp.kernel(pts, pts) - V.T @ V) * gp.y_std ** 2  # of the latent function
        draws = rng.multivariate_normal(mean, cov, size=200_000)
        batch = np.maximum(best - draws.min(axis=1), 0).mean()
        pending_only = np.maximum(best - draws[:, :2].min(axis=1), 0).mean()
        assert acq(x[None, :])[0] + pending_only == pytest.approx(batch, rel=0.03, abs=1e-5)


def test_pending_ei_is_plain_ei_far_from_pending_points_and_none_on_them():
    from raymlx.searchers.gp_acquisition import PendingEI, expected_improvement
    from raymlx.searchers.gp_model import MaternGP

    rng = np.random.default_rng(4)
    X = rng.random((30, 3)) * 0.5  # observations in one corner
    y = ((X - 0.25) ** 2).sum(axis=1)
    gp = MaternGP(3).fit(X, y, rng)
    best = float(y.min())
    x_star = X[np.argmin(y)] + 0.01
    acq = PendingEI(gp, best, x_star[None, :], n_draws=1024)
    mu, sd = gp.predict(x_star[None, :], include_noise=False)
    plain = expected_improvement(mu, sd, best)[0]
    assert acq(x_star[None, :])[0] < 0.2 * plain  # on a running trial: little left to gain
    far = np.array([[0.95, 0.95, 0.95]])  # uncorrelated with the corner: EI unchanged
    mu, sd = gp.predict(far, include_noise=False)
    assert acq(far)[0] == pytest.approx(expected_improvement(mu, sd, best)[0], rel=0.05)


def _batch_of_four(rule: str, forget_pending: bool = False) -> np.ndarray:
    space = {f"x{i}": tune.uniform(0, 1) for i in range(3)}
    s = GPSearch(metric="loss", mode="min", seed=0, n_startup=5, n_refine=3, pending=rule)
    s.set_search_properties("loss", "min", space)
    for i in range(15):
        c = s.suggest(str(i))
        s.on_trial_complete(str(i), {"loss": sum((c[k] - 0.3) ** 2 for k in c)})
    batch = []
    for i in range(4):  # none finishes: each suggestion sees the earlier ones running
        batch.append(s.suggest(f"p{i}"))
        if forget_pending:
            s._live.clear()
    return np.array([[c[k] for k in sorted(c)] for c in batch])


def _min_gap(X: np.ndarray) -> float:
    return min(np.linalg.norm(X[i] - X[j]) for i in range(len(X)) for j in range(i))


def test_parallel_suggestions_spread_out():
    """Four suggestions from the same model: blind to the running ones, some coincide; with
    the running trials as fantasies (or as lies) they are all distinct."""
    assert _min_gap(_batch_of_four("fantasies", forget_pending=True)) < 1e-3
    assert _min_gap(_batch_of_four("fantasies")) > 5e-3
    assert _min_gap(_batch_of_four("liar")) > 5e-3
