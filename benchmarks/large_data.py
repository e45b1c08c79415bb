"""Large-data benchmark: raymlx's large-data path against LightGBM with default parameters
on the whole table, raymlx's in-memory path where the table fits, and AutoGluon
``best_quality`` on the largest sample it loads.

Tables: seeded synthetic binary tables written as Parquet (files of 250k rows), ``--rows``
rows x ``--features`` float32 features with a nonlinear signal (products, a sine, a
threshold and noise), and one fixed 200k-row test file from the same distribution.

Each run is its own Python process, so its peak memory (``VmHWM``, reset after start-up)
is its own:

- ``large``: ``AutoML(time_limit=--budget)`` with ``data_path="auto"`` as the driver of a
  simulated 2-node cluster (``ray.cluster_utils.Cluster``: two 1-CPU nodes whose object
  stores are capped at ``--store-mb``): the path it took, test AUC, wall time against the
  budget, the driver's peak memory above its start, each training worker's peak (from the
  workers' own reports), and the bytes Ray spilled.
- ``lightgbm``: ``lightgbm.LGBMClassifier()`` (defaults, 2 threads) on the whole table read
  into one float32 matrix, where it fits in this machine's memory.
- ``memory``: ``AutoML(data_path="memory")`` on a local 2-CPU Ray, where the table's
  prepared matrix is under ``--memory-limit-mb``.
- ``autogluon``: AutoGluon ``best_quality`` at the same budget in its own virtualenv
  (``make .venv-autogluon/.installed-stamp``) on a sample of at most ``--ag-rows`` rows.
- ``scaling``: one LightGBM trial (learning rate 0.3, 63 leaves, run to its early stop)
  with 1 worker and with 2 workers on a 2-node cluster (1 CPU each): training rows x
  rounds per second of training, from the workers' own reports.

Targets (issue 17): the 16M-row table inside the budget with the driver under 1 GB above
its start; the AUC at or above LightGBM defaults on the whole table; 2 workers at least
1.6x one worker's rows per second on 4M rows.

Reproduce::

    .venv/bin/python benchmarks/large_data.py                       # 1M, 4M, 16M: about 1.5 h here
    .venv/bin/python benchmarks/large_data.py --rows 1000000 --budget 180

Results go to ``benchmarks/results/large_data.json``; a table is printed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # private simulated clusters
from raymlx.cluster.memory_guard import reset_peak, status_bytes  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "large_data.json"
AG_PYTHON = REPO / ".venv-autogluon" / "bin" / "python"
FILE_ROWS = 250_000
TEST_ROWS = 200_000


# ---------------------------------------------------------------- data
def _block(rng: np.random.Generator, rows: int, features: int):
    import pandas as pd

    X = rng.normal(size=(rows, features)).astype(np.float32)
    signal = (X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + (X[:, 3] > 0.5) + 0.5 * X[:, 4]
              - 0.4 * X[:, 5] * X[:, 6] - 0.5)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(features)])
    frame["y"] = (signal + 0.6 * rng.normal(size=rows) > 0).astype(np.int8)
    return frame


def write_table(folder: Path, rows: int, features: int, seed: int) -> Path:
    """The table as Parquet files of ``FILE_ROWS`` rows (written once, kept)."""
    done = folder / "_complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        _block(rng, min(FILE_ROWS, rows - start), features).to_parquet(
            folder / f"part-{i:04d}.parquet")
    done.touch()
    return folder


# ---------------------------------------------------------------- memory
def _reset_peak() -> int:
    """Starts ``VmHWM`` again from now; returns the resident bytes now."""
    reset_peak()
    return status_bytes("VmRSS") or 0


def _peak() -> int:
    return status_bytes("VmHWM") or 0


def _test_frame(data: Path):
    import pandas as pd

    return pd.read_parquet(data / "test")


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


# ---------------------------------------------------------------- runs (child processes)
def run_large(args) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    from raymlx import AutoML

    store = int(args.store_mb * 2**20)
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "object_store_memory": store})
    cluster.add_node(num_cpus=1, object_store_memory=store)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    import ray.data  # noqa: F401 - started before the driver's memory is measured

    ray.data.range(10).map_batches(lambda b: b).materialize()
    start = _reset_peak()
    t0 = time.time()
    aml = AutoML(label="y", time_limit=args.budget, path=args.work, verbosity=1,
                 hyperparameters=None if not args.quick else
                 {"lightgbm": [{"learning_rate": 0.1}], "xgboost": [{"eta": 0.1}]})
    aml.fit(str(args.train))
    wall = time.time() - t0
    peak = _peak()
    test = _test_frame(args.data)
    auc = _auc(test["y"], aml.predict_proba(test.drop(columns="y")).iloc[:, 1])
    workers = [json.load(open(p)) for p in
               glob.glob(f"{aml.experiment_path_}/train/workers/*-rank*.json")]
    from ray._private.internal_api import memory_summary

    summary = memory_summary(address=cluster.address, stats_only=True)
    spilled = 0.0
    for line in summary.splitlines():
        if line.strip().startswith("Spilled"):
            spilled = float(line.split()[1]) * 2**20
    board = aml.leaderboard()
    out = {"path": aml.data_path_["path"], "reason": aml.data_path_["reason"],
           "auc": auc, "wall_s": wall, "budget_s": args.budget,
           "driver_rss_rise": peak - start, "driver_rss_start": start,
           "worker_rss_peak_max": max((w["rss_peak"] for w in workers), default=None),
           "worker_rss_rise_max": max((w["rss_peak"] - w["rss_start"] for w in workers),
                                      default=None),
           "spilled_bytes": spilled, "models": int((board.error.isna()).sum()),
           "leaderboard": board[["model", "score_val", "note", "error"]].to_dict("records"),
           "worker_rounds": sorted({(w["family"], w["rounds"], round(w["train_s"]))
                                    for w in workers}),
           "trials": int((board.family != "ensemble").sum()), "best": aml.best_model_}
    return _emit_then_stop(out, cluster)


def _emit_then_stop(out: dict, cluster) -> None:
    """Prints the result first: tearing a simulated cluster down can end this process
    (measured: the driver lost its object store socket and exited)."""
    import ray

    print(json.dumps(out, default=float), flush=True)
    ray.shutdown()
    cluster.shutdown()


def _whole_matrix(train: Path):
    """The whole table as one float32 matrix, read as a large-data worker reads its share."""
    import pyarrow.parquet as pq

    from raymlx.tabular.distributed.shards import read_matrix

    files = sorted(glob.glob(f"{train}/*.parquet"))
    columns = [c for c in pq.read_schema(files[0]).names if c != "y"]
    X, y = read_matrix(files, columns, "y")
    return X, y, columns


def run_lightgbm(args) -> dict:
    import lightgbm as lgb

    start = _reset_peak()
    t0 = time.time()
    X, y, columns = _whole_matrix(args.train)
    model = lgb.LGBMClassifier(n_jobs=2, verbose=-1).fit(X, y)
    wall = time.time() - t0
    test = _test_frame(args.data)
    auc = _auc(test["y"], model.predict_proba(test[columns].to_numpy(np.float32))[:, 1])
    return {"auc": auc, "wall_s": wall, "rss_rise": _peak() - start}


def run_memory(args) -> dict:
    import ray

    from raymlx import AutoML

    ray.init(address="local", num_cpus=2, log_to_driver=False)
    start = _reset_peak()
    t0 = time.time()
    aml = AutoML(label="y", time_limit=args.budget, data_path="memory", path=args.work,
                 verbosity=1).fit(str(args.train))
    wall = time.time() - t0
    test = _test_frame(args.data)
    auc = _auc(test["y"], aml.predict_proba(test.drop(columns="y")).iloc[:, 1])
    return {"auc": auc, "wall_s": wall, "rss_rise": _peak() - start,
            "best": aml.best_model_}


def run_scaling(args) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    from raymlx import AutoML

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    out = {}
    for workers in (1, 2):
        config = ({"lightgbm": [{"learning_rate": 0.3, "num_leaves": 63}]}
                  if args.scaling_family == "lightgbm" else
                  {"xgboost": [{"eta": 0.3, "max_depth": 6}]})
        aml = AutoML(label="y", data_path="distributed", workers_per_trial=workers,
                     hyperparameters=config,
                     path=args.work / f"w{workers}", verbosity=0).fit(str(args.train))
        stats = [json.load(open(p)) for p in
                 glob.glob(f"{aml.experiment_path_}/train/workers/*-rank*.json")]
        rows = sum(s["rows"] for s in stats)
        train_s = max(s["train_s"] for s in stats)
        rounds = stats[0]["rounds"]
        out["family"] = args.scaling_family
        out[f"{workers}_workers"] = {"rows": rows, "rounds": rounds, "train_s": train_s,
                                     "row_rounds_per_s": rows * rounds / train_s}
    out["speed_up"] = (out["2_workers"]["row_rounds_per_s"]
                       / out["1_workers"]["row_rounds_per_s"])
    return _emit_then_stop(out, cluster)


def run_autogluon(args) -> dict:
    import pandas as pd

    if not AG_PYTHON.exists():
        return {"skipped": f"{AG_PYTHON} is missing (make .venv-autogluon/.installed-stamp)"}
    files = sorted(glob.glob(f"{args.train}/*.parquet"))
    frames, rows = [], 0
    for f in files:  # the largest sample it is given: the first --ag-rows rows
        if rows >= args.ag_rows:
            break
        frames.append(pd.read_parquet(f))
        rows += len(frames[-1])
    sample = args.work / "ag_train.parquet"
    pd.concat(frames).head(args.ag_rows).to_parquet(sample)
    del frames
    spec = {"train": str(sample), "test": str(args.data / "test" / "part-0000.parquet"),
            "label": "y", "task": "binary", "classes": [0, 1], "metric": "roc_auc",
            "presets": "best_quality", "time_limit": args.budget, "num_cpus": 2,
            "path": str(args.work / "ag")}
    spec_path = args.work / "ag_spec.json"
    spec_path.write_text(json.dumps(spec))
    t0 = time.time()
    out = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", str(AG_PYTHON),
                          str(REPO / "benchmarks" / "autogluon_runner.py"), str(spec_path)],
                         capture_output=True, text=True, timeout=args.budget * 4 + 600)
    wall = time.time() - t0
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1][:300], "rows": rows}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    rss = [int(line.split()[1]) * 1024 for line in out.stderr.splitlines()
           if line.startswith("MAXRSS")]
    return {"auc": res["score"], "wall_s": wall, "rows": int(min(rows, args.ag_rows)),
            "peak_rss": rss[-1] if rss else None, "best": res["best_model"]}


RUNS: dict = {"large": run_large, "lightgbm": run_lightgbm, "memory": run_memory,
        "scaling": run_scaling, "autogluon": run_autogluon}


# ---------------------------------------------------------------- parent
def _child(part: str, args, rows: int) -> dict:
    data = args.data_dir / f"{rows}x{args.features}"
    with tempfile.TemporaryDirectory(prefix=f"large-{part}-") as work:
        cmd = [sys.executable, __file__, "--child", part, "--data", str(data),
               "--work", work, "--budget", str(args.budget), "--store-mb", str(args.store_mb),
               "--ag-rows", str(args.ag_rows), "--scaling-family", args.scaling_family]
        cmd += ["--quick"] if args.quick else []
        t0 = time.time()
        out = subprocess.run(cmd, capture_output=True, text=True)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if lines:
            return json.loads(lines[-1])
        log = args.data_dir / f"{part}-{rows}.stderr.log"
        log.write_text(out.stderr)
        errors = [line for line in out.stderr.splitlines() if "Error" in line]
        return {"error": (errors or ["(no error line)"])[-1][:300], "log": str(log),
                "wall_s": time.time() - t0}


def _fits_in_memory(rows: int, features: int, limit_mb: float) -> bool:
    return rows * (features + 1) * 4 < limit_mb * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="1000000,4000000,16000000")
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--store-mb", type=float, default=256.0)
    ap.add_argument("--memory-limit-mb", type=float, default=1500.0,
                    help="the in-memory path runs on tables whose matrix is under this")
    ap.add_argument("--lightgbm-limit-mb", type=float, default=8000.0)
    ap.add_argument("--ag-rows", type=int, default=1_000_000)
    ap.add_argument("--parts", default="large,lightgbm,memory,autogluon,scaling")
    ap.add_argument("--scaling-rows", type=int, default=4_000_000)
    ap.add_argument("--scaling-family", default="lightgbm", choices=["lightgbm", "xgboost"])
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir())
                    / "raymlx-large-data")
    ap.add_argument("--quick", action="store_true",
                    help="one configuration per family instead of the portfolio")
    ap.add_argument("--child", default=None)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--work", type=Path)
    args = ap.parse_args()
    if args.child:
        args.train = args.data / "train"
        out = RUNS[args.child](args)
        if out is not None:
            print(json.dumps(out, default=float))
        return
    parts = args.parts.split(",")
    sizes = [int(r) for r in args.rows.split(",")]
    # runs of other parts or sizes already on record are kept; these replace their own
    results: dict = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"tables": {}}
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    results.setdefault("settings", {})[args.parts] = {k: str(v) for k, v in vars(args).items()}
    for rows in sorted(set(sizes + ([args.scaling_rows] if "scaling" in parts else []))):
        data = args.data_dir / f"{rows}x{args.features}"
        t0 = time.time()
        write_table(data / "train", rows, args.features, seed=rows)
        write_table(data / "test", TEST_ROWS, args.features, seed=7)
        print(f"table {rows} rows ready ({time.time() - t0:.0f} s)", flush=True)
        entry: dict = results["tables"].setdefault(str(rows), {})
        for part in parts:
            if part == "scaling" and rows != args.scaling_rows:
                continue
            key = part if part != "scaling" else f"scaling_{args.scaling_family}"
            if part != "scaling" and rows not in sizes:
                continue
            if part == "memory" and not _fits_in_memory(rows, args.features,
                                                        args.memory_limit_mb):
                entry[part] = {"skipped": f"matrix over {args.memory_limit_mb:g} MB"}
                continue
            if part == "lightgbm" and not _fits_in_memory(rows, args.features,
                                                          args.lightgbm_limit_mb):
                entry[part] = {"skipped": f"matrix over {args.lightgbm_limit_mb:g} MB"}
                continue
            entry[key] = _child(part, args, rows)
            print(f"  {key}: {json.dumps(entry[key], default=float)[:300]}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=float))
    print_table(results)


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: dict) -> None:
    print(f"\n{'rows':>10} {'run':<10} {'AUC':>7} {'wall s':>8} {'driver MB':>10} "
          f"{'worker MB':>10} {'spilled MB':>10}  note")
    for rows, entry in results["tables"].items():
        for part, r in entry.items():
            if part.startswith("scaling"):
                continue
            note = r.get("skipped") or r.get("error") or r.get("path") or ""
            rise = r.get("driver_rss_rise", r.get("rss_rise", r.get("peak_rss")))
            print(f"{rows:>10} {part:<10} {_fmt(r.get('auc'), '.4f'):>7} "
                  f"{_fmt(r.get('wall_s'), '.0f'):>8} "
                  f"{_fmt(rise and rise / 1e6, '.0f'):>10} "
                  f"{_fmt(r.get('worker_rss_rise_max') and r['worker_rss_rise_max'] / 1e6, '.0f'):>10} "  # noqa: E501
                  f"{_fmt(r.get('spilled_bytes') and r['spilled_bytes'] / 1e6, '.0f'):>10}  "
                  f"{note}")
        for part in [p for p in entry if p.startswith("scaling_")]:
            s = entry[part]
            if "speed_up" not in s:
                print(f"{rows:>10} {part}: {s.get('error')}")
                continue
            print(f"{rows:>10} {part}: 2 workers {s['2_workers']['row_rounds_per_s']:.3g} "
                  f"row-rounds/s vs 1 worker {s['1_workers']['row_rounds_per_s']:.3g}: "
                  f"{s['speed_up']:.2f}x (target 1.6x)")


if __name__ == "__main__":
    main()
