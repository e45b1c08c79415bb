"""Stacking benchmark: raymlx ``presets="best_quality"`` against AutoGluon's, same budget.

For every table in ``shared/datasets`` (the fixed 75/25 split of benchmarks/tabular.py) and
every budget, in one run:

- raymlx ``best_quality`` (8-fold bagging, up to 2 repeats, one stacking layer, dynamic
  stacking on a 1/9 holdout) on ``ray.init(num_cpus=2)``, and from the same fit the test
  score of its best single model (by out-of-fold score), of the layer-1 weighted ensemble
  and of the 2-layer stack's weighted ensemble;
- AutoGluon-Tabular ``presets="best_quality"`` with ``num_cpus=2`` in its own virtualenv
  (``.venv-autogluon``: AutoGluon pins an older Ray, so it cannot share raymlx's), with Ray
  and the CPU torch wheel installed so it runs its parallel bagging and its neural nets.
  raymlx's Ray is shut down while AutoGluon runs, so both get the machine to themselves.

Scores: roc_auc (binary, higher is better), log_loss (multiclass) and rmse (regression),
lower is better; fit seconds are wall time around ``fit`` (raymlx: Ray already started).

``--memory-rows N`` instead measures the driver's memory on an N-row synthetic table (10
numeric columns, one categorical, a binary label) fitted with three layer-1 models and one
stacking layer, 3 folds: the peak of the driver's private memory (``RssAnon``) above its
level before the table was built, against the table's size, and the object store's pages the
driver touched (``RssShmem``).

Reproduce (writes benchmarks/results/stacking.json, or stacking_memory.json)::

    make bench-stacking            # installs .venv-autogluon, then the full run
    .venv/bin/python benchmarks/stacking.py --budgets 60 --datasets german_credit,car_evaluation
    .venv/bin/python benchmarks/stacking.py --memory-rows 1000000   # about 5 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tabular import (  # noqa: E402  (the shared datasets and split of the tabular benchmark)
    DATASETS_DIR,
    REPO,
    Dataset,
    Split,
    load_datasets,
    score,
    split,
    start_ray,
    versions,
)

AG_PYTHON = REPO / ".venv-autogluon" / "bin" / "python"
RESULTS = REPO / "benchmarks" / "results"
LOWER_IS_BETTER = {"log_loss", "rmse"}


def test_scores(aml, test: pd.DataFrame) -> dict[str, Any]:
    """Test scores of the parts of one raymlx fit: best single, layer-1 ensemble, stack."""
    board = aml.leaderboard(test).set_index("model")
    level1 = board[(board.stack_level == 1) & (board.family != "ensemble")
                   & board.error.isna()]
    sign = -1 if aml.problem_.metric in LOWER_IS_BETTER else 1
    best_single = (level1.score_val * sign).idxmax()
    out = {"best_single_model": best_single,
           "best_single": float(board.score_test[best_single]),
           "l1_ensemble": float(board.score_test.get("weighted_ensemble", np.nan)),
           "l2_stack": float(board.score_test.get("weighted_ensemble_L2", np.nan))}
    return out


def run_raymlx(ds: Dataset, sp: Split, budget: float, work: Path,
               options: dict[str, Any] | None = None) -> dict[str, Any]:
    from raymlx import AutoML

    aml = AutoML(label=ds.label, problem_type=ds.task, metric=ds.metric, time_limit=budget,
                 seed=0, path=work / "raymlx_runs", verbosity=0,
                 **{"presets": "best_quality", **(options or {})})
    t0 = time.perf_counter()
    aml.fit(sp.train)
    fit_s = time.perf_counter() - t0
    features = sp.test.drop(columns=[ds.label])
    if sp.classes:
        pred = aml.predict_proba(features)[sp.classes].to_numpy()
    else:
        pred = aml.predict(features).to_numpy()
    return {"score": score(ds.task, sp.y_test, pred), "fit_s": fit_s,
            "final_model": aml.best_model_, "stacking": aml.stacking_.get("reason"),
            "holdout_scores": aml.stacking_.get("holdout_scores"),
            "n_models": len(aml.models_.usable()), **test_scores(aml, sp.test)}


def run_autogluon(ds: Dataset, sp: Split, budget: float, work: Path,
                  num_cpus: int) -> dict[str, Any]:
    if not AG_PYTHON.exists():
        return {"error": f"{AG_PYTHON} is missing; run `make bench-stacking`"}
    sp.train.to_parquet(work / "train.parquet")
    sp.test.to_parquet(work / "test.parquet")
    spec = {"train": str(work / "train.parquet"), "test": str(work / "test.parquet"),
            "label": ds.label, "task": ds.task, "metric": ds.metric,
            "classes": [str(c) for c in sp.classes], "presets": "best_quality",
            "time_limit": budget, "num_cpus": num_cpus, "path": str(work / "ag")}
    (work / "spec.json").write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    proc = subprocess.run([str(AG_PYTHON), str(REPO / "benchmarks" / "autogluon_runner.py"),
                           str(work / "spec.json")], capture_output=True, text=True,
                          env=env, timeout=budget * 4 + 600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-600:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def autogluon_version() -> str:
    if not AG_PYTHON.exists():
        return "not installed"
    out = subprocess.run([str(AG_PYTHON), "-c", "import importlib.metadata as m; "
                          "print(m.version('autogluon.tabular'), m.version('ray'))"],
                         capture_output=True, text=True)
    return out.stdout.strip()


def better(metric: str, a: float, b: float) -> bool:
    """Whether score ``a`` is at least as good as ``b``."""
    return a <= b if metric in LOWER_IS_BETTER else a >= b


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| table | budget | metric | best single | L1 ensemble | 2-layer stack | "
             "raymlx best_quality (s) | AutoGluon best_quality (s) | raymlx >= AG |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ray_, ag = r["raymlx"], r["autogluon"]
        if "error" in ray_ or "error" in ag:
            lines.append(f"| {r['dataset']} | {r['budget']} | {r['metric']} | error: "
                         f"{(ray_.get('error') or ag.get('error'))[:80]} |||||| |")
            continue
        win = better(r["metric"], ray_["score"], ag["score"])
        lines.append(
            f"| {r['dataset']} | {r['budget']:.0f} | {r['metric']} | "
            f"{ray_['best_single']:.4f} | {ray_['l1_ensemble']:.4f} | "
            f"{ray_['l2_stack']:.4f} | {ray_['score']:.4f} ({ray_['fit_s']:.0f}) | "
            f"{ag['score']:.4f} ({ag['fit_s']:.0f}) | {'yes' if win else 'no'} |")
    return "\n".join(lines)


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


MEMORY_MODELS = {"lightgbm": [{"n_estimators": 100}, {"n_estimators": 100, "num_leaves": 63}],
                 "xgboost": [{"n_estimators": 100}]}


def memory_run(rows: int) -> dict[str, Any]:
    """Driver memory of a stacked fit on a synthetic ``rows``-row table.

    ``RssAnon`` is sampled every 20 ms during ``fit`` only; the table is built before, and
    its own temporaries are gone by then. Reported: the peak during the fit above the level
    before the table existed (table included), and above the level just before ``fit``
    (what the fit adds), each against the table's size.
    """
    import gc

    from raymlx import AutoML

    start_ray(2)
    gc.collect()
    before_table = rss_kib("RssAnon")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 10))
    frame = pd.DataFrame(X.copy(), columns=[f"x{i}" for i in range(10)])
    frame["group"] = rng.choice(["a", "b", "c", "d"], size=rows)
    logit = X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + (frame["group"] == "a")
    frame["y"] = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    del X, logit
    gc.collect()
    size = int(frame.memory_usage(deep=True).sum())
    before_fit = rss_kib("RssAnon")
    peak = {"RssAnon": before_fit, "RssShmem": rss_kib("RssShmem")}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for key in peak:
                peak[key] = max(peak[key], rss_kib(key))
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory() as tmp:
        # three layer-1 models with fixed rounds, then their two families as stackers; no
        # time limit, so every model finishes and the peak covers the whole stacked fit
        aml = AutoML(label="y", hyperparameters=MEMORY_MODELS, num_folds=3,
                     num_stack_levels=1, dynamic_stacking=False, path=tmp, verbosity=1)
        t0 = time.perf_counter()
        aml.fit(frame)
        fit_s = time.perf_counter() - t0
        stop.set()
        thread.join()
        n_models = len(aml.models_.usable())
        levels = sorted({r.stack_level for r in aml.models_.usable()})
    kib = 1024
    out = {"rows": rows, "dataset_bytes": size, "fit_s": fit_s, "n_models": n_models,
           "stack_levels": levels,
           "table_in_driver_bytes": (before_fit - before_table) * kib,
           "driver_peak_above_no_table_bytes": (peak["RssAnon"] - before_table) * kib,
           "driver_peak_added_by_fit_bytes": (peak["RssAnon"] - before_fit) * kib,
           "driver_object_store_pages_peak_bytes": peak["RssShmem"] * kib}
    out["peak_with_table_over_dataset"] = out["driver_peak_above_no_table_bytes"] / size
    out["added_by_fit_over_dataset"] = out["driver_peak_added_by_fit_bytes"] / size
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", default="60,300", help="comma-separated seconds")
    parser.add_argument("--datasets", default=None, help="comma-separated names (all)")
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--memory-rows", type=int, default=None)
    parser.add_argument("--output", default=None)
    parser.add_argument("--raymlx-options", default="{}",
                        help='JSON of AutoML arguments, e.g. {"dynamic_stacking": false}')
    parser.add_argument("--skip-autogluon", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"machine": f"{platform.node()} {os.cpu_count()} CPUs", "python":
            platform.python_version(), "versions": versions(),
            "autogluon_and_its_ray": autogluon_version(),
            "date": time.strftime("%Y-%m-%d %H:%M")}
    if args.memory_rows:
        result = {**meta, **memory_run(args.memory_rows)}
        path = Path(args.output or RESULTS / "stacking_memory.json")
        path.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        return 0

    import ray

    budgets = [float(b) for b in args.budgets.split(",")]
    datasets = load_datasets(DATASETS_DIR)
    if args.datasets:
        wanted = args.datasets.split(",")
        datasets = [d for d in datasets if d.name in wanted]
    path = Path(args.output or RESULTS / "stacking.json")
    # results accumulate over runs: a (table, budget) pair measured again replaces the old
    old = json.loads(path.read_text()) if path.exists() else {"rows": []}
    rows = {(r["dataset"], r["budget"]): r for r in old["rows"]}
    for budget in budgets:
        for ds in datasets:
            sp = split(ds)
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                start_ray(args.num_cpus)
                try:
                    ours = run_raymlx(ds, sp, budget, work,
                                      json.loads(args.raymlx_options))
                except Exception as exc:  # recorded in the table, the run goes on
                    ours = {"error": f"{type(exc).__name__}: {exc}"}
                ray.shutdown()
                ag = ({"error": "skipped"} if args.skip_autogluon
                      else run_autogluon(ds, sp, budget, work, args.num_cpus))
            row = {"dataset": ds.name, "budget": budget, "metric": ds.metric,
                   "raymlx_options": json.loads(args.raymlx_options),
                   "rows_train": len(sp.train), "raymlx": ours, "autogluon": ag}
            rows[(ds.name, budget)] = row
            print(markdown([row]).splitlines()[-1], flush=True)
            ordered = sorted(rows.values(), key=lambda r: (r["budget"], r["dataset"]))
            path.write_text(json.dumps({**meta, "rows": ordered}, indent=2))
    ordered = sorted(rows.values(), key=lambda r: (r["budget"], r["dataset"]))
    print(markdown(ordered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
