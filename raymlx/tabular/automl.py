"""``AutoML``: fit a table on Ray, then predict, rank, explain, save and load.

The flow (../DESIGN.md): validate and preprocess the table before Ray starts; ``ray.put``
features, labels and folds once; run every candidate as a bagged Ray Tune trial (portfolio
first, then search) with out-of-fold predictions kept in the object store; with
``num_stack_levels`` > 0, train stacking layers on those predictions
(:mod:`raymlx.tabular.ensembles.stacking`); select a greedy weighted ensemble over each layer in a
Ray task; keep the whole fit inside ``time_limit``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import ray

from raymlx import __version__
from raymlx._internal.ray_session import ensure_ray
from raymlx._internal.validation import check_int, check_number
from raymlx.cluster.inventory import read_nodes
from raymlx.cluster.manager import final_summary, on_this_node, start_manager
from raymlx.cluster.policy import describe_request, parse_bytes, plan_resources
from raymlx.cluster.report import utilisation_line
from raymlx.errors import FitError, InputError
from raymlx.searchers import EvolutionSearch, GPSearch, RandomSearch, RLSearch, TPESearch
from raymlx.tabular.data import TablePreprocessor, Task, check_frame, load_table, prepare_label
from raymlx.tabular.engine.interrupt import interruptible, was_interrupted
from raymlx.tabular.engine.ledger import load_fit_state, read_ledger, reset_phase, save_fit_state
from raymlx.tabular.engine.oof_store import OutOfFoldStore
from raymlx.tabular.engine.search import ModelRecord, run_search
from raymlx.tabular.engine.trial import HOLDOUT_FILE, MODELS_FILE, OOF_FILE, TrialSetup
from raymlx.tabular.ensembles.bagging import assign_repeated_folds
from raymlx.tabular.ensembles.stacking import (
    choose_inputs,
    choose_stackers,
    holdout_rows,
    keep_stack,
    layer_share,
    stack_width,
)
from raymlx.tabular.explain import permutation_importances, plot_importances
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.models import get_families, portfolio_configs, search_space
from raymlx.tabular.models.base import Problem
from raymlx.tabular.persistence import load_folder, save_folder
from raymlx.tabular.predictor import ModelSet

log = logging.getLogger("raymlx")

ENSEMBLE_NAME = "weighted_ensemble"
ENSEMBLE_CANDIDATES = 20
ENSEMBLE_ITERATIONS = 25
SEARCHERS = {"random": RandomSearch, "tpe": TPESearch, "gp": GPSearch,
             "evolution": EvolutionSearch, "rl": RLSearch,
             # "auto": TPE (joint kernels). benchmarks/hpo.py: significantly better than random
             # on all five problems (LightGBM's validation loss p=0.0001), level with Optuna's
             # TPE, 1-3 ms per suggestion. The GP ends lower there but costs 2.5 s per
             # suggestion at 100 trials in AutoML's 72-dimension space. Inside AutoML (60 s,
             # benchmarks/results/tabular_searchers.json) TPE beat random on 3 tables, lost
             # on 1 and tied on 4 (README, "Searchers inside AutoML").
             "auto": TPESearch}
SCHEDULERS = (None, "asha")
# what each preset sets when the argument is left at None (AutoGluon's names)
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {"num_folds": 3, "num_stack_levels": 0, "num_bag_sets": 1,
             "dynamic_stacking": False, "families": ["lightgbm", "xgboost", "linear"]},
    "medium_quality": {"num_folds": 5, "num_stack_levels": 0, "num_bag_sets": 1,
                       "dynamic_stacking": False},
    "best_quality": {"num_folds": 8, "num_stack_levels": 1, "num_bag_sets": 2,
                     "dynamic_stacking": True},
}


def _setup_logging(verbosity: int) -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[raymlx] %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG))


class AutoML:
    """Searches, bags and ensembles models for one label column of a table, on Ray.

    Args:
        label: the column to predict.
        problem_type: "binary", "multiclass" or "regression"; inferred when None.
        metric: a name from ``raymlx.tabular.metrics.METRICS``; roc_auc / log_loss / rmse
            by default.
        time_limit: seconds the whole fit may take (Ray's start-up excepted); None = no limit.
        max_models: most trials to run; None = as many as time allows (the portfolio size
            when there is no time limit either).
        presets: "medium_quality" (default: 5-fold bagging, one layer and its weighted
            ensemble), "fast" (3 folds; LightGBM, XGBoost and the linear model) or
            "best_quality" (8 folds, up to 2 repeats of them, one stacking layer, dynamic
            stacking). A preset only fills the arguments below left at None.
        num_folds: folds of bagging (stratified for classification).
        num_stack_levels: stacking layers on top of the searched models (0 = none). Each
            trains the best configuration of every family on the features plus the
            out-of-fold predictions of the layer below; the final ensemble is selected over
            the top layer.
        num_bag_sets: repeats of k-fold bagging, each on a new split; repeats after the
            first run only while time allows.
        dynamic_stacking: hold out 1/9 of the rows (at least 50) and keep the stack only
            when its ensemble beats layer 1's there; otherwise fall back to layer 1.
        seed: seeds folds, search and models.
        path: folder of the Tune experiment (fold models, checkpoints); default ./raymlx_runs.
        address: Ray cluster to connect to; default ``RAY_ADDRESS``, a local ``ray start``
            cluster, or a new local instance.
        families: restrict the search to these model families (see ``raymlx.tabular.models``).
        hyperparameters: ``{family: [config, ...]}`` tried first instead of the built-in
            portfolio (like AutoGluon's ``hyperparameters``); it also restricts the search
            to those families. ``{"lightgbm": [{}]}`` is LightGBM with raymlx's defaults.
        searcher: what proposes configurations after the portfolio: "auto" (default: the
            searcher of ours the benchmarks support for AutoML's space, TPE today), "random",
            "tpe", "gp", "evolution" or "rl" (see ``raymlx.searchers``).
        scheduler: None (default: every trial bags all folds) or "asha": trials report after
            each fold and ASHA's stopping rule (``raymlx.schedulers.ASHAScheduler``, eta 3,
            budget = folds done) ends configurations outside the top third of their rung;
            the leaderboard lists them as stopped.
        cpus_per_trial: CPUs (and threads) each trial gets (capped at the largest node, and
            at the GPU nodes' CPUs for a GPU trial).
        use_gpus: None (default): the families that can use a GPU (XGBoost, the MLP) ask
            for one GPU per trial when the cluster has GPUs, so Ray runs them on GPU nodes;
            True insists (an error without GPUs); False keeps every trial on CPUs.
        memory_per_trial: bytes or a size ("2GB") each trial may use: Ray only places a
            trial where that much of its ``memory`` resource is free, and a trial whose
            process grows past it fails with a recorded error while the fit goes on.
        max_retries: times a trial is run again when its worker process or node dies.
        verbosity: 0 quiet, 1 progress lines on stderr, 2 also timing details.

    Every fit starts a :class:`~raymlx.cluster.manager.ResourceManager` actor that plans
    the resources above from the cluster's nodes and keeps a live per-node report
    (``raymlx cluster status``); its summary is ``cluster_report_``, saved with the
    predictor and as ``cluster_report.json`` in the fit's folder.
    """

    def __init__(
        self,
        label: str,
        problem_type: str | None = None,
        metric: str | None = None,
        time_limit: float | None = None,
        max_models: int | None = None,
        presets: str | None = None,
        num_folds: int | None = None,
        num_stack_levels: int | None = None,
        num_bag_sets: int | None = None,
        dynamic_stacking: bool | None = None,
        seed: int = 0,
        path: str | Path | None = None,
        address: str | None = None,
        families: list[str] | None = None,
        hyperparameters: dict[str, list[dict[str, Any]]] | None = None,
        searcher: str = "auto",
        scheduler: str | None = None,
        cpus_per_trial: int = 1,
        use_gpus: bool | None = None,
        memory_per_trial: float | str | None = None,
        max_retries: int = 2,
        verbosity: int = 1,
    ) -> None:
        self.label = label
        self.problem_type = problem_type
        self.metric = metric
        self.time_limit = time_limit
        self.max_models = max_models
        if presets is not None and presets not in PRESETS:
            raise InputError(f"presets={presets!r} is invalid; choose one of: "
                             f"{', '.join(PRESETS)}")
        self.presets = presets
        preset = PRESETS[presets or "medium_quality"]
        self.num_folds = preset["num_folds"] if num_folds is None else num_folds
        self.num_stack_levels = (preset["num_stack_levels"] if num_stack_levels is None
                                 else num_stack_levels)
        self.num_bag_sets = preset["num_bag_sets"] if num_bag_sets is None else num_bag_sets
        self.dynamic_stacking = (preset["dynamic_stacking"] if dynamic_stacking is None
                                 else dynamic_stacking)
        if families is None and hyperparameters is None:
            families = preset.get("families")
        self.seed = seed
        self.path = path
        self.address = address
        self.families = families
        self.hyperparameters = hyperparameters
        self.searcher = searcher
        self.scheduler = scheduler
        self.cpus_per_trial = cpus_per_trial
        self.use_gpus = use_gpus
        self.memory_per_trial = memory_per_trial
        self.max_retries = max_retries
        self.verbosity = verbosity
        self._check_arguments()

    def _check_arguments(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise InputError(f"label={self.label!r} is invalid; give the label column's name")
        if self.time_limit is not None:
            check_number("time_limit", self.time_limit, 0, low_open=True)
        check_int("max_models", self.max_models, 1, allow_none=True)
        check_int("num_folds", self.num_folds, 2, 20)
        check_int("num_stack_levels", self.num_stack_levels, 0, 3)
        check_int("num_bag_sets", self.num_bag_sets, 1, 20)
        if not isinstance(self.dynamic_stacking, bool):
            raise InputError(f"dynamic_stacking={self.dynamic_stacking!r} is invalid; give "
                             "True or False")
        check_int("seed", self.seed, 0)
        check_int("verbosity", self.verbosity, 0, 2)
        check_int("cpus_per_trial", self.cpus_per_trial, 1)
        check_int("max_retries", self.max_retries, 0, 100)
        if self.use_gpus not in (None, True, False):
            raise InputError(f"use_gpus={self.use_gpus!r} is invalid; give None (GPUs where "
                             "the cluster has them), True or False")
        parse_bytes(self.memory_per_trial)
        if self.families is not None:
            get_families(list(self.families))
        if self.hyperparameters is not None:
            hp = self.hyperparameters
            if not isinstance(hp, dict) or not hp or not all(
                    isinstance(v, list) and all(isinstance(c, dict) for c in v)
                    for v in hp.values()):
                raise InputError("hyperparameters must map family names to lists of config "
                                 "dicts, e.g. {'lightgbm': [{'learning_rate': 0.05}]}")
            get_families(list(hp))
        if self.scheduler not in SCHEDULERS:
            raise InputError(f"scheduler={self.scheduler!r} is invalid; choose None or 'asha'")
        if self.searcher not in SEARCHERS:
            raise InputError(f"searcher={self.searcher!r} is invalid; choose one of: "
                             f"{', '.join(SEARCHERS)}")
        if self.metric is not None:
            from raymlx.tabular.metrics import METRICS

            if str(self.metric).lower() not in METRICS:
                get_metric(self.metric, "binary")  # raises the unknown-metric error

    # ------------------------------------------------------------------ fit
    def fit(self, train: pd.DataFrame | str | Path) -> AutoML:
        """Searches and ensembles models on ``train`` (a DataFrame or a CSV/Parquet path).

        The fit's folder (``experiment_path_``, under ``path``) keeps its inputs and a
        ledger of finished trials as it goes: after an interruption (Ctrl-C, a killed
        driver), :meth:`resume` finishes it without refitting the finished trials."""
        _setup_logging(self.verbosity)
        t_start = time.time()
        inputs = self._prepare(train)
        ray_s = ensure_ray(self.address)
        name = time.strftime("fit-%Y%m%d-%H%M%S-") + f"{int(t_start * 1000) % 1000:03d}"
        folder = Path(self.path or "raymlx_runs").expanduser().resolve() / name
        save_fit_state(folder, {"version": __version__, "params": self._params(),
                                "inputs": inputs, "started": t_start + ray_s})
        log.info("fit folder: %s", folder)
        self.experiment_path_ = str(folder)  # set now: resume() needs it after a Ctrl-C
        return self._run(inputs, folder, t_start + ray_s, self.time_limit, {}, t_start)

    @classmethod
    def resume(cls, folder: str | Path, time_limit: float | None = None,
               address: str | None = None, verbosity: int | None = None) -> AutoML:
        """Finishes a fit that was interrupted, from its folder (``experiment_path_``; the
        fit logs it at the start). Trials that finished are not run again: their models
        and out-of-fold predictions are read from their checkpoints; trials that were
        running are run again. The fit's other arguments are the interrupted fit's.

        Args:
            folder: the fit's folder (``<path>/fit-<date>-<time>``).
            time_limit: seconds for the rest (default: what was left of the original
                limit, at least a quarter of it; no limit if the fit had none).
            address: the Ray cluster to finish on (default: the fit's).
            verbosity: override the fit's verbosity.
        """
        state, folder = load_fit_state(folder)
        params = dict(state["params"])
        if address is not None:
            params["address"] = address
        if verbosity is not None:
            params["verbosity"] = verbosity
        aml = cls(**params)
        _setup_logging(aml.verbosity)
        ledger = read_ledger(folder)
        if time_limit is None and aml.time_limit:
            last = max((e["time"] for entries in ledger.values() for e in entries),
                       default=state["started"])
            time_limit = max(aml.time_limit - (last - state["started"]),
                             0.25 * aml.time_limit)
        elif time_limit is not None:
            check_number("time_limit", time_limit, 0, low_open=True)
        t0 = time.time()
        ray_s = ensure_ray(aml.address)
        log.info("resuming %s: %d trials finished before", folder,
                 sum(len(v) for v in ledger.values()))
        aml.experiment_path_ = str(folder)
        return aml._run(state["inputs"], folder, t0 + ray_s, time_limit, ledger, t0)

    def _prepare(self, train) -> dict[str, Any]:
        """Validates the table, fits the preprocessor, encodes, and draws the folds."""
        df = load_table(train, "training table")
        check_frame(df, "training table")
        df, y, problem_type, classes = prepare_label(df, self.label, self.problem_type)
        metric = get_metric(self.metric, problem_type)
        if metric.name == "rmsle" and (y < 0).any():
            raise InputError(f"metric 'rmsle' needs a non-negative label; {self.label!r} has "
                             "negative values")
        if len(df) < 2 * self.num_folds:
            raise InputError(f"the training table has {len(df)} labelled rows; "
                             f"{self.num_folds}-fold bagging needs at least {2 * self.num_folds}")
        task = Task(self.label, problem_type, metric.name, classes)
        pre = TablePreprocessor().fit(df.drop(columns=[self.label]))
        X = pre.transform(df)
        y_enc = task.encode(y)
        del df, y  # the driver keeps the float32 features only
        held = (holdout_rows(y_enc, task.is_classification, self.seed)
                if self.num_stack_levels and self.dynamic_stacking else None)
        X_hold = y_hold = None
        if held is not None:
            X_hold, y_hold, X, y_enc = X[held], y_enc[held], X[~held], y_enc[~held]
        fold = assign_repeated_folds(y_enc, self.num_folds, task.is_classification, self.seed,
                                     self.num_bag_sets)
        fold = fold[0] if self.num_bag_sets == 1 else fold
        arrays = {"X": X, "y": y_enc, "fold": fold}
        if X_hold is not None:  # every trial also predicts the held-out rows
            arrays["X_hold"] = X_hold
        return {"task": task, "preprocessor": pre, "arrays": arrays, "y_hold": y_hold}

    def _run(self, inputs: dict[str, Any], folder: Path, t_start: float,
             time_limit: float | None, ledger: dict[str, list], t_wall: float) -> AutoML:
        """The fit after preparation: search, stacking layers, ensembles. ``ledger``: the
        trials an interrupted run finished, by phase (empty for a new fit)."""
        task, pre = inputs["task"], inputs["preprocessor"]
        X = inputs["arrays"]["X"]
        metric = get_metric(task.metric, task.problem_type)
        names = list(self.hyperparameters) if self.hyperparameters else self.families
        families = [f for f in get_families(names) if task.problem_type in f.applies_to]
        log.info("%s problem, metric %s, %d rows x %d features, %d-fold bagging%s%s",
                 task.problem_type, metric.name, X.shape[0], X.shape[1], self.num_folds,
                 f" x {self.num_bag_sets} repeats" if self.num_bag_sets > 1 else "",
                 f", {self.num_stack_levels} stacking layer(s)" if self.num_stack_levels
                 else "")
        deadline = (t_start + time_limit) if time_limit else float("inf")
        reserve = min(15.0, max(5.0, 0.1 * time_limit)) if time_limit else 0.0
        max_models = self.max_models
        portfolio = portfolio_configs(families, self.hyperparameters)
        if max_models is None and deadline == float("inf"):
            max_models = len(portfolio)
        plan = plan_resources(read_nodes(), families, self.cpus_per_trial, self.use_gpus,
                              parse_bytes(self.memory_per_trial))
        for note in plan.notes:
            log.info("resources: %s", note)
        log.info("resources: %d trials at once; %s", plan.concurrent_trials,
                 ", ".join(f"{f}: {describe_request(r)}" for f, r in plan.requests.items()))
        manager = start_manager(folder.name, plan.to_dict(), deadline)
        store = OutOfFoldStore.options(scheduling_strategy=on_this_node()).remote()
        ok = False
        try:
            with interruptible():
                models, tops = self._search_and_stack(
                    inputs, folder, ledger, families, portfolio, metric, plan, manager,
                    store, deadline, reserve, max_models)
                settle = min(2.0, max(0.05, deadline - time.time() - 1.0))  # in the limit
                self.cluster_report_ = final_summary(manager, settle)
            ok = True
        except BaseException as exc:
            if not was_interrupted(exc):
                raise
            log.warning("interrupted; finish this fit with AutoML.resume(%r) or "
                        "`raymlx fit --resume %s --output DIR`", str(folder), folder)
            raise KeyboardInterrupt from None
        finally:
            ray.kill(manager)
            if not ok:
                ray.kill(store)
        with open(folder / "cluster_report.json", "w") as fh:
            json.dump(self.cluster_report_, fh, indent=1, default=str)
        self.task_, self.preprocessor_, self.models_ = task, pre, models
        self.stacking_ = self._choose_final(models, tops, store, inputs["y_hold"])
        self.best_model_ = self.stacking_["final_model"]
        self.oof_store_ = store
        self.fit_time_s_ = time.time() - t_wall
        log.info("fit done in %.1f s: %d models, best %s (%s=%.5g); %s", self.fit_time_s_,
                 len(models.usable()), self.best_model_, metric.name,
                 models.records[self.best_model_].score_val,
                 utilisation_line(self.cluster_report_))
        return self

    def _search_and_stack(self, inputs: dict[str, Any], folder: Path, ledger: dict,
                          families: list, portfolio: list, metric, plan, manager, store,
                          deadline: float, reserve: float, max_models: int | None):
        """Layer 1's search, then the stacking layers, each with its weighted ensemble;
        returns the models and each layer's best model."""
        task = inputs["task"]
        arrays = dict(inputs["arrays"])
        X, y_enc = arrays["X"], arrays["y"]
        _reload_finished(store, ledger, folder)
        problem = Problem(task.problem_type, task.n_classes, X.shape[1],
                          dict(inputs["preprocessor"].categorical_))
        setup = TrialSetup(problem=problem, metric=metric.name, deadline=deadline - reserve,
                           num_threads=plan.cpus_per_trial, seed=self.seed, manager=manager,
                           requests=plan.requests,
                           memory_limit=parse_bytes(self.memory_per_trial))
        done = ledger.get("search", [])
        finished = [e["model"] for e in done]
        todo = list(portfolio)
        for model in finished:  # each finished trial crosses off one portfolio entry
            for i, p in enumerate(todo):
                if _same_config(p["model"], model):
                    del todo[i]
                    break
        searcher = SEARCHERS[self.searcher](
            seed=self.seed + (1000 if done else 0),  # a resumed search draws anew
            points_to_evaluate=todo)
        for e in done:
            if e["metrics"].get("score") is not None and not e["metrics"].get("error"):
                searcher.add_evaluated_point({"model": e["model"]}, e["metrics"]["score"])
        search_end = deadline - reserve
        if self.num_stack_levels and deadline != float("inf"):
            search_end = time.time() + (search_end - time.time()) * layer_share(
                self.num_stack_levels)
        data_ref = ray.put(arrays)  # once, for every layer's trials
        # the trials read the features from the object store; the driver keeps the rest
        arrays = {k: v for k, v in arrays.items() if k != "X"}
        del X
        records = run_search(
            arrays, replace(setup, deadline=search_end), metric, search_space(families),
            searcher, plan, folder, _experiment("search", ledger), max_models, search_end,
            store, scheduler=self.scheduler, data_ref=data_ref, previous=done,
            max_retries=self.max_retries)
        models = ModelSet(task, records)
        if len(records) > len(done):
            _drop_layers_above(ledger, 1, folder)
        if not models.usable():
            errors = "; ".join(sorted({r.error or "" for r in records}))[:400]
            raise FitError(f"no model finished within the limits ({len(records)} "
                           f"trials): {errors or 'no trial ran'}; raise time_limit")
        log.debug("search ended %.2f s before the deadline", deadline - time.time())
        # layer 1's ensemble is selected in the store actor while the stackers train
        pending = self._start_ensemble(models, records, store, y_enc, ENSEMBLE_NAME)
        tops = [self._finish_ensemble(models, pending, deadline, level=1)]
        layer = records
        for level in range(2, self.num_stack_levels + 2):
            layer = self._stack_layer(level, layer, models, arrays, data_ref, setup,
                                      plan, folder, store, deadline - reserve, ledger)
            if not layer:
                break
            pending = self._start_ensemble(models, layer, store, y_enc,
                                           f"{ENSEMBLE_NAME}_L{level}")
            tops.append(self._finish_ensemble(models, pending, deadline, level))
        log.debug("ensembles done %.2f s before the deadline", deadline - time.time())
        return models, tops

    def _stack_layer(self, level: int, below: list[ModelRecord], models: ModelSet,
                     arrays: dict, data_ref, setup: TrialSetup, plan, folder: Path,
                     store, end: float, ledger: dict[str, list]) -> list[ModelRecord]:
        """Trains stacking layer ``level`` on ``below``'s out-of-fold predictions."""
        metric, task = models.metric, models.task
        inputs, stackers = choose_inputs(below, metric), choose_stackers(below, metric)
        left = end - time.time()
        if not inputs or not stackers or left <= 0:
            log.info("no stacking layer %d: %s", level,
                     "no time left" if left <= 0 else "no usable model below")
            return []
        layer_end = end if end == float("inf") else (
            time.time() + left / (self.num_stack_levels + 2 - level))
        done = [e["model"] for e in ledger.get(f"L{level}", [])]
        refs = ray.get(store.refs.remote())
        holdout = ray.get(store.holdout_refs.remote()) if "X_hold" in arrays else {}
        width = stack_width(len(inputs), task.problem_type, task.n_classes)
        problem = replace(setup.problem, n_features=setup.problem.n_features + width)
        log.info("stacking layer %d: %d stackers on %d features + the predictions of %d "
                 "models", level, len(stackers), setup.problem.n_features, len(inputs))
        records = run_search(
            arrays, replace(setup, problem=problem, deadline=layer_end), metric,
            search_space(get_families(sorted({c["model"]["family"] for c in stackers}))),
            RandomSearch(seed=self.seed + level, points_to_evaluate=[
                c for c in stackers if c["model"] not in done]), plan,
            folder, _experiment(f"L{level}", ledger), len(stackers), layer_end, store,
            stack_refs=[refs[r.trial_id][0] for r in inputs],
            holdout_refs=[holdout[r.trial_id][0] for r in inputs] if holdout else None,
            level=level, data_ref=data_ref, inputs=[r.name for r in inputs],
            phase=f"L{level}", previous=ledger.get(f"L{level}", []),
            max_retries=self.max_retries)
        for rec in records:
            models.records[rec.name] = rec
        if len(records) > len(ledger.get(f"L{level}", [])):
            _drop_layers_above(ledger, level, folder)
        return [r for r in records if r.ok]

    def _start_ensemble(self, models: ModelSet, layer: list[ModelRecord], store,
                        y: np.ndarray, name: str):
        metric = models.metric
        ranked = sorted((r for r in layer if r.ok and r.trial_id),
                        key=lambda r: -metric.sign() * r.score_val)[:ENSEMBLE_CANDIDATES]
        if len(ranked) < 2:
            return None
        task = store.select_ensemble.remote([r.trial_id for r in ranked], y, metric.name,
                                            models.task.problem_type, ENSEMBLE_ITERATIONS)
        return name, ranked, task, time.time()

    def _finish_ensemble(self, models: ModelSet, pending, deadline: float,
                         level: int) -> str | None:
        """Adds the weighted ensemble of one layer to ``models``; returns the name of that
        layer's best model (its ensemble unless there was none or no time for it)."""
        layer_best = None
        if pending is not None:
            name, ranked, task, t0 = pending
            wait = None if deadline == float("inf") else max(0.5, deadline - time.time() - 0.3)
            ready, _ = ray.wait([task], timeout=wait)
            if ready:
                sel = ray.get(task)
                weights = {r.name: float(w) for r, w in zip(ranked, sel.weights) if w > 0}
                members = [models.records[n] for n in weights]
                models.records[name] = ModelRecord(
                    name=name, family="ensemble", config={}, score_val=sel.score,
                    fit_time_s=sum(m.fit_time_s for m in members) + (time.time() - t0),
                    predict_time_s=sum(m.predict_time_s for m in members), weights=weights,
                    stack_level=level)
                return name
            ray.cancel(task)
            log.info("skipped the layer-%d ensemble: no time left for it", level)
        ranked = sorted((r for r in models.usable() if r.stack_level == level),
                        key=lambda r: -models.metric.sign() * r.score_val)
        return ranked[0].name if ranked else layer_best

    def _choose_final(self, models: ModelSet, tops: list[str | None], store,
                      y_hold: np.ndarray | None) -> dict[str, Any]:
        """The model ``predict`` uses: the top layer's best, unless the holdout check shows
        that stacking does not beat layer 1 (then layer 1's best). The check scores the
        holdout predictions the trials stored, in the store actor: no model is loaded."""
        tops = [t for t in tops if t is not None]
        report: dict[str, Any] = {"levels_trained": max(models.records[t].stack_level
                                                        for t in tops),
                                  "holdout_rows": 0 if y_hold is None else len(y_hold),
                                  "holdout_scores": {}, "final_model": tops[-1],
                                  "reason": "no stacking" if len(tops) == 1 else
                                  "top layer (no holdout check)"}
        if len(tops) == 1 or y_hold is None:
            return report
        metric = models.metric
        for t in (tops[0], tops[-1]):
            rec = models.records[t]
            weights = rec.weights or {t: 1.0}
            report["holdout_scores"][t] = ray.get(store.score_holdout.remote(
                {models.records[n].trial_id: w for n, w in weights.items()}, y_hold,
                metric.name, models.task.problem_type))
        s1, s_top = report["holdout_scores"][tops[0]], report["holdout_scores"][tops[-1]]
        if s1 is None or s_top is None:
            report.update(final_model=tops[0], reason="a model had no holdout predictions; "
                          "kept layer 1")
        elif keep_stack(s1, s_top, metric):
            report["reason"] = "stacking beat layer 1 on the holdout"
        else:
            report.update(final_model=tops[0], reason="stacking did not beat layer 1 on the "
                          "holdout; fell back to layer 1")
        log.info("dynamic stacking: %s (%s on %d held-out rows: %s)", report["reason"],
                 metric.name, len(y_hold), report["holdout_scores"])
        return report

    # ------------------------------------------------------------- predict
    def _fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise InputError("this AutoML is not fitted yet; call fit() or AutoML.load()")

    def _features(self, data, what: str) -> tuple[pd.DataFrame, np.ndarray]:
        self._fitted()
        df = load_table(data, what)
        check_frame(df, what)
        return df, self.preprocessor_.transform(df)

    def predict(self, data: pd.DataFrame | str | Path, model: str | None = None) -> pd.Series:
        """Predicted labels (classification) or values (regression), one per row."""
        df, X = self._features(data, "prediction data")
        out = self.models_.predict(X, model or self.best_model_)
        if self.task_.is_classification:
            out = self.task_.decode(out.argmax(axis=1))
        return pd.Series(out, index=df.index, name=self.label)

    def predict_proba(self, data: pd.DataFrame | str | Path,
                      model: str | None = None) -> pd.DataFrame:
        """Class probabilities, one column per class label."""
        self._fitted()
        if not self.task_.is_classification:
            raise InputError("predict_proba is for classification; this is a regression "
                             "predictor, use predict()")
        df, X = self._features(data, "prediction data")
        out = self.models_.predict(X, model or self.best_model_)
        return pd.DataFrame(out, index=df.index, columns=list(self.task_.classes))

    def _labelled(self, data, what: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        df, X = self._features(data, what)
        if self.label not in df.columns:
            raise InputError(f"the {what} has no label column {self.label!r}")
        keep = df[self.label].notna().to_numpy()
        df, X = df.loc[keep], X[keep]
        y = df[self.label]
        if self.task_.is_classification:
            unseen = sorted(set(map(str, y.unique())) - set(map(str, self.task_.classes)))
            if unseen:
                raise InputError(f"the {what} has labels never seen in training: {unseen[:10]}")
            if not set(y.unique()) <= set(self.task_.classes):  # same text, other type
                y = y.astype(str).map({str(c): c for c in self.task_.classes})
        return df, X, self.task_.encode(y)

    def leaderboard(self, test: pd.DataFrame | str | Path | None = None,
                    extra_metrics: list[str] | None = None) -> pd.DataFrame:
        """Every model and the ensemble, best first: model, family, score_val (out-of-fold),
        score_test (with ``test``), fit_time_s, predict_time_s, config, error. With ``test``,
        ``extra_metrics`` (e.g. ``["mae", "r2"]``) add one test-score column each."""
        self._fitted()
        if test is None:
            if extra_metrics:
                raise InputError("extra_metrics are scored on test data; pass test=")
            return self.models_.leaderboard()
        _, X, y = self._labelled(test, "test data")
        return self.models_.leaderboard(X, y, extra_metrics)

    def score(self, test: pd.DataFrame | str | Path, metric: str | None = None,
              model: str | None = None) -> float:
        """The predictor's score on labelled ``test`` data (any metric of the problem)."""
        _, X, y = self._labelled(test, "test data")
        m = get_metric(metric or self.task_.metric, self.task_.problem_type)
        return m.score(y, self.models_.predict(X, model or self.best_model_),
                       self.task_.problem_type)

    def explain(self, data: pd.DataFrame | str | Path, plot: str | Path | None = None,
                n_repeats: int = 5, max_rows: int = 2000) -> pd.DataFrame:
        """Permutation importance of each input column on labelled data, best first."""
        df, _, _ = self._labelled(data, "explanation data")
        if len(df) > max_rows:
            df = df.sample(max_rows, random_state=self.seed)
        metric = get_metric(self.task_.metric, self.task_.problem_type)
        features = df.drop(columns=[self.label])

        def score(frame: pd.DataFrame, y: pd.Series) -> float:
            return metric.sign() * self.score(frame.assign(**{self.label: y.to_numpy()}))

        table = permutation_importances(score, features, df[self.label], n_repeats, self.seed)
        if plot is not None:
            plot_importances(table, plot, metric.name)
        return table

    # ------------------------------------------------------------ persist
    def save(self, path: str | Path) -> Path:
        """Writes a self-contained predictor folder (atomically); returns its path."""
        self._fitted()
        records = []
        files = {}
        for rec in self.models_.records.values():
            copy = ModelRecord(**{**rec.__dict__})
            if rec.ok and not rec.weights:
                files[rec.name] = rec.models_path
                copy.models_path = f"models/{rec.name}/fold_models.pkl"
            records.append(copy)
        state = {"version": __version__, "label": self.label, "task": self.task_,
                 "preprocessor": self.preprocessor_, "records": records,
                 "best_model": self.best_model_, "stacking": self.stacking_,
                 "params": self._params(), "cluster_report": self.cluster_report_,
                 "fit_time_s": self.fit_time_s_}
        folder = save_folder(path, state, files, __version__)
        log.info("saved the predictor to %s", folder)
        return folder

    def _params(self) -> dict[str, Any]:
        keys = ("label", "problem_type", "metric", "time_limit", "max_models", "presets",
                "num_folds", "num_stack_levels", "num_bag_sets", "dynamic_stacking", "seed",
                "path", "address", "families", "hyperparameters", "searcher", "scheduler",
                "cpus_per_trial", "use_gpus", "memory_per_trial", "max_retries", "verbosity")
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def load(cls, path: str | Path) -> AutoML:
        """A predictor saved by :meth:`save`, checked against its manifest."""
        state, folder = load_folder(path)
        params = state["params"]
        params["path"] = str(params["path"]) if params["path"] else None
        aml = cls(**params)
        for rec in state["records"]:
            if rec.models_path:
                rec.models_path = str(folder / rec.models_path)
        aml.task_, aml.preprocessor_ = state["task"], state["preprocessor"]
        aml.models_ = ModelSet(aml.task_, state["records"])
        aml.best_model_, aml.fit_time_s_ = state["best_model"], state["fit_time_s"]
        aml.stacking_ = state.get("stacking", {})
        aml.cluster_report_ = state.get("cluster_report", {})
        return aml

    def __repr__(self) -> str:
        state = f"best={self.best_model_!r}" if hasattr(self, "best_model_") else "not fitted"
        return f"AutoML(label={self.label!r}, {state})"


def _drop_layers_above(ledger: dict[str, list], level: int, folder: Path) -> None:
    """A resumed layer that trained new models makes the stackers above it stale: they
    were trained on other inputs, so they are trained again (and the ledger says so, for
    a later resume)."""
    for phase in [p for p in ledger if p.startswith("L") and int(p[1:]) > level]:
        del ledger[phase]
        reset_phase(folder, phase)


def _same_config(a: dict, b: dict) -> bool:
    """Configs compared as the ledger stores them (JSON: tuples become lists)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True,
                                                                   default=str)


def _experiment(phase: str, ledger: dict[str, list]) -> str:
    """The Tune experiment's folder name: the phase, or ``<phase>-resumed-<n>`` when an
    interrupted run already wrote trials of that phase."""
    return f"{phase}-resumed-{time.strftime('%H%M%S')}" if ledger.get(phase) else phase


def _reload_finished(store, ledger: dict[str, list], folder: Path) -> None:
    """Puts the out-of-fold (and holdout) predictions of the trials an interrupted run
    finished back in the store, from their checkpoints. A trial whose checkpoint is gone
    is dropped from the ledger (and so runs again)."""
    refs = []
    for phase, entries in ledger.items():
        kept = []
        for e in entries:
            if e["checkpoint"] and not e["error"] and not e["metrics"].get("error") \
                    and not e["metrics"].get("partial"):
                checkpoint = folder / e["checkpoint"]  # relative to the fit folder
                if not (checkpoint / OOF_FILE).is_file() or \
                        not (checkpoint / MODELS_FILE).is_file():
                    log.warning("trial %s of %s has no checkpoint at %s; it runs again",
                                e["trial_id"], phase, checkpoint)
                    continue
                e["checkpoint"] = str(checkpoint)
                hold = checkpoint / HOLDOUT_FILE
                refs.append(store.put.remote(e["trial_id"], np.load(checkpoint / OOF_FILE),
                                             np.load(hold) if hold.exists() else None))
            kept.append(e)
        entries[:] = kept
    ray.get(refs)


__all__ = ["AutoML"]
