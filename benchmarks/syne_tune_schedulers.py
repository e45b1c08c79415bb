"""Syne Tune's multi-fidelity schedulers run on Ray Tune's trial runner, for schedulers.py.

Syne Tune (``syne-tune`` on PyPI) drives trials with its own backends; to compare its
schedulers' *decisions* with ours and Tune's on the same footing (the same trainable, the
same actors, the same wall budget and CPUs), this module runs a Syne Tune scheduler inside
a Tune experiment. Written here because neither project ships such a bridge (Syne Tune's
``RayTuneScheduler`` goes the other way, a Tune scheduler inside Syne Tune). Two halves
share one Syne Tune scheduler:

- ``SyneTuneSearch`` (a Tune ``Searcher``) asks it for each new trial's config
  (``suggest``) and tells it when a trial ends by itself (``on_trial_complete``) or fails
  (``on_trial_error``);
- ``SyneTuneDecisions`` (a Tune ``FIFOScheduler``) forwards every result to its
  ``on_trial_result`` and turns its answer into Tune's ``CONTINUE`` or ``STOP``; a trial it
  stops is removed (``on_trial_remove``), as Syne Tune's own tuner does.

schedulers.py runs these with ``max_concurrent_trials`` equal to the workers, so Tune asks
for a new trial only when a worker is free, which is when Syne Tune's tuner would ask.

Syne Tune's PBT stops a member in the lower quantile and then suggests a *new* trial that
starts from the checkpoint of a member in the upper quantile (``checkpoint_trial_id``), as
its local backend does. Here that checkpoint is copied out of the donor's latest Tune
checkpoint when the clone is suggested, and its folder is passed to the clone in the config
under ``RESTORE_KEY``; the trainables of schedulers.py read it (``restored_state``).

Syne Tune 0.16's schedulers, as they are: ASHA is the stopping variant (no promotion);
``brackets > 1`` gives asynchronous Hyperband; ``BOHB`` is ASHA with a KDE searcher; PBT's
population is the set of running trials (it never pauses). DEHB is not in 0.16.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from ray.tune.schedulers import FIFOScheduler, TrialScheduler
from ray.tune.search import Searcher

RESTORE_KEY = "__restore_from__"


def syne_tune_config_space(space: dict) -> dict:
    """A Tune param_space as Syne Tune's: domains converted, constants kept."""
    from hpo_drivers import syne_tune_space
    from ray.tune.search.sample import Domain

    domains = {k: v for k, v in space.items() if isinstance(v, Domain)}
    return {**{k: v for k, v in space.items() if k not in domains},
            **syne_tune_space(domains)}


class _Bridge:
    """The shared state: Tune trial ids <-> Syne Tune trials, and copied checkpoints."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.trials: dict[str, Any] = {}  # Tune trial_id -> Syne Tune Trial
        self.tune_trials: dict[int, Any] = {}  # Syne Tune trial_id -> Tune Trial
        self.folder = Path(tempfile.mkdtemp(prefix="syne-tune-bridge-"))
        self.clones = 0
        self.clones_without_checkpoint = 0
        self.stopped: set[str] = set()  # Tune trial ids the Syne Tune scheduler stopped

    def new_trial(self, tune_id: str, config: dict) -> Any:
        from syne_tune.backend.trial_status import Trial

        trial = Trial(trial_id=len(self.trials), config=config, creation_time=datetime.now())
        self.trials[tune_id] = trial
        self.scheduler.on_trial_add(trial)
        return trial

    def copy_checkpoint(self, syne_id: int) -> str | None:
        donor = self.tune_trials.get(syne_id)
        checkpoint = getattr(donor, "checkpoint", None)
        if checkpoint is None:
            return None
        target = self.folder / f"clone-{self.clones}"
        shutil.copytree(checkpoint.path, target)
        return str(target)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class SyneTuneSearch(Searcher):
    """Configs from a Syne Tune scheduler's ``suggest``."""

    def __init__(self, bridge: _Bridge, metric: str = "loss", mode: str = "min"):
        super().__init__(metric=metric, mode=mode)
        self.bridge = bridge

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec) -> bool:
        """The space is already the Syne Tune scheduler's; Tune's call is acknowledged."""
        return True

    def suggest(self, trial_id: str) -> dict | str | None:
        suggestion = self.bridge.scheduler.suggest()
        if suggestion is None:  # Syne Tune's tuner stops here: the space is exhausted
            return Searcher.FINISHED
        config = dict(suggestion.config or {})
        trial = self.bridge.new_trial(trial_id, config)
        if suggestion.checkpoint_trial_id is not None:
            self.bridge.clones += 1
            source = self.bridge.copy_checkpoint(suggestion.checkpoint_trial_id)
            if source is None:
                self.bridge.clones_without_checkpoint += 1
            else:
                return {**trial.config, RESTORE_KEY: source}
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """As Syne Tune's own tuner: a trial its scheduler stopped was already removed
        (``on_trial_remove``) and is not reported again; one that ran to its end is
        complete; one that failed is an error. One difference: Tune ends the trials still
        running at its time budget through ``on_trial_complete`` with their last result,
        so they are reported complete where Syne Tune's tuner would report an error; this
        happens only as a run ends, after every decision that counts."""
        trial = self.bridge.trials.get(trial_id)
        if trial is None or trial_id in self.bridge.stopped:
            return
        if error or not result or self.metric not in result:
            self.bridge.scheduler.on_trial_error(trial)
            return
        self.bridge.scheduler.on_trial_complete(trial, result)


