"""The contract every raymlx searcher meets; ``check_*`` functions take a factory
``make(seed=..., points_to_evaluate=...) -> Searcher`` and raise AssertionError on a breach.

Covered: Tune's constructor and ``set_search_properties`` contract, Tune domains and
conditional spaces resolved (no Domain ever returned, values inside their bounds),
``points_to_evaluate`` first, seeded reproducibility on a sequential run, save/restore
continuing the same sequence, asynchronous suggestions (several pending trials),
failed and metric-less trials tolerated, and a run inside a plain ``tune.Tuner``.
"""

from __future__ import annotations

import math

from ray import tune
from ray.tune.search import Searcher

from raymlx.searchers.space import has_domains

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


def objective(cfg: dict) -> float:
    """A deterministic loss over SPACE (lower is better)."""
    loss = (cfg["x"] - 2.0) ** 2 + abs(math.log10(cfg["lr"]) + 2.0) + cfg["n"] * 0.1
    p = cfg["model"]["params"]
    loss += (p["leaves"] - 30) ** 2 / 100 if cfg["model"]["family"] == "gbm" else p["k"] / 10
    return loss + (cfg["act"] == "tanh") + cfg["nested"]["depth"] * 0.01


def check_valid(cfg: dict) -> None:
    assert not has_domains(cfg), cfg
    assert -5.0 <= cfg["x"] <= 10.0 and 1e-4 <= cfg["lr"] <= 1e-1
    assert cfg["q"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert 1 <= cfg["n"] < 8 and 8 <= cfg["width"] <= 256
    assert cfg["act"] in ("relu", "tanh") and cfg["nested"]["const"] == "keep"
    fam, params = cfg["model"]["family"], cfg["model"]["params"]
    if fam == "gbm":
        assert set(params) == {"leaves", "eta"} and 4 <= params["leaves"] < 64
    else:
        assert fam == "knn" and set(params) == {"k"} and 1 <= params["k"] < 30


def _ready(make, **kw) -> Searcher:
    s = make(**kw)
    assert s.set_search_properties("loss", "min", SPACE) is True
    return s


def run_sequential(s: Searcher, n: int, start: int = 0) -> list[dict]:
    out = []
    for i in range(start, start + n):
        cfg = s.suggest(f"t{i}")
        if cfg is None or cfg == Searcher.FINISHED:
            break
        out.append(cfg)
        s.on_trial_complete(f"t{i}", result={"loss": objective(cfg)})
    return out


def check_constructor_contract(make) -> None:
    s = make(seed=0, points_to_evaluate=None)
    assert isinstance(s, Searcher)
    assert s.set_search_properties("loss", "min", SPACE) is True
    assert s.metric == "loss" and s.mode == "min"


def check_valid_suggestions(make, n: int = 40) -> None:
    for cfg in run_sequential(_ready(make, seed=1), n):
        check_valid(cfg)


def check_points_to_evaluate_first(make) -> None:
    s = _ready(make, seed=0, points_to_evaluate=[{**run_sequential(_ready(make, seed=9), 1)[0]}])
    first = s.suggest("p0")
    assert first == run_sequential(_ready(make, seed=9), 1)[0]


def check_seeded_reproducibility(make, n: int = 30) -> None:
    a = run_sequential(_ready(make, seed=3), n)
    b = run_sequential(_ready(make, seed=3), n)
    assert a == b and len(a) > 0


def check_save_restore(make, tmp_path, n: int = 25) -> None:
    s = _ready(make, seed=4)
    run_sequential(s, n)
    path = str(tmp_path / "searcher.pkl")
    s.save(path)
    expected = run_sequential(s, 10, start=n)
    fresh = make(seed=123)
    fresh.restore(path)
    assert run_sequential(fresh, 10, start=n) == expected


def check_asynchronous(make) -> None:
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
    check_valid_after = run_sequential(s, 5, start=100)
    for cfg in check_valid_after:
        check_valid(cfg)


def check_failures_tolerated(make) -> None:
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


def check_plain_tuner(make, num_samples: int = 8) -> None:
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
    for r in grid:
        check_valid(r.config)
