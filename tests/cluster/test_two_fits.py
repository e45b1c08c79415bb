"""Two fits at once on one cluster, from two driver processes started in the same second
into one runs folder: each gets its own fit folder, manager and store, ``raymlx cluster
status`` shows both while they run, and both save a predictor that loads and predicts."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd

from raymlx import AutoML
from raymlx.cli import main
from raymlx.cluster.manager import running_managers
from tests.conftest import make_binary_frame


def test_two_fits_on_one_cluster_neither_block_nor_mix(ray_session, tmp_path, capsys):
    frame = make_binary_frame(300, 0)
    frame.to_csv(tmp_path / "train.csv", index=False)
    address = ray_session.get_runtime_context().gcs_address
    procs = [subprocess.Popen(
        [sys.executable, "-m", "raymlx.cli", "fit", str(tmp_path / "train.csv"), "--label",
         "target", "--output", str(tmp_path / f"out{k}"), "--path", str(tmp_path / "runs"),
         "--families", "lightgbm,linear", "--max-models", "4", "--num-folds", "3",
         "--time-limit", "60", "--seed", str(k), "--address", address, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k in (1, 2)]
    both, status = [], ""
    deadline = time.time() + 150
    while any(p.poll() is None for p in procs) and time.time() < deadline:
        names = [n for n in running_managers() if n.startswith("fit-")]
        if len(names) == 2 and not both:
            both = names
            assert main(["cluster", "status"]) == 0
            status = capsys.readouterr().out
        time.sleep(0.2)
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(set(both)) == 2, "the two fits never ran at the same time"
    assert all(f"fit {name}" in status for name in both), status
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == sorted(both)  # one folder each, named as its manager
    test = frame.drop(columns="target").head(20)
    for k in (1, 2):
        aml = AutoML.load(tmp_path / f"out{k}")
        assert aml.experiment_path_.endswith(tuple(both))
        proba = aml.predict_proba(test)
        assert isinstance(proba, pd.DataFrame) and proba.shape == (20, 2)
    assert not [n for n in running_managers() if n in both]  # both cleaned up
