"""One phase of a fit's search as one Ray Tune experiment.

The driver ``ray.put``s the prepared features, labels and fold numbers once per fit
(:class:`SearchContext`); every trial gets that ObjectRef through
``tune.with_parameters``. A :class:`Phase` is layer 1's search or one stacking layer: its
searcher proposes configurations over the conditional space family -> hyperparameters
(the portfolio first); Tune places the trials with the per-family resources and
concurrency decided by :mod:`raymlx.cluster.policy`; no trial starts after the phase's
deadline. What comes back is one :class:`~raymlx.tabular.predictor.ModelRecord` per trial,
failed ones included, while the out-of-fold predictions stay in the store.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune import PlacementGroupFactory

from raymlx._internal.ray_session import temporary_env
from raymlx.cluster.policy import ResourcePlan
from raymlx.errors import last_line
from raymlx.schedulers.in_order import InOrderASHAScheduler, InOrderFIFOScheduler
from raymlx.searchers.deadline import StopAt
from raymlx.tabular.engine.fold_budget import FOLD_FLOOR, FoldBudget
from raymlx.tabular.engine.interrupt import StopOnInterrupt, interruptible
from raymlx.tabular.engine.ledger import TrialLedger, trial_index
from raymlx.tabular.engine.oof_store import StoreWatch, WarmUpStore
from raymlx.tabular.engine.progress import ProgressReporter
from raymlx.tabular.engine.trial import MODELS_FILE, TrialSetup, run_trial
from raymlx.tabular.metrics import Metric
from raymlx.tabular.predictor import ModelRecord
from raymlx.tabular.problem import Problem

log = logging.getLogger("raymlx")

# Trials per Tune experiment. Tune's driver keeps every trial of an experiment, with a
# running analysis of each numeric metric it reported, until the experiment ends: about
# 45 KB a trial here (benchmarks/long_fit.py). A phase with more trials runs as several
# experiments of this many, ``<experiment>-part2`` and on, sharing one searcher and the
# callbacks, so the driver's memory stops growing with the trial count.
CHUNK_TRIALS = 250


@dataclass(frozen=True)
class SearchContext:
    """What every phase of one fit shares."""

    folder: Path  # the fit's folder: Tune writes each phase's experiment inside it
    setup: TrialSetup  # what each trial needs besides its config (the phase adjusts it)
    metric: Metric
    plan: ResourcePlan  # per-family resource requests and concurrency
    store: Any  # the fit's OutOfFoldStore actor
    data_ref: ray.ObjectRef | None  # {"X", "y", "fold"[, "X_hold"]} in the object store
    num_folds: int
    max_retries: int = 2  # reruns of a trial whose worker process or node dies
    callbacks: tuple[Any, ...] = ()  # the user's Tune callbacks, after ours

    def with_data(self, data_ref: ray.ObjectRef) -> SearchContext:
        return replace(self, data_ref=data_ref)


@dataclass(frozen=True)
class Phase:
    """One Tune experiment of a fit: layer 1's search (``level`` 1) or a stacking layer.

    ``previous``: the ledger entries of this phase from an interrupted run; they come
    first in the result and ``max_models`` counts them. A stacking layer names the
    models whose out-of-fold predictions it stacks (``inputs``, by their records'
    names, and ``stacked``, by their trial ids in the store), says whether it reads their
    predictions for the held-out rows too (``holdout``, when the data holds ``X_hold``)
    and passes its wider ``problem``; its records are named ``<family>_<n>_L<level>``.

    ``scheduler``: None (every trial bags all its folds), ``"asha"`` (trials report after
    each fold and raymlx's ASHA, stopping rule, eta 3, budget = folds done, ends a
    configuration outside the top third of its rung) or a Tune ``TrialScheduler`` of the
    user's, which sees the same per-fold reports (``score``, ``folds_done``).
    """

    phase: str  # the ledger's name for it: "search", "L2", ...
    experiment: str  # the Tune experiment's folder name
    param_space: dict[str, Any]
    searcher: Any  # a Tune Searcher
    deadline: float  # no trial starts after it; trials stop at it
    max_models: int | None
    scheduler: Any = None
    problem: Problem | None = None  # None: the context's
    level: int = 1
    inputs: tuple[str, ...] = ()
    stacked: tuple[str, ...] = ()
    holdout: bool = False
    previous: list[dict] = field(default_factory=list)
    fold_budget: bool = False  # fewer folds when the time left needs them (fold_budget.py)


def run_search(ctx: SearchContext, phase: Phase) -> list[ModelRecord]:
    """Runs the phase's trials; returns a record per trial, in the order they were
    created. Every finished trial is added to the fit's ledger under ``phase.phase``
    (:mod:`raymlx.tabular.engine.ledger`)."""
    namer = _Namer(phase.level)
    records = [_record(namer, e["model"], e["metrics"], e["checkpoint"], e["error"],
                       e["trial_id"], phase, ctx) for e in phase.previous]
    max_models = phase.max_models
    if max_models is not None:
        max_models -= len(records)
        if max_models <= 0:
            return records
    setup = replace(ctx.setup, deadline=phase.deadline,
                    problem=phase.problem or ctx.setup.problem,
                    report_folds=phase.scheduler is not None, phase=phase.experiment)
    # the trials read their inputs from the store (see raymlx.tabular.engine.oof_store);
    # not waited for here, so the store's start overlaps the experiment's; sent again
    # if the store restarts
    watch = StoreWatch(ctx.store, phase.experiment,
                       [[ctx.data_ref], list(phase.stacked), phase.holdout])

    plan = ctx.plan  # Tune keeps this function for the driver's life: it holds the plan only

    def resources(config: dict) -> PlacementGroupFactory:
        # per family: GPU families ask for a GPU where the plan gives them one
        return PlacementGroupFactory([plan.request(config["model"]["family"])])

    trainable = tune.with_resources(tune.with_parameters(run_trial, setup=setup), resources)
    searcher = phase.searcher
    if phase.deadline != float("inf"):
        # no new trial in the last stretch: one started there could not finish its folds
        left = phase.deadline - time.time()
        searcher = StopAt(searcher, phase.deadline - min(0.1 * left, 10.0))
    callbacks = [ProgressReporter(ctx.metric, phase.deadline, max_models),
                 TrialLedger(ctx.folder, phase.phase), WarmUpStore(ctx.setup.store_name),
                 watch, StopOnInterrupt(), *ctx.callbacks]
    if phase.fold_budget and phase.deadline != float("inf") and ctx.num_folds > FOLD_FLOOR:
        callbacks.insert(0, FoldBudget(ctx.setup.store_name, phase.experiment, ctx.num_folds,
                                       ctx.plan.concurrent_trials, phase.deadline))
    part, to_run = 1, max_models
    try:
        while True:
            size = CHUNK_TRIALS if to_run is None else min(CHUNK_TRIALS, to_run)
            grid = _run_experiment(
                ctx, phase, trainable, searcher, callbacks, size,
                phase.experiment if part == 1 else f"{phase.experiment}-part{part}",
                phase.param_space if part == 1 else {})  # later parts: the searcher's
            ray.get(watch.sent())  # it has long arrived; this raises if the store failed
            results = [grid[i] for i in range(len(grid))]  # indexed, not iterated
            del grid  # the experiment's trials go with it (see CHUNK_TRIALS)
            for res in sorted(results, key=lambda r: _trial_index(r.path)):
                metrics = res.metrics or {}
                error = _short_error(res.error) if res.error is not None else None
                records.append(_record(namer, (res.config or {}).get("model", {}), metrics,
                                       res.checkpoint.path if res.checkpoint is not None
                                       else None, error, metrics.get("trial_id"), phase, ctx))
            ran = len(results)
            del results  # each Result holds its metrics as a frame
            if to_run is not None:
                to_run -= ran
            if ran < size or to_run == 0 or time.time() >= phase.deadline:
                break
            part += 1
    finally:
        watch.close()
    return records


def _run_experiment(ctx: SearchContext, phase: Phase, trainable, searcher, callbacks: list,
                    num_samples: int | None, name: str, param_space: dict):
    """One Tune experiment of at most ``num_samples`` trials (None: until the searcher
    or the deadline ends it); returns its ResultGrid."""
    budget = None
    if phase.deadline != float("inf"):  # a safety net behind the trials' own deadline
        budget = max(1.0, phase.deadline - time.time() + 1.0)
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric="score",
            mode=ctx.metric.mode,
            search_alg=searcher,
            scheduler=make_scheduler(phase.scheduler, ctx.num_folds),
            num_samples=num_samples if num_samples else -1,
            max_concurrent_trials=ctx.plan.concurrent_trials,
            time_budget_s=budget,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(ctx.folder),
            verbose=0,
            # a copy: Tune appends its loggers to the list it is given, and loggers kept
            # for the next part would keep this part's trials alive
            callbacks=list(callbacks),
            failure_config=tune.FailureConfig(max_failures=ctx.max_retries),
        ),
    )
    # Tune's own progress tables off while it runs (we log progress); Ctrl-C: see
    # raymlx.tabular.engine.interrupt
    with temporary_env(RAY_AIR_NEW_OUTPUT="0"), interruptible(tune=True):
        return tuner.fit()


def make_scheduler(spec: Any, num_folds: int):
    """The experiment's scheduler: raymlx's in-order FIFO (``None``) or ASHA over folds
    (``"asha"``), both leaving PENDING trials to Tune's queue
    (:mod:`raymlx.schedulers.in_order`); or a copy of the user's scheduler."""
    if spec is None or (spec == "asha" and num_folds < 2):
        return InOrderFIFOScheduler()
    if spec == "asha":
        return InOrderASHAScheduler(time_attr="folds_done", max_t=num_folds, grace_period=1,
                                    reduction_factor=3, variant="stopping")
    return copy.deepcopy(spec)


