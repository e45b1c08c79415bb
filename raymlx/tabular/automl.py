"""``AutoML``: fit a table on Ray, then predict, rank, explain, save and load.

The facade over the tabular product (docs/design.md): ``fit`` checks the arguments
(:mod:`~raymlx.tabular.settings`), picks the in-memory or the large-data path
(:mod:`~raymlx.tabular.distributed.entry`), prepares the features, labels and folds
(:mod:`~raymlx.tabular.engine.inputs`) and runs the search, stacking and ensembles as Ray
Tune experiments inside ``time_limit`` (:mod:`~raymlx.tabular.engine.fit`). The predictor
(:mod:`~raymlx.tabular.predictor`) predicts without Ray: the engine is imported when a
fit starts.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sklearn.base import BaseEstimator

from raymlx import __version__
from raymlx._internal.log_setup import setup_logging
from raymlx._internal.method_argument import MethodAndArgument, argument_value
from raymlx.tabular.data import check_frame, load_table, split_label
from raymlx.tabular.persistence import load_predictor, save_predictor
from raymlx.tabular.predicting import PredictorMethods
from raymlx.tabular.settings import FitSettings, resolve_settings

if TYPE_CHECKING:
    from ray.tune.schedulers import TrialScheduler
    from ray.tune.search import Searcher

    from raymlx.tabular.engine.inputs import FitInputs
    from raymlx.tabular.models import ModelFamily

log = logging.getLogger("raymlx")


class AutoML(PredictorMethods, BaseEstimator):
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
        num_folds: folds of bagging (stratified for classification). Left to the preset,
            with a ``time_limit``, it is where layer 1 starts: when the measured cost of
            the trials says the time left would not fit 10 of them, later trials bag over
            fewer folds, down to 3 (:mod:`raymlx.tabular.engine.fold_budget`).
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
        families: the model families to search: names of registered families
            (``raymlx.tabular.models.FAMILIES``) and :class:`~raymlx.tabular.ModelFamily`
            instances of your own, mixed; all registered families by default.
        hyperparameters: ``{family: [config, ...]}`` tried first instead of the built-in
            portfolio (like AutoGluon's ``hyperparameters``); it also restricts the search
            to those families. ``{"lightgbm": [{}]}`` is LightGBM with raymlx's defaults.
        searcher: what proposes configurations after the portfolio: "auto" (default: the
            searcher of ours the benchmarks support for AutoML's space, TPE today), "random",
            "tpe", "gp", "evolution" or "rl" (see ``raymlx.searchers``), or any
            ``ray.tune.search.Searcher`` instance (each fit uses a copy; the portfolio
            still runs first and the searcher is told its results).
        scheduler: None (default: every trial bags all folds), "asha": trials report after
            each fold and ASHA's stopping rule (``raymlx.schedulers.ASHAScheduler``, eta 3,
            budget = folds done) ends configurations outside the top third of their rung,
            or any ``ray.tune.schedulers.TrialScheduler`` instance, which sees the same
            per-fold reports (``score``, and ``folds_done`` as the budget; each fit uses a
            copy). The leaderboard lists stopped trials as such.
        cpus_per_trial: CPUs (and threads) each trial gets (capped at the largest node, and
            at the GPU nodes' CPUs for a GPU trial).
        use_gpus: None (default): the families that can use a GPU (XGBoost, the MLP) ask
            for one GPU per trial when the cluster has GPUs, so Ray runs them on GPU nodes;
            True insists (an error without GPUs); False keeps every trial on CPUs.
        memory_per_trial: bytes or a size ("2GB") each trial may use: Ray only places a
            trial where that much of its ``memory`` resource is free, and a trial whose
            process grows past it fails with a recorded error while the fit goes on.
        max_retries: reruns of a trial (or its Ray Train worker group) whose process dies.
        data_path: "auto": the in-memory path (bagging, stacking) for a prepared matrix
            under a quarter of the smallest object store and ``max_in_memory_bytes`` (a
            size, "8GB"), else the large-data path (:mod:`raymlx.tabular.distributed`);
            "memory" or "distributed" force one.
        workers_per_trial: Ray Train workers per large-data trial (default: one per node).
        refit_full: after the fit, :meth:`refit_full` (one model on all rows per bag of
            the final model, which ``predict`` then uses); inside ``time_limit``, which
            keeps ``1 / (num_folds + 1)`` of itself for the refit.
        infer_limit: seconds per row: the final model becomes the best candidate whose
            measured latency on ``infer_limit_batch_size`` rows (default 10,000; 1 for
            one-row serving) stays under it (:mod:`raymlx.tabular.engine.infer_limit`).
        calibrate: "auto" (default): fits the final model's temperature on its
            out-of-fold predictions when the metric is the log loss, and a decision
            threshold for binary problems scored on accuracy, f1, balanced_accuracy or
            mcc; True: the temperature for every classification metric too; False:
            neither. ``predict_proba`` applies the temperature, ``predict`` the
            threshold; ``calibration_`` reports what was fitted
            (:mod:`raymlx.tabular.ensembles.calibration`).
        callbacks: ``ray.tune.Callback`` instances (``MLflowLoggerCallback``, a logger of
            your own) that every Tune run of the fit calls with each trial's config and
            results; kept for ``resume``, not saved with the predictor. A phase of more
            than 250 trials runs as several Tune experiments, so a callback's ``setup`` and
            ``on_experiment_end`` may be called more than once.
        verbosity: 0 quiet, 1 progress lines on stderr, 2 also timing details.

    Following scikit-learn's rules, ``__init__`` only stores the arguments; ``fit`` checks
    them (:data:`raymlx.tabular.settings.CONSTRAINTS`) before it reads the table or starts
    Ray, and ``get_params``/``set_params``/``clone`` work.

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
        families: list[str | ModelFamily] | None = None,
        hyperparameters: dict[str, list[dict[str, Any]]] | None = None,
        searcher: str | Searcher = "auto",
        scheduler: str | TrialScheduler | None = None,
        cpus_per_trial: int = 1,
        use_gpus: bool | None = None,
        memory_per_trial: float | str | None = None,
        max_retries: int = 2,
        data_path: str = "auto",
        max_in_memory_bytes: float | str | None = None,
        workers_per_trial: int | None = None,
        refit_full: bool = False,
        infer_limit: float | None = None,
        infer_limit_batch_size: int | None = None,
        calibrate: bool | str = "auto",
        callbacks: list[Any] | None = None,
        verbosity: int = 1,
    ) -> None:
        self.label = label
        self.problem_type = problem_type
        self.metric = metric
        self.time_limit = time_limit
        self.max_models = max_models
        self.presets = presets
        self.num_folds = num_folds
        self.num_stack_levels = num_stack_levels
        self.num_bag_sets = num_bag_sets
        self.dynamic_stacking = dynamic_stacking
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
        self.data_path = data_path
        self.max_in_memory_bytes = max_in_memory_bytes
        self.workers_per_trial = workers_per_trial
        self.refit_full = refit_full
        self.infer_limit = infer_limit
        self.infer_limit_batch_size = infer_limit_batch_size
        self.calibrate = calibrate
        self.callbacks = callbacks
        self.verbosity = verbosity

    # ------------------------------------------------------------------ fit
    def fit(self, train: Any) -> AutoML:
        """Searches and ensembles models on ``train``: a DataFrame, a CSV/Parquet path, a
        folder, glob or list of such files, or a ``ray.data.Dataset`` (read into memory).

        The fit's folder (``experiment_path_``, under ``path``) keeps its inputs and a
        ledger of finished trials: after an interruption (Ctrl-C, a killed driver),
        :meth:`resume` finishes it without refitting them. ``data_path_`` says which path
        the fit took and why."""
        from raymlx.tabular.distributed.entry import fit_large, route

        settings = resolve_settings(self.get_params())
        setup_logging(settings.verbosity)
        routed = route(settings, train)
        log.info("data path: %s (%s)", routed.choice.path, routed.choice.reason)
        self.data_path_ = {"path": routed.choice.path, "reason": routed.choice.reason}
        if routed.choice.path == "distributed":
            return fit_large(self, settings, routed)
        table = load_table(train if routed.table is None else routed.table, "training table")
        check_frame(table, "training table")
        X, y = split_label(table, settings.label)
        return self._fit_features(settings, X, y)

    def _fit_features(self, settings: FitSettings, X: pd.DataFrame, y: pd.Series) -> AutoML:
        """The fit on checked settings, feature columns and the label column."""
        from raymlx._internal.ray_session import ensure_ray
        from raymlx.tabular.engine.inputs import prepare_inputs
        from raymlx.tabular.engine.ledger import fit_folder, save_fit_state

        t_start = time.time()
        inputs = prepare_inputs(settings, X, y)
        ray_s = ensure_ray(settings.address)
        folder = fit_folder(settings.path, t_start)
        save_fit_state(folder, {"version": __version__, "params": self.get_params(),
                                "inputs": inputs, "started": t_start + ray_s})
        log.info("fit folder: %s", folder)
        self.experiment_path_ = str(folder)  # set now: resume() needs it after a Ctrl-C
        return self._run(settings, inputs, folder, t_start + ray_s, settings.time_limit, {},
                         t_start)

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
        from raymlx.tabular.engine.resume import resume_fit

        return resume_fit(cls, folder, time_limit, address, verbosity)

    def _run(self, settings: FitSettings, inputs: FitInputs, folder: Path, t_start: float,
             time_limit: float | None, ledger: dict[str, list], t_wall: float) -> AutoML:
        from raymlx.tabular.distributed.entry import run_on_its_path
        from raymlx.tabular.engine.after_search import after_search, search_limit

        limit = search_limit(settings, inputs, time_limit)  # refit_full keeps a share
        result = run_on_its_path(settings, inputs, folder, t_start, limit, ledger, t_wall)
        self.fit_started_ = t_start  # when the time limit began (after Ray's start-up)
        self._adopt(settings, inputs, result)
        return after_search(self, settings, inputs, t_start, time_limit, t_wall)

    def _adopt(self, settings: FitSettings, inputs: Any, result: Any) -> AutoML:
        """Takes a finished fit's results (either path) as this predictor's."""
        self.settings_ = settings  # the arguments the fit ran with (presets applied)
        self.problem_, self.preprocessor_ = inputs.problem, inputs.preprocessor
        self.models_, self.stacking_ = result.models, result.stacking
        self.best_model_ = result.best_model
        self._hold_store(result.store)
        self.calibration_ = getattr(result, "calibration", None)
        self.cluster_report_, self.fit_time_s_ = result.cluster_report, result.fit_time_s
        self.phase_times_ = dict(result.phase_times)  # seconds per phase, in order
        if hasattr(inputs, "choice"):  # the large-data path's inputs, on resume too
            self.data_path_ = {"path": inputs.choice.path, "reason": inputs.choice.reason}
        path = getattr(self, "data_path_", None)
        best = self.models_.records[self.best_model_]
        if path and not best.note:
            best.note = f"{path['path']} path: {path['reason']}"
        return self

    @MethodAndArgument
    def refit_full(self, model: str | None = None, time_limit: float | None = None,
                   set_best: bool = True) -> dict[str, str]:
        """Trains one model on all training rows in place of each bag that the final
        model (or ``model``) predicts through, keeping the ensembles' weights
        (:mod:`~raymlx.tabular.engine.refit`); the ``_full`` models join the leaderboard
        and, with ``set_best``, ``predict`` uses them. Needs the fit's folder
        (``experiment_path_``). Returns {bagged model: its full model}; empty on the
        large-data path, whose models are single models already."""
        from raymlx.tabular.engine.refit import refit_predictor

        return refit_predictor(self, model, time_limit, set_best)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep)
        params["refit_full"] = argument_value(self, "refit_full", False)
        return params

    # ------------------------------------------------------------ persist
    def save(self, path: str | Path, signing_key: str | bytes | None = None) -> Path:
        """Writes a self-contained predictor folder (atomically); returns its path. With
        ``signing_key`` (or ``$RAYMLX_SIGNING_KEY``) the folder is signed (HMAC-SHA256)."""
        self._fitted()
        folder = save_predictor(self, path, __version__, signing_key)
        log.info("saved the predictor to %s", folder)
        return folder

    @classmethod
    def load(cls, path: str | Path, signing_key: str | bytes | None = None) -> AutoML:
        """A predictor saved by :meth:`save`, checked against its manifest. With
        ``signing_key`` (or ``$RAYMLX_SIGNING_KEY``) an unsigned, foreign-signed or changed
        folder is refused before anything in it is unpickled."""
        return load_predictor(cls, path, signing_key)

    def _hold_store(self, store: Any) -> None:
        """Takes ``store`` as the predictor's (ended when the predictor is collected;
        see :func:`~raymlx.tabular.engine.oof_store.hold_store`), ending the store of an
        earlier fit."""
        from raymlx.tabular.engine.oof_store import hold_store

        old = getattr(self, "_store_release", None)
        if old is not None and getattr(self, "oof_store_", None) is not store:
            old()  # the earlier fit's store ends
        elif old is not None:
            old.detach()  # the same store again: one finalizer for it
        self.oof_store_ = store
        self._store_release = hold_store(self, store) if store is not None else None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the fit's store actor (a live Ray handle)."""
        state = super().__getstate__()
        state.pop("oof_store_", None)
        state.pop("_store_release", None)
        return state


__all__ = ["AutoML"]
