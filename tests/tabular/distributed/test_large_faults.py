"""A training worker of a large-data trial SIGKILLed mid-trial: Ray Train restarts the
worker group from the trial's last checkpoint (``FailureConfig``) and the fit goes on.

The trial is an XGBoost one training from disk (``ExtMemQuantileDMatrix``, the route a
worker takes when its shard is over half its memory): the fit's threshold is set to zero,
so the whole route runs on a small table, LightGBM (which has no such mode) is left out,
and the restarted workers rebuild their external-memory matrices and go on from the
checkpointed booster."""

from __future__ import annotations

import glob
import json
import logging
import os
import signal
import threading
import time

import pytest

from raymlx import AutoML
from tests.tabular.distributed.tables import write_table

SLOW = {"xgboost": [{"eta": 0.1, "max_depth": 4}], "lightgbm": [{"learning_rate": 0.3}]}


def _train_workers() -> list[int]:
    """PIDs of this machine's Ray Train workers, by the process title Ray gives them."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                title = fh.read().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if entry.isdigit() and title.startswith("ray::") and "TrainWorker" in title:
            pids.append(int(entry))
    return pids


def _committed_checkpoints(runs) -> int:
    """Checkpoints Ray Train has registered (the snapshot lists them once written)."""
    for path in glob.glob(f"{runs}/fit-*/train/train-*/checkpoint_manager_snapshot.json"):
        try:
            with open(path) as fh:
                return len(json.load(fh)["checkpoint_results"])
        except (OSError, ValueError, KeyError):
            pass
    return 0


def _kill_a_worker_after_a_checkpoint(runs, killed: list, stop: threading.Event) -> None:
    end = time.time() + 180
    while time.time() < end and not stop.is_set():
        if _committed_checkpoints(runs):
            workers = _train_workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
                return
        time.sleep(0.05)


@pytest.mark.ray
def test_a_killed_worker_restarts_its_group_from_the_last_checkpoint(ray_session, tmp_path,
                                                                    monkeypatch, caplog):
    from raymlx.tabular.distributed import external_memory

    monkeypatch.setattr(external_memory, "SHARD_SHARE", 0.0)  # every shard trains from disk
    logger = logging.getLogger("raymlx")  # it does not propagate to the root logger
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, caplog.handler])
    write_table(tmp_path / "t", n_files=4, rows=10_000)
    killed: list = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_a_worker_after_a_checkpoint,
                              args=(tmp_path / "runs", killed, stop), daemon=True)
    killer.start()
    try:
        aml = AutoML(label="y", data_path="distributed", workers_per_trial=2, max_retries=2,
                     hyperparameters=SLOW, path=tmp_path / "runs",
                     verbosity=0).fit(str(tmp_path / "t"))
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was running after the first checkpoint"
    board = aml.leaderboard().set_index("model")
    assert "xgboost_1" in board.index and "lightgbm_1" not in board.index
    assert "XGBoost trains from disk and LightGBM is left out" in caplog.text
    assert board.error.isna().all() and board.loc["xgboost_1"].score_val > 0.9
    stats = [json.load(open(p)) for p in
             glob.glob(f"{aml.experiment_path_}/train/workers/*-rank*.json")]
    # the restarted group's workers went on from a checkpoint, not from round 0
    assert len(stats) == 2 and all(s["resumed_at"] >= 25 for s in stats)
    assert all(s["external_memory"] and s["family"] == "xgboost" for s in stats)
