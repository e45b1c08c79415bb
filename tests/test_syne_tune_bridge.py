"""Syne Tune's schedulers on Tune's trial runner (benchmarks/syne_tune_schedulers.py), as
benchmarks/schedulers.py runs them: ASHA's stops reach Tune, and a PBT clone starts from
its donor's checkpoint. Skipped where syne-tune (the ``bench`` extra) is not installed."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pytest
from ray import tune

pytest.importorskip("syne_tune")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import schedulers  # noqa: E402
from syne_tune_schedulers import same_random_configs, syne_tune_method  # noqa: E402

from tests.conftest import wait_for_idle_cpus  # noqa: E402


def trainable(config: dict) -> None:
    """loss = (x - 0.3)^2 + 0.01/step: every budget ranks the configs nearly as the last
    one does; 0.02 s a step keeps two trials running side by side."""
    state = schedulers.restored_state(
        config, lambda f: json.loads(Path(f, "state.json").read_text()))
    state = state or {"step": 0, "origin": tune.get_context().get_trial_id()}
    while state["step"] < config["max_t"]:
        state["step"] += 1
        time.sleep(0.02)
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "state.json").write_text(json.dumps(state))
            tune.report({"loss": (config["x"] - 0.3) ** 2 + 0.01 / state["step"],
                         "step": state["step"], "origin": state["origin"]},
                        checkpoint=tune.Checkpoint.from_directory(folder))


def run(name: str, num_samples: int, max_t: int, tmp_path) -> tuple[list, object]:
    space = {"x": tune.uniform(0, 1), "max_t": max_t}
    scheduler, searcher, bridge = syne_tune_method(name, space, max_t, seed=0, interval=3)
    wait_for_idle_cpus()
    try:
        results = tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=scheduler,
                                        search_alg=searcher, num_samples=num_samples,
                                        max_concurrent_trials=2),
            run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0)).fit()
    finally:
        bridge.close()
    frames = [r.metrics_dataframe for r in results]
    return [(r.config, f) for r, f in zip(results, frames)], bridge


def test_syne_tune_asha_stops_trials_and_keeps_the_best(ray_session, tmp_path):
    trials, _ = run("st_asha", num_samples=12, max_t=9, tmp_path=tmp_path)
    expected = [c["x"] for c in same_random_configs({"x": tune.uniform(0, 1)}, 0, 12)]
    assert sorted(c["x"] for c, _ in trials) == sorted(expected)  # ours and Tune's configs
    steps = {c["x"]: int(f["step"].max()) for c, f in trials}
    assert min(steps.values()) < 9  # ASHA's STOP reached Tune
    best = min(steps, key=lambda x: (x - 0.3) ** 2)
    assert steps[best] == 9  # ranked first at every rung, never stopped


def test_syne_tune_pbt_clones_start_from_the_donors_checkpoint(ray_session, tmp_path):
    trials, bridge = run("st_pbt", num_samples=8, max_t=12, tmp_path=tmp_path)
    assert bridge.clones >= 1 and bridge.clones_without_checkpoint == 0
    clones = [f for c, f in trials if c.get(schedulers.RESTORE_KEY)]
    assert len(clones) == bridge.clones
    for frame in clones:
        first = frame.iloc[0]
        assert first["step"] > 1  # went on from the donor's step, not from scratch
        assert first["origin"] != first["trial_id"]
