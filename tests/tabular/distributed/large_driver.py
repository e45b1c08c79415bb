"""A driver process for the multi-node test: fits a Parquet folder on a running cluster
and prints, as one JSON line, its resident memory once Ray Data and Tune have started in
it and its peak during the fit, so the test can tell whether the driver ever held the
table.

Run as ``python large_driver.py ADDRESS DATA RUNS PREDICTOR``."""

from __future__ import annotations

import json
import os
import sys


def warm_up(data: str) -> None:
    """Ray Data's and Tune's driver-side machinery started once on a few rows, so what
    the fit adds to the driver afterwards is what it holds of the table."""
    import glob

    import pandas as pd
    import ray.data
    from ray import tune

    first = sorted(glob.glob(f"{data}/*.parquet"))[0]
    ray.data.read_parquet(first).map_batches(lambda b: b, batch_format="pandas").take(2)
    ray.data.from_pandas(pd.read_parquet(first).head(100)).materialize()
    tune.Tuner(lambda config: {"score": 1.0}, run_config=tune.RunConfig(
        storage_path=f"/tmp/warm-{os.getpid()}", verbose=0)).fit()


def main(address: str, data: str, runs: str, predictor: str) -> None:
    import ray

    import raymlx  # noqa: F401 - everything a fit imports, before the start is measured
    from raymlx import AutoML
    from raymlx.cluster.memory_guard import reset_peak, status_bytes
    from raymlx.tabular.distributed import boosting, fit, prepare  # noqa: F401

    ray.init(address=address, log_to_driver=False)
    warm_up(data)
    reset_peak()
    start = status_bytes("VmRSS")
    aml = AutoML(label="y", hyperparameters={"lightgbm": [{"learning_rate": 0.3}]},
                 families=["lightgbm"], path=runs, verbosity=0).fit(data)
    peak = status_bytes("VmHWM")
    aml.save(predictor)
    print(json.dumps({"rss_start": start, "rss_peak": peak, "folder": aml.experiment_path_,
                      "data_path": aml.data_path_}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
