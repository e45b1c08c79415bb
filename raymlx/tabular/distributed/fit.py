"""One large-data fit: the Tune experiment of data-parallel boosted-tree trials, then the
greedy weighted ensemble over their holdout predictions.

The families are the fit's XGBoost and LightGBM (the two with data-parallel trainers in
Ray Train); their portfolio runs first (LightGBM's first at its library default learning
rate, :func:`large_portfolio`), then the fit's searcher. Trials report every
:data:`~raymlx.tabular.distributed.boosting.REPORT_EVERY` rounds and raymlx's ASHA
(stopping variant, eta 3, from 25 rounds) ends a configuration outside the top third of
its rung, unless ``scheduler=`` gives another Tune scheduler. The store actor owns the
holdout predictions; the ensemble is selected there, so the driver holds the holdout's
labels and nothing else of the table.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

from ray import tune

from raymlx._internal.phase_times import timed
from raymlx._internal.ray_session import temporary_env
from raymlx.cluster.inventory import read_nodes
from raymlx.cluster.manager import final_summary, start_manager
from raymlx.cluster.policy import plan_data_parallel
from raymlx.errors import FitError, InputError, last_line
from raymlx.schedulers.in_order import InOrderASHAScheduler
from raymlx.searchers.deadline import StopAt
from raymlx.tabular.distributed.boosting import (
    LOOPS,
    MAX_ROUNDS,
    REPORT_EVERY,
    SIGNALS,
    worker_key,
)
from raymlx.tabular.distributed.external_memory import needs_external_memory
from raymlx.tabular.distributed.prepare import LABEL, LargeInputs, read_labels
from raymlx.tabular.distributed.shards import file_rows, largest_share_bytes
from raymlx.tabular.distributed.trial import TRIAL_CPUS, LargeSetup, run_large_trial
from raymlx.tabular.engine import final_model
from raymlx.tabular.engine.calibrate import calibrate_final
from raymlx.tabular.engine.fit import FitResult, owning_fit_actors, save_cluster_report
from raymlx.tabular.engine.interrupt import StopOnInterrupt, interruptible
from raymlx.tabular.engine.ledger import TrialLedger, trial_index
from raymlx.tabular.engine.oof_store import start_store
from raymlx.tabular.engine.progress import ProgressReporter
from raymlx.tabular.engine.resume import experiment_name, reload_finished, remaining
from raymlx.tabular.engine.trial import MODELS_FILE
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.models import portfolio_configs, search_space
from raymlx.tabular.predictor import ModelRecord, ModelSet
from raymlx.tabular.settings import FitSettings, make_searcher

log = logging.getLogger("raymlx")
PHASE = "large"


class ReleaseWorkerGroups(tune.Callback):
    """A Tune callback: when a trial ends in any way, removes the placement group its Ray
    Train workers held, if it is still there (see
    :func:`~raymlx.tabular.distributed.boosting.note_worker_group`)."""

    def __init__(self, stats_dir: str, manager=None, num_workers: int = 0) -> None:
        self.stats_dir, self.manager, self.num_workers = stats_dir, manager, num_workers

    def release(self, trial_id: str) -> None:
        from ray._raylet import PlacementGroupID
        from ray.util.placement_group import PlacementGroup, remove_placement_group

        if self.manager is not None:  # workers that did not get to say they ended
            for rank in range(self.num_workers):
                self.manager.trial_finished.remote(worker_key(trial_id, rank), "stopped",
                                                   {"time": time.time()})

        path = Path(self.stats_dir) / f"{trial_id}.pg"
        if not path.exists():
            return
        try:
            group = PlacementGroup(PlacementGroupID(bytes.fromhex(path.read_text())))
            remove_placement_group(group)
        except Exception as exc:  # already removed by Ray Train: nothing to do
            log.debug("worker group of %s: %s", trial_id, exc)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.release(trial.trial_id)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.release(trial.trial_id)


def make_large_scheduler(spec):
    """ASHA over boosting rounds by default; a copy of the user's Tune scheduler."""
    if spec is None or spec == "asha":
        return InOrderASHAScheduler(time_attr="rounds", max_t=MAX_ROUNDS,
                                    grace_period=REPORT_EVERY, reduction_factor=3,
                                    variant="stopping")
    return copy.deepcopy(spec)


def _entries(results) -> list[dict]:
    """Tune's results as ledger entries (:mod:`raymlx.tabular.engine.ledger`), in the
    order the trials were created."""
    out = []
    for res in sorted(results, key=lambda r: trial_index(Path(r.path).name) if r.path
                      else 1 << 30):
        m = res.metrics or {}
        error = None if res.error is None else last_line(str(res.error),
                                                         type(res.error).__name__)
        out.append({"model": (res.config or {}).get("model", {}), "metrics": m,
                    "checkpoint": res.checkpoint.path if res.checkpoint else None,
                    "error": error, "trial_id": m.get("trial_id")})
    return out


