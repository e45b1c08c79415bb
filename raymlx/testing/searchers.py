"""The contract every Tune searcher of raymlx meets, for a third party's searcher too.

Subclass :class:`SearcherTestCase` in a test module (its name must start with ``Test`` for
pytest to collect it) and implement ``make_searcher``::

    from raymlx.testing import SearcherTestCase

    class TestMySearcher(SearcherTestCase):
        def make_searcher(self, seed=None, points_to_evaluate=None):
            return MySearcher(seed=seed, points_to_evaluate=points_to_evaluate)

Every ``check_*`` function also runs on its own, with a factory
``make(seed=..., points_to_evaluate=...) -> Searcher``; it raises ``AssertionError`` on a
breach. Covered: Tune's constructor and ``set_search_properties`` contract; suggestions
inside the space (conditional choices resolved, no Domain left, bounds, quantization steps,
Python ``int``/``float`` values, not numpy scalars); one-point domains; ``points_to_evaluate``
first; seeded reproducibility; ``save``/``restore`` continuing the same sequence; several
pending trials completing out of order; failed and metric-less trials; a run inside a plain
``tune.Tuner`` (which starts a local Ray instance if none is running).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from ray import tune
from ray.tune.search import Searcher
from ray.tune.search.sample import Categorical, Domain, Float, Integer

Factory = Callable[..., Searcher]

SPACE = {
    "x": tune.uniform(-5.0, 10.0),
    "lr": tune.loguniform(1e-4, 1e-1),
    "q": tune.quniform(0.0, 1.0, 0.25),
    "n": tune.randint(1, 8),
    "width": tune.lograndint(8, 256),
    "act": tune.choice(["relu", "tanh"]),
    "model": tune.choice([
        {"family": "gbm",
         "params": {"leaves": tune.randint(4, 64), "eta": tune.uniform(0.01, 0.3)}},
        {"family": "knn", "params": {"k": tune.randint(1, 30)}},
    ]),
    "nested": {"depth": tune.randint(1, 4), "const": "keep"},
}

# a space whose decisions are all fixed but one, and one on integer and real steps
ONE_POINT_SPACE = {
    "c": tune.uniform(2.0, 2.0),
    "k": tune.randint(3, 4),
    "w": tune.lograndint(8, 9),
    "s": tune.choice(["only"]),
    "free": tune.uniform(0.0, 1.0),
}
STEP_SPACE = {
    "n": tune.qrandint(0, 20, 5),
    "f": tune.quniform(-1.0, 1.0, 0.25),
    "m": tune.qrandint(2, 12, 2),
    "u": tune.uniform(0.0, 1.0),
}


def objective(cfg: dict) -> float:
    """A deterministic loss over :data:`SPACE` (lower is better)."""
    loss = (cfg["x"] - 2.0) ** 2 + abs(math.log10(cfg["lr"]) + 2.0) + cfg["n"] * 0.1
    p = cfg["model"]["params"]
    loss += (p["leaves"] - 30) ** 2 / 100 if cfg["model"]["family"] == "gbm" else p["k"] / 10
    return loss + (cfg["act"] == "tanh") + cfg["nested"]["depth"] * 0.01


def _matches(space: Any, value: Any) -> bool:
    try:
        assert_in_space(space, value)
    except AssertionError:
        return False
    return True


def assert_in_space(space: Any, config: Any, where: str = "config") -> None:
    """``config`` is a configuration of ``space``: every Domain resolved to a value of its
    type (Python ``float`` for a Float, ``int`` for an Integer) within its bounds and on
    its quantization step, every choice one of its categories, constants kept."""
    if isinstance(space, Categorical):
        assert any(_matches(c, config) for c in space.categories), \
            f"{where}={config!r} is none of the choice's categories {space.categories!r}"
    elif isinstance(space, Float):
        assert type(config) is float, f"{where}={config!r} is {type(config).__name__}, not float"
        assert space.lower <= config <= space.upper, f"{where}={config!r} is out of bounds"
        q = getattr(space.get_sampler(), "q", None)
        if q:
            assert abs(config / q - round(config / q)) < 1e-6, f"{where}={config!r} is off step {q}"
    elif isinstance(space, Integer):
        assert type(config) is int, f"{where}={config!r} is {type(config).__name__}, not int"
        q = getattr(space.get_sampler(), "q", None)
        top = space.upper if q else space.upper - 1  # qrandint includes its upper bound
        assert space.lower <= config <= top, f"{where}={config!r} is out of bounds"
        if q:
            assert config % q == 0, f"{where}={config!r} is off step {q}"
    elif isinstance(space, Domain):  # sample_from and other callables: any value
        return
    elif isinstance(space, dict):
        assert isinstance(config, dict) and set(config) == set(space), \
            f"{where} has keys {sorted(config) if isinstance(config, dict) else config!r}, " \
            f"not {sorted(space)}"
        for k, v in space.items():
            assert_in_space(v, config[k], f"{where}[{k!r}]")
    elif isinstance(space, list):
        assert isinstance(config, list) and len(config) == len(space), f"{where} is {config!r}"
        for i, v in enumerate(space):
            assert_in_space(v, config[i], f"{where}[{i}]")
    else:
        assert config == space and type(config) is type(space), \
            f"{where}={config!r}: the constant {space!r} was changed"


def check_valid(cfg: dict) -> None:
    """``cfg`` is a configuration of :data:`SPACE`."""
    assert_in_space(SPACE, cfg)


def _ready(make: Factory, space: dict = SPACE, **kw) -> Searcher:
    s = make(**kw)
    assert s.set_search_properties("loss", "min", space) is True
    return s


def run_sequential(s: Searcher, n: int, start: int = 0,
                   loss: Callable[[dict], float] = objective) -> list[dict]:
    """``n`` trials one after the other; the configurations suggested."""
    out = []
    for i in range(start, start + n):
        cfg = s.suggest(f"t{i}")
        if cfg is None or cfg == Searcher.FINISHED:
            break
        out.append(cfg)
        s.on_trial_complete(f"t{i}", result={"loss": loss(cfg)})
    return out


def check_constructor_contract(make: Factory) -> None:
    s = make(seed=0, points_to_evaluate=None)
    assert isinstance(s, Searcher)
    assert s.set_search_properties("loss", "min", SPACE) is True
    assert s.metric == "loss" and s.mode == "min"


def check_valid_suggestions(make: Factory, n: int = 40) -> None:
    suggested = run_sequential(_ready(make, seed=1), n)
    assert suggested, "the searcher suggested nothing"
    for cfg in suggested:
        check_valid(cfg)


def check_one_point_domains(make: Factory, n: int = 30) -> None:
    """Domains with one value (``uniform(2, 2)``, ``randint(3, 4)``, a one-category
    choice) always give that value, before and after the model takes over."""
    def loss(cfg: dict) -> float:
        return (cfg["free"] - 0.3) ** 2

    suggested = run_sequential(_ready(make, ONE_POINT_SPACE, seed=2), n, loss=loss)
    assert suggested, "the searcher suggested nothing"
    for cfg in suggested:
        assert_in_space(ONE_POINT_SPACE, cfg)
        assert (cfg["c"], cfg["k"], cfg["w"], cfg["s"]) == (2.0, 3, 8, "only"), cfg


def check_integer_steps(make: Factory, n: int = 30) -> None:
    """Quantized domains (``qrandint``, ``quniform``) stay on their steps and bounds."""
    def loss(cfg: dict) -> float:
        return abs(cfg["n"] - 10) + abs(cfg["f"] - 0.5) + abs(cfg["m"] - 6) + cfg["u"]

    suggested = run_sequential(_ready(make, STEP_SPACE, seed=3), n, loss=loss)
    assert suggested, "the searcher suggested nothing"
    for cfg in suggested:
        assert_in_space(STEP_SPACE, cfg)


def check_points_to_evaluate_first(make: Factory) -> None:
    point = run_sequential(_ready(make, seed=9), 1)[0]
    s = _ready(make, seed=0, points_to_evaluate=[dict(point)])
    assert s.suggest("p0") == point


def check_seeded_reproducibility(make: Factory, n: int = 30) -> None:
    a = run_sequential(_ready(make, seed=3), n)
    b = run_sequential(_ready(make, seed=3), n)
    assert a == b and len(a) > 0


def check_save_restore(make: Factory, folder: str, n: int = 25) -> None:
    """A searcher restored from ``save`` suggests what the original would have."""
    import os

    s = _ready(make, seed=4)
    run_sequential(s, n)
    path = os.path.join(folder, "searcher.pkl")
    s.save(path)
    expected = run_sequential(s, 10, start=n)
    fresh = make(seed=123)
    fresh.restore(path)
    assert run_sequential(fresh, 10, start=n) == expected


def check_asynchronous(make: Factory) -> None:
    s = _ready(make, seed=5)
    run_sequential(s, 12)
    pending = {f"a{i}": s.suggest(f"a{i}") for i in range(6)}  # six trials in flight
    for cfg in pending.values():
        if cfg not in (None, Searcher.FINISHED):
            check_valid(cfg)
    for tid in reversed(list(pending)):  # completing out of order
        cfg = pending[tid]
        if isinstance(cfg, dict):
            s.on_trial_complete(tid, result={"loss": objective(cfg)})
    for cfg in run_sequential(s, 5, start=100):
        check_valid(cfg)


def check_failures_tolerated(make: Factory) -> None:
    s = _ready(make, seed=6)
    for i in range(15):
        cfg = s.suggest(f"f{i}")
        if not isinstance(cfg, dict):
            break
        if i % 3 == 0:
            s.on_trial_complete(f"f{i}", result=None, error=True)
        elif i % 3 == 1:
            s.on_trial_complete(f"f{i}", result={"other": 1.0})
        else:
            s.on_trial_complete(f"f{i}", result={"loss": float("nan")})
    s.on_trial_complete("never-suggested", result={"loss": 1.0})
    run_sequential(s, 5, start=50)


def check_plain_tuner(make: Factory, num_samples: int = 8) -> None:
    """The searcher drives a plain ``tune.Tuner`` (2 trials at a time) with no raymlx
    around it; Ray must be running."""
    def trainable(config):
        tune.report({"loss": objective(config)})

    tuner = tune.Tuner(
        trainable, param_space=SPACE,
        tune_config=tune.TuneConfig(search_alg=make(seed=0, points_to_evaluate=None),
                                    metric="loss", mode="min", num_samples=num_samples,
                                    max_concurrent_trials=2, reuse_actors=True),
        run_config=tune.RunConfig(verbose=0),
    )
    grid = tuner.fit()
    assert not grid.errors and len(grid) >= 1
    for i in range(len(grid)):
        check_valid(grid[i].config or {})


def ensure_local_ray() -> None:
    """Starts a local Ray instance (2 CPUs) unless one is running."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)


