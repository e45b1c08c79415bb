"""Faults injected by raymlx.testing.chaos: the store and the resource manager restart
without losing what they held, and the short chaos benchmark (every fault kind once, on a
simulated 3-node cluster with token authentication on) loses no finished trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raymlx import AutoML
from raymlx.testing.chaos import Chaos

REPO = Path(__file__).resolve().parents[2]
FOREST = {"n_estimators": 120}
PORTFOLIO = {"random_forest": [FOREST, {**FOREST, "max_depth": 6}], "linear": [{}],
             "lightgbm": [{}, {"num_leaves": 8}]}


def test_chaos_names_its_kinds():
    with pytest.raises(ValueError, match="kind must be one of"):
        Chaos("disk", every_s=1, seed=0)
    with pytest.raises(ValueError, match="needs the Cluster"):
        Chaos("node", every_s=1, seed=0)


def test_a_killed_manager_restarts_with_its_run_read_back(ray_session, tmp_path):
    import ray

    from raymlx.cluster.manager import JOURNAL_FILE, start_manager

    (tmp_path / JOURNAL_FILE).write_text(json.dumps(  # an earlier run's line: not ours
        {"run": "other", "kind": "record_overrun", "args": ["t9", "x"]}) + "\n")
    manager = start_manager("chaos-journal", {"concurrent_trials": 1}, float("inf"),
                            tmp_path)
    info = {"family": "linear", "node_id": "n1", "pid": 1, "request": {"CPU": 1},
            "gpu_ids": [], "device": "cpu", "time": time.time()}
    ray.get([manager.trial_started.remote("t1", info),
             manager.trial_finished.remote("t1", "ok", {"time": time.time()}),
             manager.trial_started.remote("t2", info),
             manager.record_overrun.remote("t2", "over its limit")])
    before = ray.get(manager.summary.remote())
    pid = ray.get(manager.pid.remote())
    os.kill(pid, signal.SIGKILL)
    after = ray.get(manager.summary.remote(), timeout=60)  # waits for the restart
    assert ray.get(manager.pid.remote()) != pid
    assert after["manager_restarts"] == 1 and before["manager_restarts"] == 0
    assert after["trials"] == before["trials"]
    assert after["memory_overruns"] == {"t2": "over its limit"}  # not t9's
    assert after["elapsed_s"] >= before["elapsed_s"]  # its start time came back too
    ray.kill(manager)


def _fit(data, path):
    return AutoML(label="quality", problem_type="regression", path=path, num_folds=3,
                  num_stack_levels=1, hyperparameters=PORTFOLIO, verbosity=0).fit(data)


def test_a_store_killed_twice_mid_fit_changes_no_model(ray_session, wine_red, tmp_path):
    reference = _fit(wine_red, tmp_path / "calm")
    chaos = Chaos("store", every_s=2.0, seed=0, max_faults=2, warm_up_s=0.5)
    chaos.start()
    try:
        aml = _fit(wine_red, tmp_path / "chaos")
    finally:
        chaos.stop()
    assert len(chaos.faults) >= 1, chaos.errors
    scores = reference.leaderboard().set_index("model").score_val
    board = aml.leaderboard().set_index("model")
    assert board.error.isna().all()
    # every model, the stackers and both ensembles included, is the fault-free one
    assert board.score_val.sort_index().to_dict() == pytest.approx(
        scores.sort_index().to_dict(), rel=1e-9)
    assert aml.best_model_ == reference.best_model_


@pytest.mark.ray
@pytest.mark.slow
def test_every_fault_kind_once_on_three_nodes_with_token_auth(tmp_path):
    """The short chaos benchmark, run as a user runs it (Ray's auth mode unset, a fresh
    home): token authentication is on, and every fit completes with no finished trial
    lost."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAY_AUTH") and k != "RAY_ADDRESS"}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO))
    out = tmp_path / "chaos.json"
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "chaos.py"), "--quick",
                          "--out", str(out)], env=env, capture_output=True, text=True,
                         timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["token_auth_enforced"] is True
    rows = {r["kind"]: r for r in result["runs"]}
    assert set(rows) == {"none", "trial_worker", "node", "store", "manager", "driver"}
    for kind, row in rows.items():
        assert row["completed"], (kind, row.get("stderr"))
        assert row["finished_trials_lost"] == 0, (kind, row)
        if kind != "none":
            assert row["faults"] == 1, (kind, row["injection_errors"])
            assert abs(row["test_rmse"] / rows["none"]["test_rmse"] - 1) < 0.05, (kind, row)
    assert rows["driver"]["driver_runs"] == 2
    assert rows["manager"]["manager_restarts"] == 1
    assert rows["trial_worker"]["retries"] >= 1
