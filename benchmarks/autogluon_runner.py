"""Runs AutoGluon-Tabular on one split; called by benchmarks/stacking.py inside AutoGluon's
own virtualenv (``make bench-stacking`` creates ``.venv-autogluon``), because AutoGluon pins
an older Ray than raymlx.

Usage: python autogluon_runner.py SPEC.json  -- SPEC names the train/test Parquet files,
label, task, metric, presets, time limit and CPUs; prints one JSON line with the test
predictions' score, fit seconds and what AutoGluon chose.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error

AG_METRICS = {"roc_auc": "roc_auc", "log_loss": "log_loss", "rmse": "root_mean_squared_error"}


def score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    pred = np.asarray(pred, dtype=np.float64)
    if task == "binary":
        return float(roc_auc_score(y, pred[:, 1]))
    if task == "multiclass":
        pred = np.clip(pred, 1e-15, 1)
        pred = pred / pred.sum(axis=1, keepdims=True)
        return float(log_loss(y, pred, labels=np.arange(pred.shape[1])))
    return float(root_mean_squared_error(y, pred))


def main(spec_path: str) -> None:
    from autogluon.tabular import TabularPredictor

    spec = json.loads(open(spec_path).read())
    train = pd.read_parquet(spec["train"])
    test = pd.read_parquet(spec["test"])
    label, task, classes = spec["label"], spec["task"], spec["classes"]
    t0 = time.perf_counter()
    predictor = TabularPredictor(label=label, problem_type=task,
                                 eval_metric=AG_METRICS[spec["metric"]],
                                 path=spec["path"], verbosity=0)
    predictor.fit(train, presets=spec["presets"], time_limit=spec["time_limit"],
                  num_cpus=spec["num_cpus"], num_gpus=0)
    fit_s = time.perf_counter() - t0
    features = test.drop(columns=[label])
    t1 = time.perf_counter()
    if task == "regression":
        pred = predictor.predict(features).to_numpy()
        y = test[label].to_numpy(dtype=np.float64)
    else:
        proba = predictor.predict_proba(features)
        proba.columns = [str(c) for c in proba.columns]
        pred = proba[[str(c) for c in classes]].to_numpy()
        y = pd.Categorical(test[label].astype(str),
                           categories=[str(c) for c in classes]).codes.astype(np.int64)
    predict_s = time.perf_counter() - t1
    info = predictor.info()
    stack_levels = info.get("num_stack_levels")
    board = predictor.leaderboard(silent=True)
    print(json.dumps({"score": score(task, y, pred), "fit_s": fit_s, "predict_s": predict_s,
                      "best_model": predictor.model_best, "n_models": int(len(board)),
                      "num_stack_levels_used": stack_levels}))


if __name__ == "__main__":
    main(sys.argv[1])
