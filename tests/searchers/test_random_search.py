"""RandomSearch: portfolio points first, nested choices resolved, seeded, resumable."""

import time

import pytest
from ray import tune
from ray.tune.search import Searcher

from raymlx.searchers import RandomSearch
from raymlx.searchers.deadline import StopAt
from raymlx.searchers.space import has_domains

SPACE = {
    "model": tune.choice([
        {"family": "gbm", "params": {"lr": tune.loguniform(1e-3, 1e-1),
                                     "leaves": tune.lograndint(4, 256)}},
        {"family": "knn", "params": {"k": tune.randint(1, 50)}},
    ]),
    "fixed": 3,
}


def _searcher(seed=0, points=None):
    s = RandomSearch(metric="loss", mode="min", seed=seed, points_to_evaluate=points)
    assert s.set_search_properties("loss", "min", SPACE)
    return s


def test_points_to_evaluate_come_first_then_samples_without_domains():
    first = {"model": {"family": "knn", "params": {"k": 7}}, "fixed": 3}
    s = _searcher(points=[first])
    assert s.suggest("t0") == first
    for i in range(20):
        cfg = s.suggest(f"t{i + 1}")
        assert not has_domains(cfg) and cfg["fixed"] == 3
        if cfg["model"]["family"] == "gbm":
            assert 1e-3 <= cfg["model"]["params"]["lr"] <= 1e-1
            assert 4 <= cfg["model"]["params"]["leaves"] <= 256


def test_same_seed_same_suggestions():
    a, b = _searcher(seed=5), _searcher(seed=5)
    assert [a.suggest(str(i)) for i in range(10)] == [b.suggest(str(i)) for i in range(10)]
    assert _searcher(seed=6).suggest("0") != _searcher(seed=5).suggest("0")


def test_save_restore_continues_where_it_stopped(tmp_path):
    s = _searcher(seed=1, points=[{"model": {"family": "knn", "params": {"k": 1}}}])
    s.suggest("a")
    s.suggest("b")
    s.save(str(tmp_path / "state.pkl"))
    expected = [s.suggest(str(i)) for i in range(5)]
    fresh = RandomSearch(metric="loss", mode="min")
    fresh.restore(str(tmp_path / "state.pkl"))
    assert [fresh.suggest(str(i)) for i in range(5)] == expected


def test_stop_at_finishes_the_search_at_its_time():
    s = StopAt(_searcher(), stop_at=time.time() - 1)
    assert s.suggest("x") == Searcher.FINISHED
    live = StopAt(_searcher(), stop_at=time.time() + 60)
    assert isinstance(live.suggest("y"), dict)


def test_in_a_plain_tuner_with_concurrency(ray_session):
    def objective(config):
        p = config["model"]["params"]
        tune.report({"loss": p.get("lr", 0.0) + p.get("k", 0)})

    tuner = tune.Tuner(
        objective, param_space=SPACE,
        tune_config=tune.TuneConfig(search_alg=RandomSearch(seed=0), metric="loss", mode="min",
                                    num_samples=6, max_concurrent_trials=2, reuse_actors=True),
        run_config=tune.RunConfig(verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 6 and not grid.errors
    families = {r.config["model"]["family"] for r in grid}
    assert families <= {"gbm", "knn"}
    assert all(not has_domains(r.config) for r in grid)


def test_mode_is_checked():
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        RandomSearch(mode="up")
