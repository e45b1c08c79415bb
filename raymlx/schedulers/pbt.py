"""Population-based training (Jaderberg et al., "Population Based Training of Neural
Networks", 2017), asynchronous, as a Tune scheduler.

A trial becomes *ready* each time it has trained ``perturbation_interval`` units of
``time_attr`` since its last exploit/explore (after ``burn_in_period``). A ready trial at
progress t is ranked (truncation selection) among the members that have reached t, each by
its last score at progress <= t: members are compared at equal training, so one that started
late is not judged against others' later scores (with Ray's PBT a trial that got a worker
late is exploited for being behind, not for being worse). A trial ready before anyone else
got that far is judged at its next result after they have. If it sits in the
bottom ``quantile_fraction``, it *exploits* a uniformly drawn member of the top
``quantile_fraction`` that has a checkpoint and has not finished (a finished member still
counts in the ranking, but cloning it would only copy the end of its training; Ray's and
Syne Tune's PBTs leave finished members out too). It copies that member's latest
checkpoint (a copy, so the donor may delete its own) and its hyperparameters, then
*explores*: each mutated hyperparameter is resampled from its prior with
``resample_probability``, else multiplied by one of ``perturbation_factors`` (0.8 / 1.2,
the paper's) and clipped into its domain; a list or categorical value moves to a
neighbouring entry. The trial is then paused and resumed from
the copied checkpoint with the new configuration.

``burn_in_period`` is the grace period before the first exploit; ``max_t`` (optional) stops a
member once it has trained that long.

Never clones a trial without a checkpoint (Ray issue #27170): a donor must have reported
one, and a trial that is ready twice without ever reporting a checkpoint stops the run with
an error, because PBT cannot work without them. Seeded: same seed, same decisions.

Pointing a trial at another trial's checkpoint has no public Tune API in Ray 2.60; like
Ray's own PBT we set the trial's latest checkpoint result (``point_trial_at_checkpoint``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from ray.tune.experiment import Trial
from ray.tune.search.sample import Categorical, Domain, Float, Integer

from raymlx._internal.validation import check_number
from raymlx.errors import InputError
from raymlx.schedulers.base import CONTINUE, NOOP, STOP, RaymlxScheduler

# members that can still train: a finished one's latest checkpoint is the end of its
# training, so a clone of it would stop at once and the population would shrink
LIVE = (Trial.PENDING, Trial.RUNNING, Trial.PAUSED)


def flatten_mutations(mutations: dict, prefix: tuple = ()) -> dict[tuple, Any]:
    """{"opt": {"lr": dom}} -> {("opt", "lr"): dom}; leaves must be Domain, list or callable."""
    flat = {}
    for key, spec in mutations.items():
        path = prefix + (key,)
        if isinstance(spec, dict):
            flat.update(flatten_mutations(spec, path))
        elif isinstance(spec, (Domain, list, tuple)) or callable(spec):
            if isinstance(spec, (list, tuple)) and not spec:
                raise InputError(f"hyperparam_mutations[{'/'.join(map(str, path))}] is empty")
            flat[path] = spec
        else:
            raise InputError(f"hyperparam_mutations[{'/'.join(map(str, path))}]={spec!r} is "
                             "invalid; use a tune domain, a list of values or a callable")
    return flat


def point_trial_at_checkpoint(trial: Trial, checkpoint: Any, metrics: dict) -> None:
    """Make Tune resume ``trial`` from ``checkpoint`` (Ray 2.60 internals, as Ray's PBT)."""
    try:
        from ray.train._internal.session import _TrainingResult

        manager: Any = trial.run_metadata.checkpoint_manager
        manager._latest_checkpoint_result = _TrainingResult(checkpoint=checkpoint,
                                                            metrics=dict(metrics))
    except (ImportError, AttributeError) as exc:  # pragma: no cover - other Ray versions
        raise RuntimeError("PBTScheduler cannot set a trial's checkpoint in this Ray version "
                           "(written for Ray 2.60)") from exc


def copy_checkpoint(checkpoint: Any, destination: str) -> Any:
    """A copy of a Tune checkpoint at ``destination`` on the same filesystem."""
    import pyarrow.fs
    from ray import tune

    fs = checkpoint.filesystem
    fs.create_dir(destination, recursive=True)
    pyarrow.fs.copy_files(checkpoint.path, destination, source_filesystem=fs,
                          destination_filesystem=fs)
    return tune.Checkpoint(destination, filesystem=fs)


class PBTScheduler(RaymlxScheduler):
    """Asynchronous PBT with truncation selection; trials must report checkpoints."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, perturbation_interval: float = 5,
                 hyperparam_mutations: dict | None = None, quantile_fraction: float = 0.2,
                 resample_probability: float = 0.25,
                 perturbation_factors: tuple[float, float] = (0.8, 1.2),
                 burn_in_period: float = 0, max_t: float | None = None,
                 seed: int | None = None) -> None:
        check_number("perturbation_interval", perturbation_interval, 0, low_open=True)
        if max_t is not None:
            check_number("max_t", max_t, 0, low_open=True)
        check_number("quantile_fraction", quantile_fraction, 0, 0.5, low_open=True)
        check_number("resample_probability", resample_probability, 0, 1)
        check_number("burn_in_period", burn_in_period, 0)
        if not hyperparam_mutations or not isinstance(hyperparam_mutations, dict):
            raise InputError("hyperparam_mutations is required: a dict of the hyperparameters "
                             "PBT may change, e.g. {'lr': tune.loguniform(1e-4, 1e-1)}")
        factors = tuple(perturbation_factors)
        if len(factors) < 1 or any(not isinstance(f, (int, float)) or f <= 0 for f in factors):
            raise InputError(f"perturbation_factors={perturbation_factors!r} is invalid; it "
                             "must be positive numbers such as (0.8, 1.2)")
        super().__init__(time_attr, metric, mode)
        self.mutations = flatten_mutations(hyperparam_mutations)
        self.perturbation_interval = perturbation_interval
        self.quantile_fraction = quantile_fraction
        self.resample_probability = resample_probability
        self.perturbation_factors = factors
        self.burn_in_period = burn_in_period
        self.max_t = max_t
        self._rng = np.random.default_rng(seed)
        self.scores: dict[str, list[tuple[float, float]]] = {}  # (progress, score) reports
        self.last_ready: dict[str, float] = {}
        self.checkpointed: set[str] = set()
        self.ready_without_checkpoint: dict[str, int] = {}
        self.waiting: dict[str, float] = {}  # ready at this progress, not yet comparable
        self.exploits: list[dict] = []  # one record per exploit, in order

    # -- state
    def state_dict(self) -> dict:
        return {"scores": self.scores, "last_ready": self.last_ready,
                "checkpointed": self.checkpointed, "exploits": self.exploits,
                "ready_without_checkpoint": self.ready_without_checkpoint,
                "waiting": self.waiting,
                "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.scores, self.last_ready = state["scores"], state["last_ready"]
        self.checkpointed, self.exploits = state["checkpointed"], state["exploits"]
        self.ready_without_checkpoint = state["ready_without_checkpoint"]
        self.waiting = state["waiting"]
        self._rng.bit_generator.state = state["rng"]

    # -- Tune callbacks
    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        self._attach(trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        trial_id = trial.trial_id
        t = self.progress(result)
        self.scores.setdefault(trial_id, []).append((t, self.score(result)))
        if result.get("should_checkpoint") or trial.checkpoint is not None:
            self.checkpointed.add(trial_id)
        if self.max_t is not None and t >= self.max_t:
            self._persist()
            return STOP
        if t < self.burn_in_period:
            return CONTINUE
        ready_at = self.waiting.get(trial_id)
        if ready_at is None:
            if t - self.last_ready.get(trial_id, 0.0) < self.perturbation_interval:
                return CONTINUE
            self.last_ready[trial_id] = ready_at = t
            self._require_checkpoints(trial)
        bottom, top = self.quantiles(tune_controller, ready_at)
        if not top:  # nobody else has trained this far yet: judge it when they have
            self.waiting[trial_id] = ready_at
            self._persist()
            return CONTINUE
        self.waiting.pop(trial_id, None)
        donors = [d for d in top if d.checkpoint is not None and d is not trial
                  and d.status in LIVE]
        if trial_id not in {b.trial_id for b in bottom} or not donors:
            self._persist()
            return CONTINUE
        donor = donors[int(self._rng.integers(len(donors)))]
        self._exploit(tune_controller, trial, donor, t)
        self._persist()
        return NOOP

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self.scores.pop(trial.trial_id, None)

    def debug_string(self) -> str:
        return f"PBTScheduler: {len(self.exploits)} exploits"

    # -- selection, exploit, explore
    def score_at(self, trial_id: str, t: float) -> float | None:
        """The trial's last score at progress <= t; None if it has not reached t."""
        reports = self.scores.get(trial_id) or []
        if not reports or reports[-1][0] < t:
            return None
        earlier = [score for time, score in reports if time <= t]
        return earlier[-1] if earlier else None

    def quantiles(self, tune_controller: Any, t: float) -> tuple[list[Trial], list[Trial]]:
        """(bottom, top) of the members that reached progress t, ranked by their score
        there; empty below two members."""
        at_t: dict[str, float] = {}
        for m in tune_controller.get_trials():
            score = self.score_at(m.trial_id, t) if m.status != Trial.ERROR else None
            if score is not None:
                at_t[m.trial_id] = score
        population = [m for m in tune_controller.get_trials() if m.trial_id in at_t]
        if len(population) < 2:
            return [], []
        ranked = sorted(population, key=lambda m: at_t[m.trial_id])  # worst first
        k = min(max(1, int(math.floor(len(ranked) * self.quantile_fraction))),
                len(ranked) // 2)
        return ranked[:k], ranked[-k:]

    def explore(self, config: dict) -> dict:
        """A perturbed copy of ``config`` (only the mutated hyperparameters change)."""
        new = copy.deepcopy(config)
        for path, spec in self.mutations.items():
            parent = new
            for key in path[:-1]:
                parent = parent.setdefault(key, {})
            value = parent.get(path[-1])
            if value is None or self._rng.random() < self.resample_probability:
                parent[path[-1]] = self._resample(spec)
            else:
                parent[path[-1]] = self._perturb(spec, value)
        return new

    def _resample(self, spec: Any) -> Any:
        if isinstance(spec, Domain):
            return spec.sample(random_state=self._rng)
        if isinstance(spec, (list, tuple)):
            return spec[int(self._rng.integers(len(spec)))]
        return spec()

    def _perturb(self, spec: Any, value: Any) -> Any:
        choices = spec.categories if isinstance(spec, Categorical) else spec
        if isinstance(choices, (list, tuple)):
            if value not in choices:
                return self._resample(spec)
            i = list(choices).index(value) + int(self._rng.choice([-1, 1]))
            return choices[min(max(i, 0), len(choices) - 1)]
        factor = self.perturbation_factors[int(self._rng.integers(len(self.perturbation_factors)))]
        moved = value * factor
        if isinstance(spec, Integer):
            moved = int(round(moved))
            if moved == value:  # an integer too small to move by x0.8/x1.2 still moves
                moved = value + (1 if factor > 1 else -1)
            return int(min(max(moved, spec.lower), spec.upper - 1))
        if isinstance(spec, Float):
            moved = min(max(moved, spec.lower), spec.upper)
            q = getattr(spec.get_sampler(), "q", None)
            return float(np.round(moved / q) * q) if q else float(moved)
        return type(value)(moved) if isinstance(value, int) else moved

    def _require_checkpoints(self, trial: Trial) -> None:
        if trial.trial_id in self.checkpointed:
            return
        count = self.ready_without_checkpoint.get(trial.trial_id, 0) + 1
        self.ready_without_checkpoint[trial.trial_id] = count
        if count >= 2:
            raise InputError(
                f"PBTScheduler: trial {trial.trial_id} reached its perturbation interval "
                f"twice without reporting a checkpoint; PBT clones checkpoints, so pass "
                f"checkpoint=tune.Checkpoint.from_directory(...) to tune.report")

    def _exploit(self, tune_controller: Any, trial: Trial, donor: Trial, t: float) -> None:
        donor_result = donor.latest_checkpoint_result
        assert donor_result is not None  # donors are chosen among checkpointed trials
        checkpoint = donor_result.checkpoint
        index = len(self.exploits)
        storage = getattr(trial, "storage", None)
        if storage is not None:
            destination = f"{storage.experiment_fs_path}/pbt-clones/{trial.trial_id}-{index}"
            checkpoint = copy_checkpoint(checkpoint, destination)
        new_config = self.explore(donor.config)
        tune_controller.pause_trial(trial, should_checkpoint=False)
        base_tag = (trial.experiment_tag or str(trial.trial_id)).split("@pbt")[0]
        trial.set_experiment_tag(f"{base_tag}@pbt{index}")
        trial.set_config(new_config)
        point_trial_at_checkpoint(trial, checkpoint, donor_result.metrics)
        donor_t = donor_result.metrics.get(self._time_attr, t)
        self.last_ready[trial.trial_id] = float(donor_t)
        kept = [(time, sc) for time, sc in self.scores.get(trial.trial_id, []) if time < donor_t]
        self.scores[trial.trial_id] = kept + [(float(donor_t), self.score(donor_result.metrics))]
        self.checkpointed.add(trial.trial_id)
        self.exploits.append({"t": t, "trial": trial.trial_id, "donor": donor.trial_id,
                              "donor_t": donor_t, "config": new_config})