def _records(entries: list[dict], metric) -> list[ModelRecord]:
    """One leaderboard row per trial, from its ledger entry."""
    records: list[ModelRecord] = []
    names: dict[str, int] = {}
    for e in entries:
        m, family = e["metrics"], e["model"].get("family", "?")
        names[family] = names.get(family, 0) + 1
        rec = ModelRecord(name=f"{family}_{names[family]}", family=family,
                          config=e["model"].get("params", {}))
        if e["error"] is not None:
            rec.error = e["error"]
        elif m.get("final") and e["checkpoint"]:
            rec.score_val, rec.trial_id = float(m["score"]), e["trial_id"]
            rec.fit_time_s, rec.predict_time_s = m["fit_time_s"], m["predict_time_s"]
            rec.models_path = str(Path(e["checkpoint"]) / MODELS_FILE)
            rec.note = f"{m['rounds']} boosting rounds on {m['workers']} workers"
            rec.finished_at = float(m.get("timestamp", float("nan")))
        elif "rounds" in m and m.get("partial") is False:  # trained, not yet scored
            rec.error = (f"stopped at the time limit after {m['rounds']} boosting rounds, "
                         "before it had scored the holdout")
        elif "rounds" in m:
            rec.error = (f"stopped by the scheduler after {m['rounds']} boosting rounds "
                         f"({metric.name} {float(m['score']):.4g} so far)")
        else:
            rec.error = "stopped at the time limit"
        records.append(rec)
    return records


def _fitting_families(families: list, shard: float, plan) -> tuple[list, bool]:
    """The families whose workers can hold their shards, and whether XGBoost's train from
    disk (:mod:`.external_memory`): XGBoost always fits; LightGBM, which has no
    external-memory mode, only when the shards fit in memory (or when it is the only
    family)."""
    if not needs_external_memory(shard, plan.memory_per_worker):
        return families, False
    if len(families) < 2:
        return families, True
    log.warning("resources: a worker's share of the table (%.3g GB) is over half of its "
                "memory (%.3g GB); XGBoost trains from disk and LightGBM is left out",
                shard / 1e9, plan.memory_per_worker / 1e9)
    return [f for f in families if f.name != "lightgbm"], True


# LightGBM's first configuration on this path: its library default learning rate, twice the
# in-memory portfolio's (0.05). A large table's rounds are what the time limit runs out of:
# at 16M rows and 600 s on 2 CPUs the 0.05 trial was cut off below LightGBM's defaults
# (benchmarks/large_data.py).
FIRST_LIGHTGBM = {"learning_rate": 0.1}


def large_portfolio(families: list, custom: dict | None) -> list[dict]:
    """The configurations the large-data path tries first: the fit's portfolio with
    LightGBM's first configuration at :data:`FIRST_LIGHTGBM` (unless ``hyperparameters=``
    gives LightGBM's list)."""
    portfolio = portfolio_configs(families, custom)
    if custom and "lightgbm" in custom:
        return portfolio
    for config in portfolio:
        if config["model"]["family"] == "lightgbm":
            config["model"]["params"] = {**config["model"]["params"], **FIRST_LIGHTGBM}
            break
    return portfolio


