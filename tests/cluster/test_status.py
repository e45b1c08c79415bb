"""The resource manager's live report, ``raymlx cluster status`` and ``template``, and the
report saved with a fit."""

from __future__ import annotations

import json
import os
import time

import pytest

from raymlx import AutoML
from raymlx.cli import main
from raymlx.cluster.manager import running_managers, start_manager


def test_status_shows_each_running_fit_per_node(ray_session, capsys):
    import ray

    here = ray.get_runtime_context().get_node_id()
    manager = start_manager("fit-status-test", {"concurrent_trials": 2}, time.time() + 60)
    try:
        manager.trial_started.remote("t1", {
            "family": "xgboost", "node_id": here, "pid": os.getpid(), "time": time.time(),
            "request": {"CPU": 1.0, "GPU": 0.0}, "gpu_ids": [], "device": "cpu",
            "node_memory": (2**30, 4 * 2**30)})
        manager.trial_started.remote("t2", {
            "family": "lightgbm", "node_id": here, "pid": os.getpid(), "time": time.time(),
            "request": {"CPU": 1.0}, "gpu_ids": [], "device": "cpu"})
        manager.trial_finished.remote("t2", "ok", {"time": time.time()})
        ray.get(manager.get_plan.remote())
        assert "fit-status-test" in running_managers()
        assert main(["cluster", "status"]) == 0
        out = capsys.readouterr().out
        assert "fit fit-status-test" in out and "trials running 1, finished 1" in out
        assert here[:8] in out and "xgboost:t1" in out and "1.0/4.0" in out
        assert main(["cluster", "status", "--json", "--fit", "fit-status-test"]) == 0
        report = json.loads(capsys.readouterr().out)
        row = report["nodes"][0]
        assert row["cpus_in_use"] == 1.0 and row["running"] == ["xgboost:t1"]
        assert row["finished"] == 1 and report["time_left_s"] > 0
        assert main(["cluster", "status", "--fit", "nope"]) == 2
        assert "no running fit called 'nope'" in capsys.readouterr().err
    finally:
        ray.kill(manager)


def test_a_large_data_trials_workers_count_as_one_trial(ray_session, capsys):
    """Each Ray Train worker of a large-data trial reports under its own key and names its
    Tune trial: two workers are one trial running, a restarted group one retry."""
    import ray

    from raymlx.cluster.manager import finished_message, started_message

    manager = start_manager("fit-workers-test", {}, time.time() + 60)
    try:
        def start(rank: int) -> None:
            manager.trial_started.remote(f"t1-rank{rank}", started_message(
                "xgboost", {"CPU": 0.99}, "cpu", time.time(), trial="t1"))

        for rank in (0, 1):
            start(rank)
        report = ray.get(manager.report.remote())
        assert (report["trials_running"], report["workers_running"]) == (1, 2)
        assert main(["cluster", "status", "--fit", "fit-workers-test"]) == 0
        assert "trials running 1 (2 workers), finished 0" in capsys.readouterr().out
        for rank in (0, 1):  # the group restarted after a worker died
            start(rank)
        report = ray.get(manager.report.remote())
        assert report["retries"] == 1 and report["trials_running"] == 1
        for rank in (0, 1):
            manager.trial_finished.remote(f"t1-rank{rank}", "ok", finished_message())
        report = ray.get(manager.report.remote())
        assert (report["trials_running"], report["trials_finished"]) == (0, 1)
        assert main(["cluster", "status", "--fit", "fit-workers-test"]) == 0
        assert "trials running 0, finished 1, retried 1" in capsys.readouterr().out
    finally:
        ray.kill(manager)


def test_status_without_a_fit_lists_the_nodes(ray_session, capsys):
    assert main(["cluster", "status"]) == 0
    out = capsys.readouterr().out
    assert "no raymlx fit is running" in out and "head" in out


def test_status_without_a_cluster_is_a_one_line_error(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:1"}
    out = subprocess.run([sys.executable, "-m", "raymlx.cli", "cluster", "status"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("raymlx: error: could not connect to the Ray cluster")
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["ray-up-local", "ray-up-aws", "kuberay-raycluster",
                                  "kuberay-rayjob", "kuberay-rayservice"])
def test_template_prints_and_writes(name, tmp_path, capsys):
    from raymlx.cluster.templates import template_text

    assert main(["cluster", "template", name]) == 0
    assert capsys.readouterr().out == template_text(name)
    target = tmp_path / f"{name}.yaml"
    assert main(["cluster", "template", name, "--output", str(target)]) == 0
    assert target.read_text() == template_text(name)


def test_unknown_template_is_a_one_line_error(capsys):
    assert main(["cluster", "template", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown template 'nope'" in err and len(err.strip().splitlines()) == 1


def test_the_cluster_report_is_saved_with_the_predictor(ray_session, binary_frame, tmp_path):
    aml = AutoML(label="target", families=["linear"], max_models=2, num_folds=3,
                 path=tmp_path / "runs", verbosity=0).fit(binary_frame)
    report = aml.cluster_report_
    assert report["plan"]["requests"] == {"linear": {"CPU": 1.0}}
    assert report["plan"]["concurrent_trials"] == 2  # the test instance has 2 CPUs
    assert len(report["trials"]) == 2 and report["retries"] == 0
    node = report["nodes"][0]
    assert node["trials_run"] == 2 and 0 < node["cpu_utilisation"] <= 1
    loaded = AutoML.load(aml.save(tmp_path / "pred"))
    assert loaded.cluster_report_["trials"].keys() == report["trials"].keys()
    assert running_managers() == []  # the fit's manager ends with the fit
