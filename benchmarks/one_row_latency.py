"""One-row prediction latency of a loaded predictor: every family, bagged and refit on all
rows, and the ensembles, beside a default LightGBM predicting the same row, in one run.

For each table of ``shared/datasets`` named (the fixed 75/25 split of
benchmarks/tabular.py), raymlx fits every default family with ``refit_full=True``, saves and
loads the predictor, and calls ``predict`` (``predict_proba`` for classification) on one
test row through each model of the leaderboard: 5 warm-up calls, then the median and the
fastest of 50. The peer is ``LGBMClassifier`` / ``LGBMRegressor`` with default parameters on
the same table (object columns as pandas categories), called the same way.

Target (issue 22): the refit ensemble's one-row latency at least 3x below the bagged one's.

Reproduce (writes benchmarks/results/one_row_latency.json, about 6 minutes)::

    .venv/bin/python benchmarks/one_row_latency.py \\
        --datasets german_credit,bank_marketing,wine_quality
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tabular import (  # noqa: E402
    DATASETS_DIR,
    REPO,
    as_categories,
    load_datasets,
    split,
    start_ray,
    versions,
)

RESULTS = REPO / "benchmarks" / "results"
CALLS = 50


def latency(fn) -> dict[str, float]:
    for _ in range(5):
        fn()
    times = []
    for _ in range(CALLS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_ms": float(np.median(times) * 1000), "min_ms": float(min(times) * 1000)}


def run_table(ds, time_limit: float, work: Path) -> dict[str, Any]:
    import lightgbm as lgb

    from raymlx import AutoML

    sp = split(ds)
    aml = AutoML(label=ds.label, problem_type=ds.task, time_limit=time_limit,
                 refit_full=True, path=work / ds.name, seed=0, verbosity=0).fit(sp.train)
    loaded = AutoML.load(aml.save(work / f"{ds.name}-predictor"))
    row = sp.test.drop(columns=[ds.label]).iloc[:1]
    call = loaded.predict if ds.task == "regression" else loaded.predict_proba
    models: dict[str, Any] = {}
    for rec in loaded.models_.usable():
        models[rec.name] = {"family": rec.family,
                            **latency(lambda n=rec.name: call(row, model=n))}
    full = loaded.best_model_
    bagged = next(b for b, f in loaded.refit_full_.items() if f == full)
    X_train, X_test = as_categories(sp.train.drop(columns=[ds.label]),
                                    sp.test.drop(columns=[ds.label]))
    peer = (lgb.LGBMRegressor(verbose=-1) if ds.task == "regression"
            else lgb.LGBMClassifier(verbose=-1)).fit(X_train, sp.y_train)
    peer_call = peer.predict if ds.task == "regression" else peer.predict_proba
    peer_row = X_test.iloc[:1]
    ratio = models[bagged]["min_ms"] / models[full]["min_ms"]
    return {"bagged": bagged, "refit": full, "models": models,
            "lightgbm_default": latency(lambda: peer_call(peer_row)),
            "refit_speedup_min": ratio, "refit_speedup_target_met": bool(ratio >= 3.0)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="german_credit,bank_marketing,wine_quality")
    p.add_argument("--time-limit", type=float, default=90.0)
    p.add_argument("--out", default=str(RESULTS / "one_row_latency.json"))
    args = p.parse_args(argv)
    names = args.datasets.split(",")
    start_ray(2)
    work = Path(tempfile.mkdtemp(prefix="raymlx-latency-"))
    tables = {ds.name: run_table(ds, args.time_limit, work)
              for ds in load_datasets(DATASETS_DIR) if ds.name in names}
    record = {"tables": tables, "calls": CALLS, "time_limit_s": args.time_limit,
              "versions": versions(), "machine": "2 CPU cores"}
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    for name, t in tables.items():
        print(f"\n{name}: one row, ms (median / fastest of {CALLS})")
        print(f"{'model':30s} {'family':14s} {'median':>8s} {'fastest':>8s}")
        for model, m in t["models"].items():
            print(f"{model:30s} {m['family']:14s} {m['median_ms']:8.2f} {m['min_ms']:8.2f}")
        peer = t["lightgbm_default"]
        print(f"{'LightGBM defaults':30s} {'(peer)':14s} {peer['median_ms']:8.2f} "
              f"{peer['min_ms']:8.2f}")
        print(f"refit ensemble vs bagged: {t['refit_speedup_min']:.2f}x faster "
              f"(target 3x: {'met' if t['refit_speedup_target_met'] else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
