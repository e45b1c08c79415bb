"""A simulated 3-node cluster (``ray.cluster_utils.Cluster``): a CPU head and two workers
that declare one (fake) GPU each. GPU families' trials land only on the GPU nodes; a node
removed mid-fit loses its running trial, which is retried elsewhere, and no finished trial
is lost.

These tests stop the session's Ray instance for the simulated cluster and start it again
afterwards (tests/conftest.py's ``start_test_ray``)."""

from __future__ import annotations

import threading
import time

import pytest

from raymlx import AutoML
from tests.conftest import make_binary_frame, start_test_ray


@pytest.fixture(scope="module")
def three_nodes():
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    gpu_nodes = [cluster.add_node(num_cpus=1, num_gpus=1) for _ in range(2)]
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster, gpu_nodes
    ray.shutdown()
    cluster.shutdown()
    start_test_ray()


def _attempts(aml, family: str) -> list[dict]:
    return [a for t in aml.cluster_report_["trials"].values() if t["family"] == family
            for a in t["attempts"]]


def test_gpu_trials_run_only_on_gpu_nodes(three_nodes, tmp_path):
    cluster, gpu_nodes = three_nodes
    gpu_ids = {n.node_id for n in gpu_nodes}
    aml = AutoML(label="target", path=tmp_path, families=["lightgbm", "xgboost"],
                 max_models=8, num_folds=3, verbosity=0).fit(make_binary_frame(500))
    plan = aml.cluster_report_["plan"]
    assert plan["requests"]["xgboost"] == {"CPU": 1.0, "GPU": 1.0}
    assert plan["requests"]["lightgbm"] == {"CPU": 1.0}
    assert plan["concurrent_trials"] == 3
    xgb, lgb = _attempts(aml, "xgboost"), _attempts(aml, "lightgbm")
    assert len(xgb) >= 2 and len(lgb) >= 2
    assert all(a["node_id"] in gpu_ids and a["gpu_ids"] for a in xgb)
    assert all(not a["gpu_ids"] for a in lgb)
    # the fake GPUs have no CUDA device behind them: the trials say so and use the CPU
    assert all(a["device"] == "cpu" for a in xgb)
    board = aml.leaderboard()
    assert board[board.family == "xgboost"].error.isna().all()
    assert len(aml.cluster_report_["nodes"]) == 3


def test_a_node_removed_mid_fit_loses_no_finished_trial(three_nodes, tmp_path):
    import ray

    from raymlx.cluster.manager import get_manager, running_managers

    cluster, gpu_nodes = three_nodes
    victim = gpu_nodes[1]
    removed: dict = {}
    stop = threading.Event()

    def remove_when_busy() -> None:
        end = time.time() + 120
        while time.time() < end and not removed and not stop.is_set():
            fits = running_managers()
            if fits:
                try:
                    report = ray.get(get_manager(fits[0]).summary.remote(), timeout=5)
                except Exception:  # the fit ended meanwhile
                    return
                finished = sum(1 for t in report["trials"].values()
                               if t["attempts"][-1]["status"] == "ok")
                running = [tid for tid, t in report["trials"].items()
                           if t["attempts"][-1]["end"] is None
                           and t["attempts"][-1]["node_id"] == victim.node_id
                           and time.time() - t["attempts"][-1]["start"] > 0.3]
                if finished >= 2 and running:
                    cluster.remove_node(victim)
                    removed.update(trial_id=running[0], finished_before=finished)
                    return
            time.sleep(0.05)

    watcher = threading.Thread(target=remove_when_busy)
    watcher.start()
    forest = {"n_estimators": 300, "min_samples_leaf": 1}
    try:
        aml = AutoML(label="target", path=tmp_path, num_folds=3, verbosity=0, max_models=8,
                     hyperparameters={"random_forest": [forest] * 4,
                                      "xgboost": [{}, {"max_depth": 4}, {"eta": 0.05},
                                                  {"max_depth": 3}]}
                     ).fit(make_binary_frame(3000, seed=1))
    finally:
        stop.set()
        watcher.join()
    assert removed, "the victim node never ran a trial"
    report = aml.cluster_report_
    assert victim.node_id in report["lost_nodes"]
    attempts = report["trials"][removed["trial_id"]]["attempts"]
    assert attempts[0]["status"] == "lost" and attempts[0]["node_id"] == victim.node_id
    assert attempts[-1]["status"] == "ok" and attempts[-1]["node_id"] != victim.node_id
    board = aml.leaderboard()
    trials = board[board.family != "ensemble"]
    assert len(trials) == 8 and trials.error.isna().all()  # nothing lost, nothing failed
    assert aml.predict(make_binary_frame(20, seed=2)).shape == (20,)
