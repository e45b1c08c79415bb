"""Faults during a fit: a trial's worker killed (retried), a trial past its memory limit
(recorded, the fit goes on), the driver interrupted (resumed without redoing finished
trials). A trial that raises is covered in tests/test_automl.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML
from raymlx.cli import main
from raymlx.tabular.engine.ledger import LEDGER_FILE, read_ledger

REPO = Path(__file__).resolve().parents[2]
FOREST = {"n_estimators": 250, "min_samples_leaf": 1}


def _kill_first_running_trial(killed: dict, stop: threading.Event) -> None:
    """Watches the fit's resource manager and SIGKILLs the first trial that has run for
    0.5 s, by the pid the trial reported."""
    import ray

    from raymlx.cluster.manager import get_manager, running_managers

    while not stop.is_set() and not killed:
        fits = running_managers()
        if fits:
            try:
                trials = ray.get(get_manager(fits[0]).summary.remote(), timeout=5)["trials"]
            except Exception:  # the fit ended meanwhile
                return
            for tid, trial in trials.items():
                attempt = trial["attempts"][-1]
                if attempt["end"] is None and time.time() - attempt["start"] > 0.5:
                    os.kill(attempt["pid"], signal.SIGKILL)
                    killed.update(trial_id=tid, pid=attempt["pid"])
                    return
        time.sleep(0.05)


def test_a_killed_trial_worker_is_retried_and_the_fit_completes(ray_session, wine_red,
                                                                 tmp_path):
    killed: dict = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_kill_first_running_trial, args=(killed, stop))
    watcher.start()
    try:
        aml = AutoML(label="quality", problem_type="regression", path=tmp_path,
                     hyperparameters={"random_forest": [FOREST, {**FOREST, "max_depth": 8},
                                                        {**FOREST, "max_depth": 12}]},
                     num_folds=3, verbosity=0).fit(wine_red)
    finally:
        stop.set()
        watcher.join()
    assert killed, "no trial was seen running"
    board = aml.leaderboard().set_index("model")
    trials = board[board.family == "random_forest"]
    assert len(trials) == 3 and trials.error.isna().all()  # the killed one was run again
    attempts = aml.cluster_report_["trials"][killed["trial_id"]]["attempts"]
    assert [a["status"] for a in attempts] == ["lost", "ok"]
    assert attempts[0]["pid"] == killed["pid"] != attempts[1]["pid"]
    assert aml.cluster_report_["retries"] == 1
    assert killed["trial_id"] in {r.trial_id for r in aml.models_.records.values()}


def test_a_trial_past_its_memory_limit_is_recorded_and_the_fit_goes_on(ray_session,
                                                                      tmp_path):
    rng = np.random.default_rng(0)
    n = 50_000  # a forest of fully grown trees on these rows grows ~200 MB a second
    X = rng.normal(size=(n, 2))
    df = pd.DataFrame(X, columns=["x0", "x1"]).assign(y=X[:, 0] + rng.normal(size=n))
    hog = {"n_estimators": 4000, "min_samples_leaf": 1, "max_features": 1.0}
    aml = AutoML(label="y", path=tmp_path, num_folds=2, memory_per_trial="700MB",
                 hyperparameters={"linear": [{}], "random_forest": [hog]},
                 verbosity=0).fit(df)
    board = aml.leaderboard().set_index("model")
    assert "memory limit exceeded" in board.loc["random_forest_1", "error"]
    assert "over its limit of 668 MiB" in board.loc["random_forest_1", "error"]
    assert pd.isna(board.loc["linear_1", "error"])
    overruns = aml.cluster_report_["memory_overruns"]
    assert len(overruns) == 1 and "memory limit exceeded" in next(iter(overruns.values()))
    assert aml.cluster_report_["plan"]["requests"]["linear"]["memory"] == 7e8
    peaks = {t["family"]: t["attempts"][-1]["rss_peak"]
             for t in aml.cluster_report_["trials"].values()}
    assert peaks["linear"] < 7e8 < peaks["random_forest"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_an_interrupted_fit_resumes_without_redoing_finished_trials(ray_session, wine_red,
                                                                    tmp_path, stop):
    import ray

    data = tmp_path / "wine.csv"
    wine_red.to_csv(data, index=False)
    runs = tmp_path / "runs"
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
           "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "raymlx.cli", "fit", str(data), "--label", "quality",
            "--problem-type", "regression", "--output", str(tmp_path / "never"),
            "--path", str(runs), "--max-models", "14", "--num-folds", "3",
            "--families", "random_forest,linear"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.time() + 240
        ledger = None
        while time.time() < deadline and proc.poll() is None:
            found = list(runs.glob(f"fit-*/{LEDGER_FILE}"))
            if found and len(found[0].read_text().splitlines()) >= 3:
                ledger = found[0]
                break
            time.sleep(0.1)
        assert ledger is not None, proc.stderr.read() if proc.poll() is not None else "slow"
        proc.send_signal(stop)  # Ctrl-C, or the driver's machine going away
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if stop == signal.SIGINT:
        assert proc.returncode == 130, err[-2000:]
        assert "raymlx fit --resume" in err and "interrupted" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    folder = ledger.parent
    before = read_ledger(folder)["search"]
    assert 3 <= len(before) < 14
    aml = AutoML.resume(folder, verbosity=0)
    records = [r for r in aml.models_.records.values() if r.family != "ensemble"]
    assert len(records) == 14
    reused = {e["trial_id"] for e in before if not e["metrics"].get("error")}
    assert reused <= {r.trial_id for r in records}
    resumed = [p for p in folder.iterdir() if p.name.startswith("search-resumed")]
    assert len(resumed) == 1
    new_trials = [p for p in resumed[0].iterdir() if p.is_dir() and p.name.startswith("run_")]
    assert len(new_trials) == 14 - len(before)
    assert aml.predict(wine_red.head(5)).shape == (5,)
    # resuming again (the CLI way) runs no trial: everything is in the ledger
    lines = len((folder / LEDGER_FILE).read_text().splitlines())
    assert main(["fit", "--resume", str(folder), "--output", str(tmp_path / "pred"),
                 "--quiet"]) == 0
    assert len((folder / LEDGER_FILE).read_text().splitlines()) == lines
    assert (tmp_path / "pred").is_dir()
    report = json.loads((folder / "cluster_report.json").read_text())
    assert report["nodes"] and report["plan"]["concurrent_trials"] >= 1


def test_resume_of_a_folder_that_is_not_a_fit_is_a_one_line_error(tmp_path):
    from raymlx.errors import InputError

    with pytest.raises(InputError, match="not a raymlx fit folder") as err:
        AutoML.resume(tmp_path)
    assert "\n" not in str(err.value)