def _short_error(error: BaseException | None) -> str:
    return last_line(str(error) if error is not None else "unknown error",
                     type(error).__name__)


class _Namer:
    """``<family>_<n>`` (``_L<level>`` above layer 1), counting per family."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.counts: dict[str, int] = {}

    def __call__(self, family: str) -> str:
        self.counts[family] = self.counts.get(family, 0) + 1
        return f"{family}_{self.counts[family]}" + (f"_L{self.level}" if self.level > 1 else "")


def _record(namer: _Namer, model_cfg: dict, metrics: dict, checkpoint: str | None,
            error: str | None, trial_id: str | None, phase: Phase,
            ctx: SearchContext) -> ModelRecord:
    """One leaderboard row from a trial's last metrics and checkpoint (or its error)."""
    family = model_cfg.get("family", "?")
    rec = ModelRecord(name=namer(family), family=family, config=model_cfg.get("params", {}),
                      stack_level=phase.level, inputs=list(phase.inputs))
    if error is None and metrics.get("error"):
        rec.error = metrics["error"]
    elif error is None and metrics.get("partial"):
        who = "ASHA" if phase.scheduler == "asha" else type(phase.scheduler).__name__
        rec.error = (f"stopped by {who} after {metrics.get('folds_done')} of "
                     f"{ctx.num_folds} folds ({ctx.metric.name} "
                     f"{float(metrics['score']):.4g} so far)")
    elif error is None and checkpoint is not None and "score" in metrics:
        rec.score_val = float(metrics["score"])
        rec.fit_time_s = float(metrics["fit_time_s"])
        rec.predict_time_s = float(metrics["predict_time_s"])
        rec.models_path = os.path.join(checkpoint, MODELS_FILE)
        rec.trial_id = trial_id
        rec.folds_cut_short = int(metrics.get("folds_cut_short", 0))
        rec.repeats = int(metrics.get("repeats", 1))
        if int(metrics.get("folds", ctx.num_folds)) < ctx.num_folds:
            rec.note = (f"bagged over {metrics['folds']} of the fit's {ctx.num_folds} "
                        "folds (time budget)")
        rec.finished_at = float(metrics.get("timestamp", float("nan")))
    else:
        rec.error = error or "stopped at the time limit"
    return rec


def _trial_index(path: str | None) -> int:
    return trial_index(Path(path).name) if path else 1 << 30
