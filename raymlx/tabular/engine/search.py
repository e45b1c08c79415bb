"""The model search as one Ray Tune experiment.

The driver ``ray.put``s the prepared features, labels and fold numbers once; every trial
gets that ObjectRef through ``tune.with_parameters``. The searcher proposes configurations
over the conditional space family -> hyperparameters (the portfolio first); Tune places the
trials with the per-family resources and concurrency decided by :mod:`raymlx.cluster.policy`;
the experiment stops at the fit's deadline. What comes back is one :class:`ModelRecord` per
trial, failed ones included, and the out-of-fold references from the store.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray import tune
from ray.tune import PlacementGroupFactory

from raymlx._internal.ray_session import temporary_env
from raymlx.cluster.policy import ResourcePlan
from raymlx.errors import last_line
from raymlx.searchers.deadline import StopAt
from raymlx.tabular.engine.interrupt import StopOnInterrupt, interruptible
from raymlx.tabular.engine.ledger import TrialLedger, trial_index
from raymlx.tabular.engine.progress import ProgressReporter
from raymlx.tabular.engine.trial import MODELS_FILE, TrialSetup, run_trial
from raymlx.tabular.metrics import Metric

log = logging.getLogger("raymlx")


@dataclass
class ModelRecord:
    """One leaderboard row: a bagged trial or an ensemble."""

    name: str
    family: str
    config: dict[str, Any]
    score_val: float = float("nan")
    fit_time_s: float = float("nan")
    predict_time_s: float = float("nan")
    error: str | None = None
    models_path: str | None = None  # the fold models' pickle (trial checkpoint or saved copy)
    trial_id: str | None = None  # key of the out-of-fold predictions in the store
    folds_cut_short: int = 0  # folds whose learner stopped at its share of the time limit
    weights: dict[str, float] = field(default_factory=dict)  # ensembles only
    stack_level: int = 1  # 1: trained on the features; L >= 2: also on layer L-1's predictions
    inputs: list[str] = field(default_factory=list)  # stackers: the models they read
    repeats: int = 1  # repeats of k-fold bagging done

    @property
    def ok(self) -> bool:
        return self.error is None and (self.models_path is not None or bool(self.weights))


def _short_error(error: BaseException | None) -> str:
    return last_line(str(error) if error is not None else "unknown error",
                     type(error).__name__)


def run_search(
    arrays: dict[str, np.ndarray],
    setup: TrialSetup,
    metric: Metric,
    param_space: dict,
    searcher,
    plan: ResourcePlan,
    folder: Path,
    name: str,
    max_models: int | None,
    search_deadline: float,
    store,
    scheduler: str | None = None,
    stack_refs: list | None = None,
    holdout_refs: list | None = None,
    level: int = 1,
    inputs: list[str] | None = None,
    data_ref: ray.ObjectRef | None = None,
    phase: str = "search",
    previous: list[dict] | None = None,
    max_retries: int = 2,
) -> list[ModelRecord]:
    """Runs the trials; returns a record per trial, in the order they were created.

    ``folder`` is the fit's folder: Tune writes the experiment ``name`` inside it, and every
    finished trial is added to its ledger under ``phase`` (:mod:`raymlx.tabular.engine.ledger`).
    ``previous``: the ledger entries of this phase from an interrupted run; they come first
    in the result and ``max_models`` counts them. A trial's worker that dies (killed, its
    node lost) is retried up to ``max_retries`` times.

    A stacking layer (``level`` >= 2) passes ``stack_refs``, the ObjectRefs of the
    out-of-fold predictions of the models named ``inputs`` (and ``holdout_refs``, their
    predictions for the held-out rows, when ``arrays`` has ``X_hold``); its records are
    named ``<family>_<n>_L<level>``. ``data_ref``: ``arrays`` already in the object store
    (a fit with stacking layers puts them once for all layers).

    ``scheduler="asha"``: trials report after each fold and raymlx's ASHA (stopping rule,
    eta = 3) ends a configuration whose partial score is outside the top third of its rung;
    the budget is the number of folds done (rungs at 1, 3, ... folds, then all of them).
    """
    num_folds = int(np.atleast_2d(arrays["fold"])[0].max()) + 1
    namer = _Namer(level)
    records = [_record(namer, e["model"], e["metrics"], e["checkpoint"], e["error"],
                       e["trial_id"], level, inputs, num_folds, metric)
               for e in previous or []]
    if max_models is not None:
        max_models -= len(records)
        if max_models <= 0:
            return records
    if scheduler is not None:
        setup = replace(setup, report_folds=True)
    data_ref = data_ref if data_ref is not None else ray.put(arrays)

    def resources(config: dict) -> PlacementGroupFactory:
        # per family: GPU families ask for a GPU where the plan gives them one
        return PlacementGroupFactory([plan.request(config["model"]["family"])])

    trainable = tune.with_resources(
        tune.with_parameters(run_trial, data=[data_ref, list(stack_refs or []),
                                                   list(holdout_refs or [])], store=store,
                             setup=setup),
        resources,
    )
    budget = None
    if search_deadline != float("inf"):
        # no new trial in the last stretch: one started there could not finish its folds
        left = search_deadline - time.time()
        searcher = StopAt(searcher, search_deadline - min(0.1 * left, 10.0))
        budget = max(1.0, left + 1.0)  # a safety net behind the trials' own deadline
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric="score",
            mode=metric.mode,
            search_alg=searcher,
            scheduler=_scheduler(scheduler, num_folds),
            num_samples=max_models if max_models else -1,
            max_concurrent_trials=plan.concurrent_trials,
            time_budget_s=budget,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(folder),
            verbose=0,
            callbacks=[ProgressReporter(metric, setup.deadline, max_models),
                       TrialLedger(folder, phase), StopOnInterrupt()],
            failure_config=tune.FailureConfig(max_failures=max_retries),
        ),
    )
    # Tune's own progress tables off while it runs (we log progress); Ctrl-C: see
    # raymlx.tabular.engine.interrupt
    with temporary_env(RAY_AIR_NEW_OUTPUT="0"), interruptible(tune=True):
        grid = tuner.fit()
    for res in sorted(grid, key=lambda r: _trial_index(r.path)):
        metrics = res.metrics or {}
        error = _short_error(res.error) if res.error is not None else None
        records.append(_record(namer, (res.config or {}).get("model", {}), metrics,
                               res.checkpoint.path if res.checkpoint is not None else None,
                               error, metrics.get("trial_id"), level, inputs, num_folds,
                               metric))
    return records


class _Namer:
    """``<family>_<n>`` (``_L<level>`` above layer 1), counting per family."""

    def __init__(self, level: int) -> None:
        self.level, self.counts = level, {}

    def __call__(self, family: str) -> str:
        self.counts[family] = self.counts.get(family, 0) + 1
        return f"{family}_{self.counts[family]}" + (f"_L{self.level}" if self.level > 1 else "")


def _record(namer: _Namer, model_cfg: dict, metrics: dict, checkpoint: str | None,
            error: str | None, trial_id: str | None, level: int, inputs: list[str] | None,
            num_folds: int, metric: Metric) -> ModelRecord:
    """One leaderboard row from a trial's last metrics and checkpoint (or its error)."""
    family = model_cfg.get("family", "?")
    rec = ModelRecord(name=namer(family), family=family, config=model_cfg.get("params", {}),
                      stack_level=level, inputs=list(inputs or []))
    if error is None and metrics.get("error"):
        rec.error = metrics["error"]
    elif error is None and metrics.get("partial"):
        rec.error = (f"stopped by ASHA after {metrics.get('folds_done')} of {num_folds} folds "
                     f"({metric.name} {float(metrics['score']):.4g} so far)")
    elif error is None and checkpoint is not None and "score" in metrics:
        rec.score_val = float(metrics["score"])
        rec.fit_time_s = float(metrics["fit_time_s"])
        rec.predict_time_s = float(metrics["predict_time_s"])
        rec.models_path = os.path.join(checkpoint, MODELS_FILE)
        rec.trial_id = trial_id
        rec.folds_cut_short = int(metrics.get("folds_cut_short", 0))
        rec.repeats = int(metrics.get("repeats", 1))
    else:
        rec.error = error or "stopped at the time limit"
    return rec


def _scheduler(name: str | None, num_folds: int):
    """The experiment's scheduler; both leave PENDING trials to Tune's queue
    (:mod:`raymlx.schedulers.in_order`)."""
    from raymlx.schedulers.in_order import InOrderASHAScheduler, InOrderFIFOScheduler

    if name is None or num_folds < 2:
        return InOrderFIFOScheduler()
    return InOrderASHAScheduler(time_attr="folds_done", max_t=num_folds, grace_period=1,
                                reduction_factor=3, variant="stopping")


def _trial_index(path: str | None) -> int:
    return trial_index(Path(path).name) if path else 1 << 30