def run_large_fit(settings: FitSettings, inputs: LargeInputs, folder: Path, t_start: float,
                  time_limit: float | None, ledger: dict[str, list],
                  t_wall: float) -> FitResult:
    """Runs the large-data fit in ``folder``; ``t_start`` is when its time limit began,
    ``ledger`` the trials an interrupted run of it finished (they are not run again: their
    holdout predictions are reloaded from their checkpoints)."""
    problem = inputs.problem
    families = [f for f in settings.families if f.name in LOOPS]
    if not families:
        raise InputError("the large-data path trains 'xgboost' and 'lightgbm' (Ray Train's "
                         f"data-parallel trainers); families={[f.name for f in settings.families]} "
                         "has neither")
    metric = get_metric(problem.metric, problem.problem_type)
    plan = plan_data_parallel(read_nodes(), settings.workers_per_trial,
                              settings.cpus_per_trial, settings.use_gpus)
    for note in plan.notes:
        log.info("resources: %s", note)
    log.info("large-data path: %d training files, %d holdout files (%.3g%% held out); "
             "%d workers x %g CPU per trial%s, %d trial(s) at once", len(inputs.train_files),
             len(inputs.holdout_files), 100 * inputs.fraction, plan.num_workers,
             plan.cpus_per_worker, " + 1 GPU each" if plan.use_gpu else "",
             plan.concurrent_trials)
    train_rows = tuple(file_rows(inputs.train_files))
    families, external = _fitting_families(families, largest_share_bytes(
        inputs.train_files, train_rows, plan.num_workers, len(inputs.columns)), plan)
    deadline = (t_start + time_limit) if time_limit else float("inf")
    reserve = min(15.0, max(3.0, 0.05 * time_limit)) if time_limit else 0.0
    # after its workers stop, a trial still waits for Ray Train to tear them down, loads
    # the booster, predicts the holdout and reports (measured 10-20 s on a 2-core node):
    # a trial cut off in that time by Tune's time budget is lost
    finish = min(60.0, max(20.0, 0.1 * time_limit)) if time_limit else 0.0
    manager = start_manager(folder.name, {"data_parallel": plan.to_dict()}, deadline,
                            folder)
    store, store_name = start_store(folder)
    reload_finished(store, ledger, folder)
    done = ledger.get(PHASE, [])
    setup = LargeSetup(
        problem=problem, columns=inputs.columns, label=LABEL,
        train_files=inputs.train_files, train_rows=train_rows,
        holdout_files=inputs.holdout_files,
        signal=SIGNALS[(str(problem.metric), problem.problem_type)],
        num_workers=plan.num_workers, cpus_per_worker=plan.cpus_per_worker,
        deadline=deadline - reserve - finish, seed=settings.seed, store_name=store_name,
        storage=str(folder / "train"), max_failures=settings.max_retries,
        use_gpu=plan.use_gpu, external_memory=external, fit_name=folder.name,
        families={f.name: f for f in families})
    portfolio = large_portfolio(families, settings.hyperparameters)
    max_models = settings.max_models or (len(portfolio) if deadline == float("inf") else None)
    todo = None if max_models is None else max_models - len(done)
    searcher = make_searcher(settings.searcher, settings.seed + (1000 + len(done) if done else 0),
                             remaining(portfolio, [e["model"] for e in done]))
    for e in done:
        if e["metrics"].get("final") and not e["error"]:
            searcher.add_evaluated_point({"model": e["model"]}, e["metrics"]["score"])
    budget = None
    if deadline != float("inf"):
        left = deadline - reserve - time.time()
        searcher = StopAt(searcher, deadline - reserve - finish - min(0.25 * left, 60.0))
        budget = max(1.0, left)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(run_large_trial, setup=setup),
                            {"CPU": TRIAL_CPUS}),
        param_space=search_space(families),
        tune_config=tune.TuneConfig(
            metric="score", mode=metric.mode, search_alg=searcher,
            scheduler=make_large_scheduler(settings.scheduler),
            num_samples=-1 if todo is None else max(todo, 1),
            max_concurrent_trials=plan.concurrent_trials,
            time_budget_s=budget),
        run_config=tune.RunConfig(
            name=experiment_name(PHASE, ledger), storage_path=str(folder), verbose=0,
            callbacks=[ProgressReporter(metric, deadline, todo),
                       TrialLedger(folder, PHASE), StopOnInterrupt(),
                       ReleaseWorkerGroups(str(folder / "train" / "workers"), manager,
                                           plan.num_workers), *settings.callbacks],
            failure_config=tune.FailureConfig(max_failures=settings.max_retries)))
    with owning_fit_actors(manager, store, "the prepared table and the finished trials "
                           f"stay in {folder}"):
        entries = list(done)
        phases: dict[str, float] = {}
        if todo is None or todo > 0:
            with temporary_env(RAY_AIR_NEW_OUTPUT="0"), interruptible(tune=True), \
                    timed(phases, "search (data-parallel trials)"):
                grid = tuner.fit()
            entries += _entries([grid[i] for i in range(len(grid))])
        records = _records(entries, metric)
        models = ModelSet(problem, records)
        if not models.usable():
            errors = "; ".join(sorted({r.error or "" for r in records}))[:400]
            raise FitError(f"no model finished within the limits ({len(records)} trials): "
                           f"{errors or 'no trial ran'}; raise time_limit")
        y_hold = read_labels(inputs.holdout_files, problem)  # the one column the driver reads
        with timed(phases, "ensemble (holdout)"):
            pending = final_model.start_ensemble(models, records, store, y_hold,
                                                 final_model.ENSEMBLE_NAME)
            best = final_model.finish_ensemble(models, pending, deadline, level=1)
        calibration = None
        if best is not None and problem.is_classification:
            with timed(phases, "calibration (holdout)"):
                calibration = calibrate_final(models, best, store, y_hold,
                                              settings.calibrate)
        settle = min(2.0, max(0.05, deadline - time.time() - 1.0))
        report = final_summary(manager, settle)
    save_cluster_report(folder, report)
    assert best is not None
    stacking = {"final_model": best, "levels_trained": 1, "holdout_rows": len(y_hold),
                "holdout_scores": {}, "reason": "large-data path: greedy ensemble on the "
                "holdout", "data_path": inputs.choice.path,
                "data_path_reason": inputs.choice.reason}
    fit_time_s = time.time() - t_wall
    log.info("fit done in %.1f s: %d models, best %s (%s=%.5g on %d held-out rows)",
             fit_time_s, len(models.usable()), best, metric.name,
             models.records[best].score_val, len(y_hold))
    return FitResult(models, stacking, best, store, report, fit_time_s, phases, calibration)
