"""The Tune trainable behind every raymlx trial.

One trial = one model family and configuration, bagged over the fit's shared folds. The
training data arrives as one ObjectRef (``ray.get`` is zero-copy); the out-of-fold
predictions go to the :class:`~raymlx.oof_store.OutOfFoldStore`; the fold models go into the
trial's checkpoint in the experiment folder; the trial reports its out-of-fold score once,
or, with ``AutoML(scheduler="asha")``, after every fold too, so that ASHA can stop a poor
configuration after one fold (the budget is the number of folds done).
An exception (including running out of time) fails the trial, which Tune records and the
leaderboard shows, and the search goes on.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import time
import traceback
from dataclasses import dataclass

import ray
from ray import tune

from raymlx.ensembles.bagging import fit_bag, predict_bag
from raymlx.ensembles.stacking import stacked_features
from raymlx.metrics import get_metric
from raymlx.models import FAMILIES
from raymlx.models.base import Problem
from raymlx.oof_store import publish

MODELS_FILE = "fold_models.pkl"


@dataclass(frozen=True)
class TrialSetup:
    """Everything a trial needs besides its configuration and the data."""

    problem: Problem
    metric: str
    deadline: float
    num_threads: int
    seed: int
    report_folds: bool = False  # a fold-level scheduler is on: report after each fold


def run_trial(config: dict, data: list, store, setup: TrialSetup) -> None:
    """Fits one bagged model and reports ``score`` (the out-of-fold metric).

    A failure inside the model library, or running out of time, is reported as this
    trial's ``error`` (with a NaN score) so the search goes on and the leaderboard says
    why; a crash of the worker itself is recorded by Tune.
    """
    t0 = time.time()
    try:
        _fit_and_report(config, data, store, setup, t0)
    except Exception as exc:  # reported, not hidden: it becomes the leaderboard's error
        traceback.print_exc()
        message = " ".join(str(exc).split())[:300]
        tune.report({"score": float("nan"), "family": config["model"]["family"],
                     "error": f"{type(exc).__name__}: {message}",
                     "trial_time_s": time.time() - t0})


def _fit_and_report(config: dict, data: list, store, setup: TrialSetup, t0: float) -> None:
    arrays = ray.get(data[0])  # {"X", "y", "fold"}: zero-copy views of the object store
    X = arrays["X"]
    if len(data) > 1 and data[1]:  # a stacker: the lower layer's out-of-fold predictions
        X = stacked_features(X, ray.get(list(data[1])), setup.problem.problem_type)
    family = FAMILIES[config["model"]["family"]]
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

    bag = fit_bag(family, params, setup.problem, X, arrays["y"], arrays["fold"],
                  setup.deadline, num_threads=setup.num_threads, seed=setup.seed,
                  on_fold=report_fold if setup.report_folds else None)
    score = metric.score(arrays["y"], bag.oof, setup.problem.problem_type)
    holdout = None
    if "X_hold" in arrays:  # dynamic stacking: predict the held-out rows as at test time
        X_hold = arrays["X_hold"]
        if len(data) > 2 and data[2]:
            X_hold = stacked_features(X_hold, ray.get(list(data[2])),
                                      setup.problem.problem_type)
        holdout = predict_bag(bag.models, X_hold)
    trial_id = tune.get_context().get_trial_id()
    publish(store, trial_id, bag.oof, holdout)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, MODELS_FILE), "wb") as fh:
            pickle.dump(bag.models, fh, protocol=pickle.HIGHEST_PROTOCOL)
        with open(os.path.join(tmp, "model.json"), "w") as fh:
            json.dump({"family": family.name, "params": params}, fh)
        tune.report(
            {
                "score": score,
                "family": family.name,
                "fit_time_s": bag.fit_time_s,
                "predict_time_s": bag.predict_time_s,
                "folds_cut_short": bag.truncated,
                "folds_done": len(bag.models) // bag.repeats,
                "repeats": bag.repeats,
                "partial": False,
                "trial_time_s": time.time() - t0,
            },
            checkpoint=tune.Checkpoint.from_directory(tmp),
        )
