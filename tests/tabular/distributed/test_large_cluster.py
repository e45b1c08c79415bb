"""The large-data path on a simulated 3-node cluster (``ray.cluster_utils.Cluster``) whose
object stores (75 MiB each, Ray's least) are too small for the table (1.2M rows x 30
features, 149 MB as float32): ``auto`` takes the large-data path, each trial's three
workers (one per node) read a third of the table each, the driver (its own process, so
its memory can be read) never holds the table, and the predictor scores Datasets as it
scores DataFrames.

These tests stop the session's Ray instance for the simulated cluster and start it again
afterwards (tests/conftest.py's ``start_test_ray``)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML
from raymlx.errors import InputError
from tests.conftest import REPO, start_test_ray
from tests.tabular.distributed.tables import write_bad_folder

ROWS, FEATURES, FILES = 1_200_000, 30, 8
STORE = 75 * 1024 * 1024
TABLE_BYTES = ROWS * (FEATURES + 1) * 4  # the prepared float32 matrix, label included


def write_wide_table(folder: Path, rows: int, files: int, seed: int) -> pd.DataFrame | None:
    """A binary table of ``FEATURES`` float32 columns with a nonlinear signal; returns the
    last file's frame."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    frame = None
    for i in range(files):
        X = rng.normal(size=(rows // files, FEATURES)).astype(np.float32)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(FEATURES)])
        signal = X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + X[:, 3] - 0.3
        frame["y"] = np.where(signal + 0.3 * rng.normal(size=len(X)) > 0, "yes", "no")
        frame.to_parquet(folder / f"part-{i}.parquet")
    return frame


@pytest.fixture(scope="module")
def small_store_cluster(tmp_path_factory):
    import ray
    from ray.cluster_utils import Cluster

    root = tmp_path_factory.mktemp("cluster")
    write_wide_table(root / "train", ROWS, FILES, seed=0)
    test = write_wide_table(root / "test", 3000, 1, seed=1)
    ray.shutdown()
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "object_store_memory": STORE})
    for _ in range(2):
        cluster.add_node(num_cpus=1, object_store_memory=STORE)
    cluster.wait_for_nodes()
    # the fit runs in a driver process of its own, whose memory is its own to measure
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("large_driver.py")), cluster.address,
         str(root / "train"), str(root / "runs"), str(root / "predictor")],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-3000:]
    driver = json.loads(next(line for line in reversed(out.stdout.splitlines())
                             if line.startswith('{"rss_start"')))
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster, driver, root, test
    ray.shutdown()
    cluster.shutdown()
    start_test_ray()


@pytest.mark.ray
def test_stores_too_small_for_the_table_send_it_down_the_large_path(small_store_cluster):
    _, driver, root, test = small_store_cluster
    assert driver["data_path"]["path"] == "distributed"
    assert "over 0.25 of the smallest object store (78.6 MB)" in driver["data_path"]["reason"]
    aml = AutoML.load(root / "predictor")
    board = aml.leaderboard()
    assert board.error.isna().all()
    assert board[board.family == "lightgbm"].note.str.endswith("on 3 workers").all()
    assert aml.score(test) > 0.95


@pytest.mark.ray
def test_each_worker_holds_its_third_of_the_table_on_its_own_node(small_store_cluster):
    _, driver, _, _ = small_store_cluster
    stats = [json.load(open(p)) for p in
             glob.glob(f"{driver['folder']}/train/workers/*-rank*.json")]
    assert len(stats) == 3 and len({s["node_id"] for s in stats}) == 3
    from raymlx.tabular.distributed.shards import file_rows

    held_out = sum(file_rows(glob.glob(f"{driver['folder']}/prepared/__split__=holdout/*")))
    assert abs(held_out - 0.1 * ROWS) < 4 * (0.09 * ROWS) ** 0.5  # binomial, large classes
    assert sum(s["rows"] for s in stats) == ROWS - held_out  # the shares cover the rest
    for s in stats:
        assert s["rows"] < 0.4 * ROWS
        # with its shard read: a third of the table (~46 MB) plus the reader's code
        # (measured +58 MB); the whole table would be 149 MB and more
        assert s["rss_loaded"] - s["rss_start"] < 0.75 * TABLE_BYTES
        # at its peak LightGBM holds the shard, its bins and the holdout (measured +175 MB,
        # 3.8 times the shard); on the whole table that would be well over 1.5 tables
        assert s["rss_peak"] - s["rss_start"] < 1.5 * TABLE_BYTES


@pytest.mark.ray
def test_the_driver_never_holds_the_table(small_store_cluster):
    _, driver, _, _ = small_store_cluster
    # measured after Ray Data and Tune had started in the driver: what the fit added
    assert driver["rss_peak"] - driver["rss_start"] < 0.5 * TABLE_BYTES


@pytest.mark.ray
def test_the_manager_saw_every_worker_on_its_node(small_store_cluster):
    _, driver, _, _ = small_store_cluster
    report = json.load(open(Path(driver["folder"]) / "cluster_report.json"))
    assert report["plan"]["data_parallel"]["num_workers"] == 3
    workers = [a for t in report["trials"].values() for a in t["attempts"]]
    assert len({a["node_id"] for a in workers}) == 3
    assert all(a["status"] == "ok" and a["rss_peak"] for a in workers)


@pytest.mark.ray
def test_dataset_predictions_on_the_cluster_equal_pandas_predictions(small_store_cluster):
    import ray.data

    _, _, root, test = small_store_cluster
    aml = AutoML.load(root / "predictor")
    scored = aml.predict_proba(ray.data.from_pandas(test)).to_pandas()
    np.testing.assert_allclose(scored[["no", "yes"]].to_numpy(dtype=float),
                               aml.predict_proba(test).to_numpy(dtype=float), atol=1e-6)


@pytest.mark.ray
@pytest.mark.parametrize("case", ["missing column", "corrupt file", "empty folder"])
def test_bad_files_name_the_file_on_the_cluster(small_store_cluster, tmp_path, case):
    folder = tmp_path / "t"
    match = write_bad_folder(folder, case, lambda f: write_wide_table(f, 400, 2, seed=2))
    with pytest.raises(InputError, match=match) as info:
        AutoML(label="y", data_path="distributed", path=tmp_path / "runs").fit(str(folder))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "runs").exists()
