"""A tiny stand-in for Tune's controller, to drive schedulers with scripted results, no Ray.

It follows the call order of Ray 2.60's TuneController: trials are added one at a time
(``max_pending``), the scheduler's ``choose_trial_to_run`` can resume a PAUSED trial, PENDING
trials start while workers are free, one running trial reports per step (round robin), the
decision is applied, and the result's checkpoint is registered after the decision (Tune
saves it asynchronously). A resumed trial continues from its latest checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

PAUSE_DECISION = TrialScheduler.PAUSE
PENDING, RUNNING, PAUSED, TERMINATED, ERROR = (Trial.PENDING, Trial.RUNNING, Trial.PAUSED,
                                               Trial.TERMINATED, Trial.ERROR)


class FakeCheckpoint:
    def __init__(self, owner: str, t: int, state: dict):
        self.owner, self.t, self.state = owner, t, state


class FakeTrial:
    def __init__(self, trial_id: str, config: dict):
        self.trial_id = trial_id
        self.config = config
        self.status = PENDING
        self.last_result: dict = {}
        self.experiment_tag = trial_id
        self.storage = None
        self.t = 0  # iterations trained in the current run
        self.state: dict = {"t": 0, "history": []}  # what a real trainable would carry
        self.run_metadata = SimpleNamespace(
            checkpoint_manager=SimpleNamespace(_latest_checkpoint_result=None))

    @property
    def latest_checkpoint_result(self):
        return self.run_metadata.checkpoint_manager._latest_checkpoint_result

    @property
    def checkpoint(self):
        result = self.latest_checkpoint_result
        return result.checkpoint if result else None

    def set_config(self, config: dict) -> None:
        self.config = config

    def set_experiment_tag(self, tag: str) -> None:
        self.experiment_tag = tag

    def __repr__(self) -> str:
        return f"FakeTrial({self.trial_id}, {self.status}, t={self.t})"


class FakeSearchAlg:
    def __init__(self, sim: Simulation, searcher=None):
        self.sim, self.searcher = sim, searcher

    def is_finished(self) -> bool:
        return self.sim.created >= self.sim.num_samples


class Simulation:
    """Run ``num_samples`` trials of ``curve(config, t) -> loss`` under ``scheduler``."""

    def __init__(self, scheduler, configs: list[dict], curve: Callable[[dict, int], float],
                 workers: int = 2, max_t: int = 81, max_pending: int = 1,
                 max_concurrent: int | None = None, metric: str = "loss", mode: str = "min",
                 checkpoint: bool = True, searcher=None):
        self.scheduler, self.configs, self.curve = scheduler, configs, curve
        self.workers, self.max_t, self.max_pending = workers, max_t, max_pending
        self.max_concurrent, self.checkpoint = max_concurrent, checkpoint
        self.num_samples = len(configs)
        self.trials: list[FakeTrial] = []
        self.created = 0
        self.iterations = 0  # resource spent
        self.decisions: list[tuple[str, int, str]] = []
        self.search_alg = FakeSearchAlg(self, searcher)
        scheduler.set_search_properties(metric, mode)
        self.metric = metric
        self._turn = 0

    # -- the controller API schedulers use
    def get_trials(self) -> list[FakeTrial]:
        return list(self.trials)

    def stop_trial(self, trial: FakeTrial) -> None:
        if trial.status in (ERROR, TERMINATED):
            return
        if trial.status in (PENDING, PAUSED):
            trial.status = TERMINATED
            self.scheduler.on_trial_remove(self, trial)
        else:
            trial.status = TERMINATED
            self.scheduler.on_trial_complete(self, trial, trial.last_result)

    def pause_trial(self, trial: FakeTrial, should_checkpoint: bool = True) -> None:
        trial.status = PAUSED

    # -- the loop
    def _live(self) -> int:
        return sum(t.status in (PENDING, RUNNING, PAUSED) for t in self.trials)

    def _add_trials(self) -> None:
        while (self.created < self.num_samples
               and sum(t.status == PENDING for t in self.trials) < self.max_pending
               and (self.max_concurrent is None or self._live() < self.max_concurrent)):
            trial_id = f"t{self.created:03d}"
            searcher = self.search_alg.searcher
            config = searcher.suggest(trial_id) if searcher else dict(self.configs[self.created])
            trial = FakeTrial(trial_id, config)
            self.created += 1
            self.trials.append(trial)
            self.scheduler.on_trial_add(self, trial)

    def _start(self, trial: FakeTrial) -> None:
        trial.status = RUNNING
        ckpt = trial.checkpoint
        trial.state = dict(ckpt.state) if ckpt else {"t": 0, "history": []}
        trial.t = trial.state["t"]

    def step(self) -> bool:
        self._add_trials()
        chosen = self.scheduler.choose_trial_to_run(self)
        if chosen is not None and chosen.status in (PAUSED, PENDING):
            chosen.status = PENDING
        for trial in self.trials:
            busy = sum(t.status == RUNNING for t in self.trials)
            if trial.status == PENDING and busy < self.workers:
                self._start(trial)
        running = [t for t in self.trials if t.status == RUNNING]
        if not running:
            return self._live() > 0 or self.created < self.num_samples
        trial = running[self._turn % len(running)]
        self._turn += 1
        self._report(trial)
        return True

    def _report(self, trial: FakeTrial) -> None:
        if trial.t >= self.max_t:  # resumed from a finished donor: the trainable just returns
            trial.status = TERMINATED
            self.scheduler.on_trial_complete(self, trial, trial.last_result)
            return
        trial.t += 1
        self.iterations += 1
        value = self.curve(trial.config, trial.t)
        trial.state = {"t": trial.t, "history": trial.state["history"] + [trial.config]}
        result = {self.metric: value, "training_iteration": trial.t,
                  "should_checkpoint": self.checkpoint, "config": trial.config}
        trial.last_result = result
        decision = self.scheduler.on_trial_result(self, trial, dict(result))
        self.decisions.append((trial.trial_id, trial.t, decision))
        if self.checkpoint and decision != TrialScheduler.NOOP:
            trial.run_metadata.checkpoint_manager._latest_checkpoint_result = SimpleNamespace(
                checkpoint=FakeCheckpoint(trial.trial_id, trial.t, trial.state),
                metrics=dict(result))
        if decision == TrialScheduler.PAUSE:
            trial.status = PAUSED
        elif decision == TrialScheduler.STOP or (
                decision == TrialScheduler.CONTINUE and trial.t >= self.max_t):
            trial.status = TERMINATED
            self.scheduler.on_trial_complete(self, trial, result)

    def run(self, max_steps: int = 200_000) -> Simulation:
        for _ in range(max_steps):
            if not self.step():
                return self
        raise AssertionError(f"simulation did not end: {self.trials[:5]}")

    def reached(self) -> dict[str, int]:
        """The furthest iteration each trial trained to."""
        best: dict[str, int] = {}
        for trial_id, t, _ in self.decisions:
            best[trial_id] = max(best.get(trial_id, 0), t)
        return best
