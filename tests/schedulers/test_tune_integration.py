"""raymlx's schedulers inside a plain ``tune.Tuner``: pausing, resuming, cloning, restore."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import time

import pytest
from ray import tune
from ray.tune.error import TuneError

from raymlx.schedulers import ASHAScheduler, HyperbandScheduler, PBTScheduler
from raymlx.schedulers.base import STATE_FILE
from tests.conftest import wait_for_idle_cpus


def trainable(config):
    """Reports each step with a checkpoint; the state remembers which trial created it."""
    state = {"step": 0, "origin": tune.get_context().get_trial_id()}
    resumed_from = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            with open(os.path.join(folder, "state.json")) as fh:
                state = json.load(fh)
        resumed_from = state["step"]
    while state["step"] < config.get("max_steps", 9):
        state["step"] += 1
        time.sleep(config.get("sleep", 0))
        loss = (config["x"] - 0.3) ** 2 + 1.0 / state["step"]
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "state.json"), "w") as fh:
                json.dump(state, fh)
            tune.report({"loss": loss, "step": state["step"], "resumed_from": resumed_from,
                         "origin": state["origin"]},
                        checkpoint=tune.Checkpoint.from_directory(folder))


def fit(tmp_path, scheduler, num_samples, name, param_space=None, callbacks=None):
    wait_for_idle_cpus()  # the population trains side by side only on free CPUs
    space = param_space or {"x": tune.uniform(0, 1)}
    tuner = tune.Tuner(
        trainable, param_space=space,
        tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=scheduler,
                                    num_samples=num_samples, reuse_actors=True),
        run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0,
                                  callbacks=callbacks or []))
    return tuner.fit()


def saved_state(tmp_path, name):
    with open(tmp_path / name / STATE_FILE, "rb") as fh:
        return pickle.load(fh)


def test_hyperband_pauses_and_resumes_function_trials(ray_session, tmp_path):
    sched = HyperbandScheduler(max_t=9, reduction_factor=3)  # first bracket: 9@1 3@3 1@9
    grid = fit(tmp_path, sched, 9, "hb")
    reached = sorted(r.metrics["training_iteration"] for r in grid)
    assert reached == [1] * 6 + [3, 3, 9]
    assert sum(reached) == 21  # resume accounting: 9 + 3*2 + 1*6
    resumed = [r.metrics["resumed_from"] for r in grid if r.metrics["training_iteration"] > 1]
    assert sum(v > 0 for v in resumed) >= 2  # paused survivors went on from their checkpoint
    assert [b.history() for b in saved_state(tmp_path, "hb")["brackets"]] == [
        [(9, 1), (3, 3), (1, 9)]]


def test_asha_promotion_stops_trials_only_at_rungs(ray_session, tmp_path):
    sched = ASHAScheduler(max_t=9, reduction_factor=3)
    grid = fit(tmp_path, sched, 9, "asha")
    reached = [r.metrics["training_iteration"] for r in grid]
    assert set(reached) <= {1, 3, 9} and 9 in reached
    state = saved_state(tmp_path, "asha")
    assert len(state["rungs"][0]) == 9


def test_pbt_clones_the_donors_checkpoint(ray_session, tmp_path):
    sched = PBTScheduler(perturbation_interval=3, quantile_fraction=0.25, seed=0,
                         hyperparam_mutations={"x": tune.uniform(0, 1)})
    # a population the two CPUs train side by side, as PBT assumes
    # (18 steps: five chances to exploit, enough for a loaded machine where one trial
    # starts seconds after the other)
    space = {"x": tune.grid_search([0.05, 0.3]), "max_steps": 18, "sleep": 0.25}
    grid = fit(tmp_path, sched, 1, "pbt", param_space=space)
    exploits = saved_state(tmp_path, "pbt")["exploits"]
    assert exploits
    by_id = {"_".join(os.path.basename(r.path).split("_")[1:3]): r.metrics for r in grid}
    cloned = {e["trial"] for e in exploits}
    assert cloned == {min(by_id)}  # x=0.05 is the worse of the two
    for trial_id in cloned:
        # its state now descends from the other trial's checkpoint
        assert by_id[trial_id]["origin"] != trial_id
        assert by_id[trial_id]["training_iteration"] == space["max_steps"]


class Interrupt(tune.Callback):
    """Crashes the driver once, at the ``after``-th result (Tuner.restore keeps callbacks)."""

    def __init__(self, after: int, marker):
        self.after, self.seen, self.marker = after, 0, str(marker)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.seen += 1
        if self.seen == self.after and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("simulated driver crash")


def release_placement_groups():
    import ray
    from ray.util.placement_group import (
        PlacementGroup,
        placement_group_table,
        remove_placement_group,
    )

    for pg_id, info in placement_group_table().items():
        if info["state"] in ("CREATED", "PENDING", "RESCHEDULING"):
            remove_placement_group(PlacementGroup(ray.PlacementGroupID(bytes.fromhex(pg_id))))


def test_hyperband_state_survives_tuner_restore(ray_session, tmp_path):
    sched = HyperbandScheduler(max_t=9, reduction_factor=3)
    with pytest.raises(TuneError, match="simulated driver crash"):
        fit(tmp_path, sched, 9, "restore", callbacks=[Interrupt(8, tmp_path / "crashed")])
    release_placement_groups()  # what a driver's death does; this test's driver lives on
    before = saved_state(tmp_path, "restore")
    assert before["brackets"]  # saved with Tune's own experiment state, as of its last sync
    tuner = tune.Tuner.restore(str(tmp_path / "restore"), trainable=trainable,
                               resume_unfinished=True)
    grid = tuner.fit()
    after = saved_state(tmp_path, "restore")
    # the same bracket went on with the rung scores recorded before the crash
    assert [b.history() for b in after["brackets"]] == [[(9, 1), (3, 3), (1, 9)]]
    reached = [r.metrics.get("training_iteration", 0) for r in grid]
    assert reached.count(9) == 1 and len(grid) == 9