class SearcherTestCase:
    """The whole contract as pytest tests; subclass it and implement ``make_searcher``."""

    def make_searcher(self, seed: int | None = None,
                      points_to_evaluate: list[dict] | None = None) -> Searcher:
        raise NotImplementedError("implement make_searcher(seed, points_to_evaluate)")

    @pytest.fixture
    def ray_running(self) -> None:
        """A running Ray instance for the Tuner test (started if there is none)."""
        ensure_local_ray()

    def test_constructor_contract(self) -> None:
        check_constructor_contract(self.make_searcher)

    def test_valid_suggestions(self) -> None:
        check_valid_suggestions(self.make_searcher)

    def test_one_point_domains(self) -> None:
        check_one_point_domains(self.make_searcher)

    def test_integer_steps(self) -> None:
        check_integer_steps(self.make_searcher)

    def test_points_to_evaluate_first(self) -> None:
        check_points_to_evaluate_first(self.make_searcher)

    def test_seeded_reproducibility(self) -> None:
        check_seeded_reproducibility(self.make_searcher)

    def test_save_restore(self, tmp_path) -> None:
        check_save_restore(self.make_searcher, str(tmp_path))

    def test_asynchronous_suggestions(self) -> None:
        check_asynchronous(self.make_searcher)

    def test_failed_and_metricless_trials(self) -> None:
        check_failures_tolerated(self.make_searcher)

    def test_plain_tuner(self, ray_running) -> None:
        check_plain_tuner(self.make_searcher)
