"""The per-worker training loops of the large-data path's trials: data-parallel XGBoost
and LightGBM under Ray Train.

Each worker reads its own files of the training split (:mod:`.shards`) and the whole
holdout (so every worker computes the same validation metric and early stopping stops
them all at the same round; XGBoost's collective all-reduces the metric anyway, LightGBM's
data-parallel learner does not). Every :data:`REPORT_EVERY` rounds all workers call
``ray.train.report`` with the validation metric as ``score`` in the fit metric's own
units (:data:`SIGNALS`) and ``rounds``, rank 0 with a checkpoint of the booster; Tune's
ASHA reads them through ``TuneReportCallback``. At a report the workers also agree, by
rank 0's clock, whether the deadline has passed. A restarted worker group (Ray Train's
``FailureConfig``) resumes boosting from the last checkpoint. An XGBoost worker whose
shard is over its memory trains from disk (:mod:`.external_memory`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

import numpy as np

REPORT_EVERY = 25
MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50
MODEL_FILE = "booster.txt"
STATE_FILE = "state.json"

# (our metric, problem type) -> (XGBoost eval_metric, LightGBM metric, to our units)
SIGNALS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("roc_auc", "binary"): ("auc", "auc", "same"),
    ("log_loss", "binary"): ("logloss", "binary_logloss", "same"),
    ("log_loss", "multiclass"): ("mlogloss", "multi_logloss", "same"),
    ("accuracy", "binary"): ("error", "binary_error", "one_minus"),
    ("accuracy", "multiclass"): ("merror", "multi_error", "one_minus"),
    ("rmse", "regression"): ("rmse", "rmse", "same"),
    ("mse", "regression"): ("rmse", "rmse", "square"),
    ("mae", "regression"): ("mae", "l1", "same"),
}
LARGE_METRICS = sorted({m for m, _ in SIGNALS})


def to_metric(value: float, how: str) -> float:
    return {"same": value, "one_minus": 1.0 - value, "square": value * value}[how]


def _agree_to_stop(local: bool) -> bool:
    from ray.train.collective import broadcast_from_rank_zero

    return bool(broadcast_from_rank_zero(local))


def _report(config: dict[str, Any], rounds: int, score: float, save,
            done: bool = False) -> None:
    """One report of every worker; rank 0's carries the checkpoint."""
    import ray.train

    rank = ray.train.get_context().get_world_rank()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = None
        if rank == 0:
            save(os.path.join(tmp, MODEL_FILE))
            with open(os.path.join(tmp, STATE_FILE), "w") as fh:
                json.dump({"rounds": rounds}, fh)
            checkpoint = ray.train.Checkpoint.from_directory(tmp)
        ray.train.report({"score": float(score), "rounds": int(rounds), "partial": not done,
                          "family": config["family"]}, checkpoint=checkpoint)


