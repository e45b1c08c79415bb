"""One fit, once its inputs are prepared: layer 1's search, the stacking layers, each
layer's weighted ensemble, and the choice of the final model, inside the time limit.

The fit's :class:`~raymlx.cluster.manager.ResourceManager` and its
:class:`~raymlx.tabular.engine.oof_store.OutOfFoldStore` are started on the driver's node;
the features, labels and folds are put in the object store once for every layer's trials.
Layer 1 gets ``1 / (1 + 0.4 L)`` of the search time with ``L`` stacking layers
(:func:`~raymlx.tabular.ensembles.stacking.layer_share`); layer 1's ensemble is selected
in the store actor while the stackers train. Ctrl-C stops everything and leaves the fit
folder resumable (:mod:`raymlx.tabular.engine.resume`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import ray

from raymlx._internal.phase_times import timed
from raymlx.cluster.inventory import read_nodes
from raymlx.cluster.manager import final_summary, start_manager
from raymlx.cluster.policy import describe_request, plan_resources
from raymlx.cluster.report import utilisation_line
from raymlx.errors import FitError, InputError
from raymlx.tabular.engine import final_model
from raymlx.tabular.engine.inputs import FitInputs
from raymlx.tabular.engine.interrupt import interruptible, was_interrupted
from raymlx.tabular.engine.oof_store import start_store
from raymlx.tabular.engine.resume import (
    drop_layers_above,
    experiment_name,
    reload_finished,
    remaining,
)
from raymlx.tabular.engine.search import Phase, SearchContext, run_search
from raymlx.tabular.engine.trial import TrialSetup
from raymlx.tabular.ensembles.stacking import (
    choose_inputs,
    choose_stackers,
    layer_share,
    stack_width,
)
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.models import portfolio_configs, search_space
from raymlx.tabular.predictor import ModelRecord, ModelSet
from raymlx.tabular.settings import FitSettings, make_searcher

log = logging.getLogger("raymlx")


@dataclass
class FitResult:
    """What a finished fit hands the predictor."""

    models: ModelSet
    stacking: dict[str, Any]  # the final choice and the dynamic-stacking check
    best_model: str
    store: Any  # the OutOfFoldStore actor, alive while the predictor is
    cluster_report: dict[str, Any]
    fit_time_s: float
    phase_times: dict[str, float] = field(default_factory=dict)  # seconds, in order
    calibration: dict[str, Any] | None = None  # the large-data path's (engine/calibrate.py)


@contextmanager
def owning_fit_actors(manager, store, interrupted: str) -> Iterator[None]:
    """The fit's actors for the block: the manager is killed when it ends, the store too
    unless it ended well (the predictor keeps it); Ctrl-C inside logs ``interrupted`` and
    becomes a plain ``KeyboardInterrupt``."""
    ok = False
    try:
        yield
        ok = True
    except BaseException as exc:
        if not was_interrupted(exc):
            raise
        log.warning("interrupted; %s", interrupted)
        raise KeyboardInterrupt from None
    finally:
        ray.kill(manager)
        if not ok:
            ray.kill(store)


def save_cluster_report(folder: Path, report: dict[str, Any]) -> None:
    with open(folder / "cluster_report.json", "w") as fh:
        json.dump(report, fh, indent=1, default=str)


def run_fit(settings: FitSettings, inputs: FitInputs, folder: Path, t_start: float,
            time_limit: float | None, ledger: dict[str, list], t_wall: float) -> FitResult:
    """Runs the fit in ``folder``; ``t_start`` is when its time limit started (after Ray's
    start-up), ``t_wall`` when the call began, and ``ledger`` the trials an interrupted
    run finished, by phase (empty for a new fit)."""
    problem = inputs.problem
    families = [f for f in settings.families if problem.problem_type in f.applies_to]
    if not families:
        raise InputError(f"none of the families {[f.name for f in settings.families]} "
                         f"applies to a {problem.problem_type} problem")
    X = inputs.arrays["X"]
    log.info("%s problem, metric %s, %d rows x %d features, %d-fold bagging%s%s",
             problem.problem_type, problem.metric, X.shape[0], X.shape[1],
             settings.num_folds,
             f" x {settings.num_bag_sets} repeats" if settings.num_bag_sets > 1 else "",
             f", {settings.num_stack_levels} stacking layer(s)"
             if settings.num_stack_levels else "")
    plan = plan_resources(read_nodes(), families, settings.cpus_per_trial, settings.use_gpus,
                          settings.memory_per_trial)
    for note in plan.notes:
        log.info("resources: %s", note)
    log.info("resources: %d trials at once; %s", plan.concurrent_trials,
             ", ".join(f"{f}: {describe_request(r)}" for f, r in plan.requests.items()))
    deadline = (t_start + time_limit) if time_limit else float("inf")
    manager = start_manager(folder.name, plan.to_dict(), deadline, folder)
    store, store_name = start_store(folder)
    run = _FitRun(settings, inputs, folder, ledger, families, plan, store_name, store,
                  deadline, time_limit)
    with owning_fit_actors(manager, store, f"finish this fit with AutoML.resume("
                           f"{str(folder)!r}) or `raymlx fit --resume {folder} --output DIR`"):
        with interruptible():
            models, tops = run.search_and_stack()
            settle = min(2.0, max(0.05, deadline - time.time() - 1.0))  # in the limit
            report = final_summary(manager, settle)
    save_cluster_report(folder, report)
    stacking = final_model.choose_final(models, tops, store, inputs.y_hold,
                                        inputs.arrays["y"])
    best = stacking["final_model"]
    fit_time_s = time.time() - t_wall
    log.info("fit done in %.1f s: %d models, best %s (%s=%.5g); %s", fit_time_s,
             len(models.usable()), best, problem.metric, models.records[best].score_val,
             utilisation_line(report))
    phases = {"Ray start-up": max(0.0, t_start - t_wall), **run.phase_times}
    return FitResult(models, stacking, best, store, report, fit_time_s, phases)


class _FitRun:
    """The layers of one fit, with what they share."""

    def __init__(self, settings: FitSettings, inputs: FitInputs, folder: Path,
                 ledger: dict[str, list], families: list, plan, store_name: str, store,
                 deadline: float, time_limit: float | None) -> None:
        self.settings, self.inputs, self.folder, self.ledger = settings, inputs, folder, ledger
        self.phase_times: dict[str, float] = {}
        self.families, self.store, self.deadline = families, store, deadline
        self.reserve = min(15.0, max(5.0, 0.1 * time_limit)) if time_limit else 0.0
        self.portfolio = portfolio_configs(families, settings.hyperparameters,
                                           inputs.problem.n_classes)
        self.max_models = settings.max_models
        if self.max_models is None and deadline == float("inf"):
            self.max_models = len(self.portfolio)
        problem = inputs.problem
        self.metric = get_metric(problem.metric, problem.problem_type)
        setup = TrialSetup(problem=problem, metric=self.metric.name,
                           deadline=deadline - self.reserve,
                           num_threads=int(plan.cpus_per_trial),
                           seed=settings.seed, fit_name=folder.name, store_name=store_name,
                           requests=plan.requests,
                           memory_limit=settings.memory_per_trial,
                           families={f.name: f for f in families})
        self.ctx = SearchContext(folder=folder, setup=setup, metric=self.metric, plan=plan,
                                 store=store, data_ref=None,
                                 num_folds=int(np.atleast_2d(inputs.arrays["fold"])[0].max()) + 1,
                                 max_retries=settings.max_retries,
                                 callbacks=settings.callbacks)

    def search_and_stack(self) -> tuple[ModelSet, list[str | None]]:
        """Layer 1's search, then the stacking layers, each with its weighted ensemble;
        returns the models and each layer's best model."""
        arrays = self.inputs.arrays
        y = arrays["y"]
        reload_finished(self.store, self.ledger, self.folder)
        self.ctx = self.ctx.with_data(ray.put(arrays))  # once, for every layer's trials
        with timed(self.phase_times, "search (layer 1)"):
            records = self._layer_one()
        models = ModelSet(self.inputs.problem, records)
        if not models.usable():
            errors = "; ".join(sorted({r.error or "" for r in records}))[:400]
            raise FitError(f"no model finished within the limits ({len(records)} "
                           f"trials): {errors or 'no trial ran'}; raise time_limit")
        log.debug("search ended %.2f s before the deadline", self.deadline - time.time())
        # layer 1's ensemble is selected in the store actor while the stackers train
        with timed(self.phase_times, "ensemble (layer 1)"):
            pending = final_model.start_ensemble(models, records, self.store, y,
                                                 final_model.ENSEMBLE_NAME)
            tops = [final_model.finish_ensemble(models, pending, self.deadline, level=1)]
        layer = records
        for level in range(2, self.settings.num_stack_levels + 2):
            with timed(self.phase_times, f"stacking (layer {level})"):
                layer = self._stack_layer(level, layer, models)
            if not layer:
                break
            with timed(self.phase_times, f"ensemble (layer {level})"):
                pending = final_model.start_ensemble(models, layer, self.store, y,
                                                     f"{final_model.ENSEMBLE_NAME}_L{level}")
                tops.append(final_model.finish_ensemble(models, pending, self.deadline,
                                                        level))
        log.debug("ensembles done %.2f s before the deadline", self.deadline - time.time())
        return models, tops

    def _layer_one(self) -> list[ModelRecord]:
        done = self.ledger.get("search", [])
        # a resumed search draws anew, and differently after every interruption: one seed
        # for all resumes proposed the same first configurations each time (chaos.py)
        searcher = make_searcher(self.settings.searcher,
                                 self.settings.seed + (1000 + len(done) if done else 0),
                                 remaining(self.portfolio, [e["model"] for e in done]))
        for e in done:
            if e["metrics"].get("score") is not None and not e["metrics"].get("error"):
                searcher.add_evaluated_point({"model": e["model"]}, e["metrics"]["score"])
        end = self.deadline - self.reserve
        if self.settings.num_stack_levels and self.deadline != float("inf"):
            end = time.time() + (end - time.time()) * layer_share(
                self.settings.num_stack_levels)
        records = run_search(self.ctx, Phase(
            phase="search", experiment=experiment_name("search", self.ledger),
            param_space=search_space(self.families), searcher=searcher, deadline=end,
            max_models=self.max_models, scheduler=self.settings.scheduler, previous=done,
            fold_budget=self.settings.budget_folds))
        if len(records) > len(done):
            drop_layers_above(self.ledger, 1, self.folder)
        return records

    def _stack_layer(self, level: int, below: list[ModelRecord],
                     models: ModelSet) -> list[ModelRecord]:
        """Trains stacking layer ``level`` on ``below``'s out-of-fold predictions."""
        from raymlx.searchers import RandomSearch

        problem, end = self.inputs.problem, self.deadline - self.reserve
        inputs, stackers = choose_inputs(below, self.metric), choose_stackers(below,
                                                                              self.metric)
        left = end - time.time()
        if not inputs or not stackers or left <= 0:
            log.info("no stacking layer %d: %s", level,
                     "no time left" if left <= 0 else "no usable model below")
            return []
        layer_end = end if end == float("inf") else (
            time.time() + left / (self.settings.num_stack_levels + 2 - level))
        phase = f"L{level}"
        done = [e["model"] for e in self.ledger.get(phase, [])]
        width = stack_width(len(inputs), problem.problem_type, problem.n_classes)
        log.info("stacking layer %d: %d stackers on %d features + the predictions of %d "
                 "models", level, len(stackers), problem.n_features, len(inputs))
        chosen = {c["model"]["family"] for c in stackers}
        records = run_search(self.ctx, Phase(
            phase=phase, experiment=experiment_name(phase, self.ledger),
            param_space=search_space([f for f in self.families if f.name in chosen]),
            searcher=RandomSearch(seed=self.settings.seed + level, points_to_evaluate=[
                c for c in stackers if c["model"] not in done]),
            deadline=layer_end, max_models=len(stackers),
            problem=problem.with_features(problem.n_features + width), level=level,
            inputs=tuple(r.name for r in inputs),
            stacked=tuple(r.trial_id for r in inputs), holdout="X_hold" in self.inputs.arrays,
            previous=self.ledger.get(phase, [])))
        for rec in records:
            models.records[rec.name] = rec
        if len(records) > len(self.ledger.get(phase, [])):
            drop_layers_above(self.ledger, level, self.folder)
        return [r for r in records if r.ok]
