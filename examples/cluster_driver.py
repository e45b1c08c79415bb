"""A raymlx driver script for a Ray cluster.

Run it where Ray runs (a laptop starts a local Ray; on a cluster the script connects to it):

    python examples/cluster_driver.py                                # local Ray
    RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=~/.raymlx/ray_token \\
        python examples/cluster_driver.py --address 10.0.0.10:6379   # a `ray start` cluster
    ray submit cluster.yaml examples/cluster_driver.py --data /shared/data/train.csv \\
        --label quality --path /shared/runs --output /shared/predictors/wine

It fits, then prints the leaderboard, the resource plan the fit used (what each model
family asked Ray for, how many trials ran at once) and the per-node utilisation report, and
saves the predictor (the fit logs its plan as it starts, too). On more than one node
``--path`` must be storage every node mounts at the same place (the trials write their fold
models there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from raymlx import AutoML
from raymlx.cluster.report import format_report

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser(description="fit a table with raymlx on a Ray cluster")
    p.add_argument("--data", default=str(HERE / "data" / "winequality-white.csv"))
    p.add_argument("--label", default="quality")
    p.add_argument("--address", default=None, help="Ray cluster (default RAY_ADDRESS or local)")
    p.add_argument("--time-limit", type=float, default=120)
    p.add_argument("--path", default="raymlx_runs", help="fit folder root (shared storage)")
    p.add_argument("--output", default="out/cluster_predictor")
    args = p.parse_args()

    sep = ";" if "winequality" in Path(args.data).name else ","
    df = pd.read_csv(args.data, sep=sep)
    aml = AutoML(label=args.label, time_limit=args.time_limit, address=args.address,
                 path=args.path, families=["lightgbm", "xgboost", "linear", "mlp"])
    aml.fit(df)
    print(aml.leaderboard().drop(columns=["config"]).head(10).to_string(index=False))
    report = aml.cluster_report_
    print("\nresource plan:", report["plan"]["requests"],
          f"({report['plan']['concurrent_trials']} trials at once)")
    print(format_report(report))
    print(f"\nsaved to {aml.save(args.output)}; resume an interrupted run with "
          f"`raymlx fit --resume {aml.experiment_path_} --output ...`")


if __name__ == "__main__":
    main()