def _restored() -> tuple[str | None, int]:
    """The booster file and rounds of the last checkpoint, when the group restarted."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return None, 0
    folder = checkpoint.to_directory()
    with open(os.path.join(folder, STATE_FILE)) as fh:
        return os.path.join(folder, MODEL_FILE), int(json.load(fh)["rounds"])


def _rss() -> int:
    """This process's whole resident memory now (``VmRSS``), in the units of
    ``ru_maxrss``, the peak it is compared with (the memory guard's ``process_rss`` reads
    private memory only, which the peak is not)."""
    from raymlx.cluster.memory_guard import status_bytes

    return status_bytes("VmRSS") or 0


def _worker_done(config: dict[str, Any], numbers: dict[str, float]) -> None:
    """Tells the fit's resource manager this worker ended, with its peak memory, and
    writes this worker's ``numbers`` (``rows``; resident memory at its start, ``rss_start``,
    and with its shard read, ``rss_loaded``; ``resumed_at``, the round it went on from,
    0 unless its group was restarted from a checkpoint; the ``rounds`` it trained and
    their seconds, ``train_s``), its peak memory (``getrusage``)
    and its family as ``<stats_dir>/<trial>-rank<r>.json``, for the tests and the
    benchmark."""
    import resource

    import ray
    import ray.train

    ctx = ray.train.get_context()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    _tell_manager(config, "ok", peak)
    if not config.get("stats_dir"):
        return
    os.makedirs(config["stats_dir"], exist_ok=True)
    path = os.path.join(config["stats_dir"],
                        worker_key(config["trial_id"], ctx.get_world_rank()) + ".json")
    with open(path, "w") as fh:
        json.dump({**numbers, "rss_peak": peak, "family": config["family"],
                   "node_id": ray.get_runtime_context().get_node_id(),
                   "external_memory": bool(config.get("external_memory"))}, fh)


def worker_key(trial_id: str, rank: int) -> str:
    """The name a trial's worker goes by in the fit's resource manager."""
    return f"{trial_id}-rank{rank}"


def _tell_manager(config: dict[str, Any], status: str | None, rss_peak: int = 0) -> None:
    """Tells the fit's resource manager (``raymlx cluster status``) that this worker
    started (``status=None``) or ended, from the worker's own node; fire and forget."""
    import ray.train

    from raymlx.cluster.manager import finished_message, get_manager, started_message

    if not config.get("fit_name"):
        return
    try:
        manager = get_manager(config["fit_name"])
    except ValueError:  # the fit ended meanwhile
        return
    key = worker_key(config["trial_id"], ray.train.get_context().get_world_rank())
    if status is None:
        manager.trial_started.remote(key, started_message(
            config["family"], config["worker_request"], config["device"], time.time(),
            trial=config["trial_id"]))
    else:
        manager.trial_finished.remote(key, status, finished_message(rss_peak))


def _worker_started(config: dict[str, Any]) -> None:
    """Tells the fit's resource manager this worker started, and notes its group."""
    _tell_manager(config, None)
    note_worker_group(config)


def note_worker_group(config: dict[str, Any]) -> None:
    """Rank 0 writes the id of the worker group's placement group to
    ``<stats_dir>/<trial>.pg``. When Tune stops a trial between reports it kills the
    trial's process, and Ray Train's group of workers keeps its placement group reserved
    (measured: 2 CPUs held, and the next Ray Data task waited for ever);
    :class:`~raymlx.tabular.distributed.fit.ReleaseWorkerGroups` removes it then."""
    import ray.train
    import ray.util

    group = ray.util.get_current_placement_group()
    if not config.get("stats_dir") or group is None:
        return
    if ray.train.get_context().get_world_rank() == 0:
        os.makedirs(config["stats_dir"], exist_ok=True)
        with open(os.path.join(config["stats_dir"], f"{config['trial_id']}.pg"), "w") as fh:
            fh.write(group.id.hex())


def _my_files(config: dict[str, Any]) -> list[str]:
    import ray.train

    return config["train_files"][ray.train.get_context().get_world_rank()]


def _objective(problem_type: str, n_classes: int, booster: str) -> dict[str, Any]:
    if problem_type == "regression":
        return {"objective": "reg:squarederror" if booster == "xgboost" else "regression"}
    if problem_type == "binary":
        return {"objective": "binary:logistic" if booster == "xgboost" else "binary"}
    if booster == "xgboost":
        return {"objective": "multi:softprob", "num_class": n_classes}
    return {"objective": "multiclass", "num_class": n_classes}


