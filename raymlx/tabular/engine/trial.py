"""The Tune trainable behind every raymlx trial.

One trial = one model family and configuration, bagged over the fit's shared folds. The
trial finds the fit's store and resource manager by name, and reads its phase's inputs
from the store: the training data as one ObjectRef (``ray.get`` is zero-copy). The
out-of-fold
predictions go to the :class:`~raymlx.tabular.engine.oof_store.OutOfFoldStore`; the fold
models and the out-of-fold predictions go into the trial's checkpoint in the experiment
folder (so that an interrupted fit can be resumed without refitting them); the trial
reports its out-of-fold
score once, or, with ``AutoML(scheduler="asha")``, after every fold too, so that ASHA can
stop a poor configuration after one fold (the budget is the number of folds done).

An exception (including running out of time or past ``memory_per_trial``) fails the trial,
which is reported and shown on the leaderboard, and the search goes on. The trial tells the
fit's :class:`~raymlx.cluster.manager.ResourceManager` where it runs and how it ended, and
computes on the GPU Ray gave it when the family can use it (:mod:`raymlx.cluster.devices`).

The family comes from the fit's own list (``TrialSetup.families``), so a family a user
passed as an instance runs as a built-in one does. The fold models are written with
cloudpickle, so an estimator class defined in the user's script can be loaded again.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from functools import lru_cache

import cloudpickle
import numpy as np
import ray
from ray import tune

from raymlx.cluster.devices import trial_device
from raymlx.cluster.manager import finished_message, get_manager, started_message
from raymlx.cluster.memory_guard import MemoryGuard, MemoryLimitExceeded
from raymlx.tabular.engine.oof_store import HOLDOUT_FILE, OOF_FILE, get_store, publish
from raymlx.tabular.ensembles.bagging import fit_bag, predict_bag
from raymlx.tabular.ensembles.stacking import stacked_features
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.models.base import ModelFamily
from raymlx.tabular.problem import Problem

MODELS_FILE = "fold_models.pkl"

# Ray losing what a trial reads (the store restarted, so the predictions it owned are
# gone; a node went away): not the model's fault, so the trial fails for Tune to rerun
LOST_TO_RAY = (ray.exceptions.ObjectLostError, ray.exceptions.RayActorError,
               ray.exceptions.ActorUnavailableError)


@dataclass(frozen=True)
class TrialSetup:
    """Everything a trial needs besides its configuration and the data."""

    problem: Problem
    metric: str
    deadline: float
    num_threads: int
    seed: int
    report_folds: bool = False  # a fold-level scheduler is on: report after each fold
    fit_name: str | None = None  # names the fit's ResourceManager actor
    store_name: str = ""  # the name of the fit's OutOfFoldStore actor
    phase: str = "search"  # the key of this phase's inputs in the store
    requests: dict = field(default_factory=dict)  # family -> Ray resource request
    memory_limit: float | None = None  # bytes of private memory a trial may add
    families: dict[str, ModelFamily] = field(default_factory=dict)  # the fit's, by name


@lru_cache(maxsize=16)
def _store(name: str):
    return get_store(name)  # trial actors are reused within a phase: look up once


@lru_cache(maxsize=16)
def _manager(fit_name: str):
    return get_manager(fit_name)


@lru_cache(maxsize=16)
def _inputs(store_name: str, phase: str) -> list:
    """The phase's inputs from the store; the driver sends them as the phase starts, without
    waiting for the store to be up, so the first trial may ask before they arrive."""
    for _ in range(1200):
        found = ray.get(_store(store_name).inputs.remote(phase))
        if found is not None:
            return found
        time.sleep(0.05)
    raise RuntimeError(f"the store {store_name} never received the inputs of {phase}")


def run_trial(config: dict, setup: TrialSetup) -> None:
    """Fits one bagged model and reports ``score`` (the out-of-fold metric).

    A failure inside the model library, running out of time or memory is reported as this
    trial's ``error`` (with a NaN score) so the search goes on and the leaderboard says
    why; a crash of the worker itself is recorded by Tune, which retries the trial.
    """
    t0 = time.time()
    family = setup.families[config["model"]["family"]]
    store, data = _store(setup.store_name), _inputs(setup.store_name, setup.phase)
    trial_id = tune.get_context().get_trial_id()
    device, _, note = trial_device(family)
    request = setup.requests.get(family.name, {"CPU": setup.num_threads})
    tracker = _Tracker(setup, trial_id, family.name, request, device, t0)
    # threads = the CPUs this family's request holds (a GPU trial may hold fewer)
    threads = max(1, int(request.get("CPU", setup.num_threads)))
    status, guard = "error", None
    try:
        previous = tracker.overrun()
        if previous:  # an earlier attempt of this trial was ended for its memory
            raise MemoryLimitExceeded(previous)
        with MemoryGuard(setup.memory_limit, on_stuck=tracker.record_overrun) as guard:
            try:
                metrics, files = _fit(family, config, data, store,
                                      replace(setup, num_threads=threads), t0, device,
                                      trial_id)
            except MemoryLimitExceeded:
                raise MemoryLimitExceeded(guard.message) from None
        if guard.exceeded:  # the limit was passed as the fit ended
            raise MemoryLimitExceeded(guard.message)
        metrics.update(device=device, node_id=tracker.node_id,
                       **({"device_note": note} if note else {}))
        report_with_checkpoint(metrics, files)
        status = "ok"
    except LOST_TO_RAY:
        _inputs.cache_clear()  # a rerun in this process asks the store again
        raise
    except Exception as exc:  # reported, not hidden: it becomes the leaderboard's error
        if isinstance(exc, MemoryLimitExceeded):
            tracker.record_overrun(str(exc), wait=False)
        else:
            traceback.print_exc()
        message = " ".join(str(exc).split())[:300]
        tune.report({"score": float("nan"), "family": family.name,
                     "error": f"{type(exc).__name__}: {message}",
                     "trial_time_s": time.time() - t0, "node_id": tracker.node_id})
    except BaseException:  # stopped by the scheduler (or the process is ending)
        status = "stopped"
        raise
    finally:
        if guard is not None:
            tracker.rss_peak = guard.peak
        tracker.finished(status)


class _Tracker:
    """Tells the resource manager about one trial (fire-and-forget actor calls)."""

    def __init__(self, setup: TrialSetup, trial_id: str, family: str, request: dict,
                 device: str, t0: float) -> None:
        self.manager = _manager(setup.fit_name) if setup.fit_name else None
        self.trial_id = trial_id
        self.memory_limit = setup.memory_limit
        self.node_id = ray.get_runtime_context().get_node_id()
        self.rss_peak: int | None = None
        if self.manager is not None:
            self.manager.trial_started.remote(trial_id, started_message(
                family, request, device, t0))

    def overrun(self) -> str | None:
        if self.manager is None or not self.memory_limit:  # no limit, no overrun
            return None
        return ray.get(self.manager.overrun.remote(self.trial_id), timeout=30)

    def record_overrun(self, message: str, wait: bool = True) -> None:
        if self.manager is not None:
            ref = self.manager.record_overrun.remote(self.trial_id, message)
            if wait:  # the process is about to end: make sure the message arrived
                ray.get(ref, timeout=10)

    def finished(self, status: str) -> None:
        if self.manager is not None:
            self.manager.trial_finished.remote(self.trial_id, status,
                                               finished_message(self.rss_peak))


def _fit(family: ModelFamily, config: dict, data: list, store, setup: TrialSetup, t0: float,
         device: str, trial_id: str) -> tuple[dict, dict]:
    """Fits the bag; returns the final metrics and the checkpoint's files."""
    arrays = ray.get(data[0][0])  # {"X", "y", "fold"}: zero-copy views of the object store
    X = arrays["X"]
    if len(data) > 1 and data[1]:  # a stacker: the lower layer's out-of-fold predictions
        X = stacked_features(X, ray.get(list(data[1])), setup.problem.problem_type)
    params = config["model"].get("params", {})
    metric = get_metric(setup.metric, setup.problem.problem_type)

    def report_fold(folds_done: int, oof, validated) -> None:
        # the score over the rows validated so far; ASHA may stop the trial here
        try:
            partial = metric.score(arrays["y"][validated], oof[validated],
                                   setup.problem.problem_type)
        except ValueError:  # e.g. AUC on rows of one class: no partial score, no report
            return
        tune.report({"score": partial, "family": family.name, "folds_done": folds_done,
                     "partial": True, "trial_time_s": time.time() - t0})

    fold, folds = arrays["fold"], int(np.max(arrays["fold"])) + 1
    fewer = ray.get(store.folds.remote(setup.phase))  # engine/fold_budget.py
    if fewer is not None and fewer < folds:
        fold, folds = fold % fewer, fewer
    bag = fit_bag(family, params, setup.problem, X, arrays["y"], fold,
                  setup.deadline, num_threads=setup.num_threads, seed=setup.seed,
                  on_fold=report_fold if setup.report_folds else None, device=device)
    score = metric.score(arrays["y"], bag.oof, setup.problem.problem_type)
    holdout = None
    if "X_hold" in arrays:  # dynamic stacking: predict the held-out rows as at test time
        X_hold = arrays["X_hold"]
        if len(data) > 2 and data[2]:
            X_hold = stacked_features(X_hold, ray.get(list(data[2])),
                                      setup.problem.problem_type)
        holdout = predict_bag(bag.models, X_hold)
    publish(store, trial_id, bag.oof, holdout)
    metrics = {
        "score": score,
        "family": family.name,
        "fit_time_s": bag.fit_time_s,
        "predict_time_s": bag.predict_time_s,
        "folds_cut_short": bag.truncated,
        "folds_done": len(bag.models) // bag.repeats,
        "folds": folds,
        "repeats": bag.repeats,
        "partial": False,
        "trial_time_s": time.time() - t0,
    }
    files = {MODELS_FILE: bag.models, OOF_FILE: bag.oof,
             "model.json": {"family": family.name, "params": params}}
    if holdout is not None:
        files[HOLDOUT_FILE] = holdout
    return metrics, files


def report_with_checkpoint(metrics: dict, files: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, value in files.items():
            path = os.path.join(tmp, name)
            if name.endswith(".npy"):
                np.save(path, value)
            elif name.endswith(".json"):
                with open(path, "w") as fh:
                    json.dump(value, fh)
            else:  # cloudpickle: a family's classes may live in the user's __main__
                with open(path, "wb") as fh:
                    cloudpickle.dump(value, fh)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))
