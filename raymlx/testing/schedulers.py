"""The contract every Tune trial scheduler of raymlx meets, for a third party's too.

Subclass :class:`SchedulerTestCase` (name the subclass ``Test...``) and implement
``make_scheduler(metric=None, mode=None)``. Most checks drive the scheduler with the
Ray-free :class:`~raymlx.testing.simulator.Simulation`, which follows Tune's controller call
order with scripted learning curves, so they run in milliseconds; one runs it in a plain
``tune.Tuner``. Covered: every trial ends and the best reaches the full budget; the same
inputs give the same decisions; the decision state survives ``save``/``restore`` (for a
scheduler with ``state_dict``, as raymlx's have); metric and mode come from ``TuneConfig``
and a conflicting pair is refused.

A scheduler that needs a searcher of its own (BOHB) exposes it as ``scheduler.searcher``;
the simulation and the Tuner then take their configurations from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest
from ray import tune
from ray.tune.schedulers import TrialScheduler

from raymlx.testing.searchers import ensure_local_ray
from raymlx.testing.simulator import TERMINATED, Simulation

Factory = Callable[..., TrialScheduler]


def curve(config: dict, t: int) -> float:
    """A learning curve: the loss falls with the budget ``t``, to a floor set by ``x``."""
    return (config["x"] - 0.3) ** 2 + 1.0 / t


def simulate(make: Factory, n: int = 20, max_t: int = 9, workers: int = 3,
             seed: int = 0) -> tuple[TrialScheduler, Simulation]:
    """``n`` trials of :func:`curve` under a new scheduler, 3 running at a time."""
    scheduler = make(metric="loss", mode="min")
    configs = [{"x": float(v)} for v in np.random.default_rng(seed).uniform(0, 1, n)]
    sim = Simulation(scheduler, configs, curve, workers=workers, max_t=max_t,
                     searcher=getattr(scheduler, "searcher", None))
    return scheduler, sim.run()


def check_every_trial_ends(make: Factory, max_t: int = 9) -> None:
    _, sim = simulate(make, max_t=max_t)
    assert all(t.status == TERMINATED for t in sim.trials), sim.trials
    assert max(sim.reached().values()) == max_t


def check_same_inputs_same_decisions(make: Factory) -> None:
    _, a = simulate(make)
    _, b = simulate(make)
    assert a.decisions == b.decisions


def check_state_round_trip(make: Factory, folder: str) -> None:
    """``restore`` of what ``save`` wrote gives the same decision state (``state_dict``)."""
    scheduler, _ = simulate(make)
    path = os.path.join(folder, "scheduler-state.pkl")
    scheduler.save(path)
    fresh = make(metric="loss", mode="min")
    fresh.restore(path)
    assert fresh.state_dict() == scheduler.state_dict()  # type: ignore[attr-defined]


def check_metric_and_mode_from_tune_config(make: Factory) -> None:
    scheduler = make()
    assert scheduler.set_search_properties("loss", "min")
    assert scheduler.set_search_properties("loss", "min")  # the same again is fine
    assert not scheduler.set_search_properties("acc", "max")  # a conflict is refused


def _checkpointing_trainable(config: dict, max_t: int) -> None:
    """Reports :func:`curve` at each step with a checkpoint, and resumes from one, as a
    pausing scheduler or PBT needs; ``step`` is the budget trained so far."""
    import json
    import tempfile

    step = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            with open(os.path.join(folder, "state.json")) as fh:
                step = json.load(fh)["step"]
    while step < max_t:
        step += 1
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "state.json"), "w") as fh:
                json.dump({"step": step}, fh)
            tune.report({"loss": curve(config, step), "step": step},
                        checkpoint=tune.Checkpoint.from_directory(folder))


def check_plain_tuner(make: Factory, max_t: int = 9, num_samples: int = 10) -> None:
    """The scheduler runs a plain ``tune.Tuner`` of checkpointing function trainables;
    Ray must be running. Every trial ends without error and one trains to ``max_t``."""
    scheduler = make()
    searcher = getattr(scheduler, "searcher", None)
    # the configurations come from the paired searcher's own space when there is one
    space = {} if searcher is not None else {"x": tune.uniform(0, 1)}
    grid = tune.Tuner(
        tune.with_parameters(_checkpointing_trainable, max_t=max_t), param_space=space,
        # concurrency from the trials' CPUs, not max_concurrent_trials: Tune counts paused
        # trials against that limit, which can starve a pausing scheduler
        tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=scheduler,
                                    search_alg=searcher, num_samples=num_samples,
                                    reuse_actors=True),
        run_config=tune.RunConfig(verbose=0),
    ).fit()
    assert not grid.errors, grid.errors
    reached = max(int((grid[i].metrics or {})["step"]) for i in range(len(grid)))
    assert reached == max_t, f"no trial trained to max_t={max_t} (best: {reached})"


class SchedulerTestCase:
    """The whole contract as pytest tests; subclass it and implement ``make_scheduler``.
    ``max_t`` must be the full budget (in ``training_iteration``) the scheduler is made
    with."""

    max_t = 9

    def make_scheduler(self, metric: str | None = None,
                       mode: str | None = None) -> TrialScheduler:
        raise NotImplementedError("implement make_scheduler(metric=None, mode=None)")

    @pytest.fixture
    def ray_running(self) -> None:
        ensure_local_ray()

    def test_every_trial_ends_and_the_best_reaches_max_t(self) -> None:
        check_every_trial_ends(self.make_scheduler, self.max_t)

    def test_same_inputs_same_decisions(self) -> None:
        check_same_inputs_same_decisions(self.make_scheduler)

    def test_state_round_trips_through_save_and_restore(self, tmp_path) -> None:
        if not hasattr(self.make_scheduler(metric="loss", mode="min"), "state_dict"):
            pytest.skip("the scheduler keeps no state_dict to compare")
        check_state_round_trip(self.make_scheduler, str(tmp_path))

    def test_metric_and_mode_come_from_tune_config(self) -> None:
        check_metric_and_mode_from_tune_config(self.make_scheduler)

    def test_plain_tuner(self, ray_running) -> None:
        check_plain_tuner(self.make_scheduler, self.max_t)