def xgboost_loop(config: dict[str, Any]) -> None:
    """One worker of a data-parallel XGBoost trial (``XGBoostTrainer``)."""
    import xgboost as xgb

    from raymlx.tabular.distributed.external_memory import training_matrix
    from raymlx.tabular.distributed.shards import read_matrix

    _worker_started(config)
    cols, label = config["columns"], config["label"]
    rss_start = _rss()
    types = ["c" if i in config["categorical"] else "q" for i in range(len(cols))]
    cache = tempfile.TemporaryDirectory(prefix="raymlx-xgb-pages-")
    dtrain, rows = training_matrix(_my_files(config), cols, label, types,
                                   bool(config.get("external_memory")), cache.name)
    rss_loaded = _rss()
    Xv, yv = read_matrix(config["holdout_files"], cols, label)
    dvalid = xgb.QuantileDMatrix(Xv, yv, feature_types=types, enable_categorical=True,
                                 ref=dtrain)
    del Xv, yv
    eval_metric, _, how = config["signal"]
    params = {**config["params"], **_objective(config["problem_type"], config["n_classes"],
                                               "xgboost"),
              "eval_metric": eval_metric, "tree_method": "hist", "max_cat_to_onehot": 8,
              "nthread": config["num_threads"], "seed": config["seed"],
              "device": config["device"]}
    model_file, done = _restored()
    deadline = config["deadline"]

    class ReportAndStop(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log) -> bool:
            rounds = done + epoch + 1
            if rounds % REPORT_EVERY:
                return False
            score = to_metric(float(evals_log["valid"][eval_metric][-1]), how)
            _report(config, rounds, score, model.save_model)
            return _agree_to_stop(time.time() >= deadline)

    stopping = xgb.callback.EarlyStopping(
        rounds=EARLY_STOPPING_ROUNDS, metric_name=eval_metric, data_name="valid",
        maximize=eval_metric == "auc", save_best=False)
    t_train = time.time()
    booster = xgb.train(params, dtrain, max(1, config["max_rounds"] - done),
                        evals=[(dvalid, "valid")], verbose_eval=False,
                        xgb_model=model_file, callbacks=[stopping, ReportAndStop()])
    rounds = booster.num_boosted_rounds()
    last = booster.eval(dvalid, "valid").split()[-1].split(":")[-1]
    _worker_done(config, {"rows": rows, "rss_start": rss_start, "rss_loaded": rss_loaded,
                          "resumed_at": done, "rounds": rounds - done,
                          "train_s": time.time() - t_train})
    _report(config, rounds, to_metric(float(last), how), booster.save_model, done=True)
    del dtrain
    cache.cleanup()


def lightgbm_loop(config: dict[str, Any]) -> None:
    """One worker of a data-parallel LightGBM trial (``LightGBMTrainer``)."""
    import lightgbm as lgb
    from ray.train.lightgbm import get_network_params

    from raymlx.tabular.distributed.shards import read_matrix

    cols, label = config["columns"], config["label"]
    _worker_started(config)
    cats = sorted(config["categorical"])
    rss_start = _rss()
    X, y = read_matrix(_my_files(config), cols, label)
    rows = len(y)
    # the Datasets own the matrices from here: LightGBM drops them once binned, in train
    train = lgb.Dataset(X, y, categorical_feature=cats, free_raw_data=True)
    del X, y
    rss_loaded = _rss()
    Xv, yv = read_matrix(config["holdout_files"], cols, label)
    valid = lgb.Dataset(Xv, yv, reference=train, free_raw_data=True)
    del Xv, yv
    _, metric, how = config["signal"]
    params = {**config["params"], **_objective(config["problem_type"], config["n_classes"],
                                               "lightgbm"),
              "metric": metric, "verbosity": -1, "num_threads": config["num_threads"],
              "seed": config["seed"], "deterministic": True, "force_row_wise": True,
              "tree_learner": "data_parallel", "pre_partition": True,
              **get_network_params()}
    model_file, done = _restored()
    deadline = config["deadline"]

    def report_and_stop(env) -> None:
        rounds = done + env.iteration + 1
        if rounds % REPORT_EVERY:
            return
        score = to_metric(float(env.evaluation_result_list[0][2]), how)
        _report(config, rounds, score, env.model.save_model)
        if _agree_to_stop(time.time() >= deadline):
            raise lgb.callback.EarlyStopException(env.iteration,
                                                  env.evaluation_result_list)

    t_train = time.time()
    booster = lgb.train(params, train, max(1, config["max_rounds"] - done),
                        valid_sets=[valid], valid_names=["valid"], init_model=model_file,
                        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False),
                                   report_and_stop])
    rounds = booster.current_iteration()
    # lgb.train hands back a booster without its Datasets (keep_training_booster=False):
    # the last evaluation is in best_score
    last = next(iter(booster.best_score.get("valid", {}).values()), np.nan)
    _worker_done(config, {"rows": rows, "rss_start": rss_start, "rss_loaded": rss_loaded,
                          "resumed_at": done, "rounds": rounds - done,
                          "train_s": time.time() - t_train})
    _report(config, rounds, to_metric(float(last), how), booster.save_model, done=True)


LOOPS = {"xgboost": xgboost_loop, "lightgbm": lightgbm_loop}