class SyneTuneDecisions(FIFOScheduler):
    """Each result goes to the Syne Tune scheduler; its STOP stops the Tune trial."""

    def __init__(self, bridge: _Bridge):
        super().__init__()
        self.bridge = bridge

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        syne_trial = self.bridge.trials.get(trial.trial_id)
        if syne_trial is None:
            return TrialScheduler.CONTINUE
        self.bridge.tune_trials[syne_trial.trial_id] = trial
        decision = self.bridge.scheduler.on_trial_result(syne_trial, result)
        if decision != "STOP":
            return TrialScheduler.CONTINUE
        self.bridge.scheduler.on_trial_remove(syne_trial)
        self.bridge.stopped.add(trial.trial_id)
        return TrialScheduler.STOP


def same_random_configs(space: dict, seed: int, n: int = 1000) -> list[dict]:
    """The first ``n`` configs raymlx's seeded ``RandomSearch`` gives for ``space``
    (hyperparameters only), so Syne Tune's random-search schedulers try the same configs
    in the same order as ours and Tune's, and only the scheduling differs."""
    from ray.tune.search.sample import Domain

    from raymlx.searchers import RandomSearch

    searcher = RandomSearch(seed=seed)
    searcher.set_search_properties("loss", "min", space)
    names = [k for k, v in space.items() if isinstance(v, Domain)]
    configs = [searcher.suggest(f"t{i}") for i in range(n)]
    return [{k: config[k] for k in names} for config in configs]


def syne_tune_method(name: str, space: dict, max_t: int, seed: int,
                     interval: int) -> tuple[SyneTuneDecisions, SyneTuneSearch, _Bridge]:
    """(Tune scheduler, Tune searcher, bridge) for ``st_asha``, ``st_hyperband``,
    ``st_bohb`` or ``st_pbt``; every one uses ``step`` (the model's age) as its resource.
    The random-search ones start from ``same_random_configs``."""
    from syne_tune.optimizer import baselines
    from syne_tune.optimizer.schedulers.pbt import PopulationBasedTraining

    # it warns, with the whole list, that it takes the constructor's points_to_evaluate
    logging.getLogger("syne_tune.optimizer.schedulers.searchers."
                      "last_value_multi_fidelity_searcher").setLevel(logging.ERROR)
    config_space = syne_tune_config_space(space)
    common = {"metric": "loss", "do_minimize": True, "time_attr": "step", "max_t": max_t,
              "random_seed": seed}
    if name in ("st_asha", "st_hyperband"):
        common["points_to_evaluate"] = same_random_configs(space, seed)
    if name == "st_asha":
        scheduler = baselines.ASHA(config_space, grace_period=1, reduction_factor=3,
                                   **common)
    elif name == "st_hyperband":
        # as many brackets as rungs: asynchronous Hyperband (Li et al. 2020, section 4)
        rungs = 1
        while 3 ** rungs <= max_t:
            rungs += 1
        np.random.seed(seed)  # 0.16 draws each new trial's bracket from numpy's global state
        scheduler = baselines.ASHA(config_space, grace_period=1, reduction_factor=3,
                                   brackets=rungs, **common)
    elif name == "st_bohb":
        scheduler = baselines.BOHB(config_space, grace_period=1, reduction_factor=3,
                                   **common)
    elif name == "st_pbt":
        scheduler = PopulationBasedTraining(config_space, perturbation_interval=interval,
                                            **common)
    else:
        raise ValueError(f"unknown Syne Tune method {name}")
    bridge = _Bridge(scheduler)
    return SyneTuneDecisions(bridge), SyneTuneSearch(bridge), bridge
