"""A full disk (a small tmpfs in a private mount namespace, made with ``unshare``) during a
save, a ledger line, the fit state or a fit's Tune checkpoints: a one-line DiskFullError
naming the path, the previous predictor and fit state intact, and the same write (or
``AutoML.resume``) working once space is freed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("disk_full_driver.py")
FIT_DRIVER = Path(__file__).with_name("fit_full_disk_driver.py")
REPO = Path(__file__).resolve().parents[2]


def _namespace_works(tmp: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c",
                            f"mount -t tmpfs -o size=1m tmpfs {tmp}"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def test_writes_to_a_full_disk_keep_what_was_saved_before(tmp_path):
    mount = tmp_path / "small_disk"
    mount.mkdir()
    if not _namespace_works(mount):
        pytest.skip("this machine does not allow a tmpfs in a user mount namespace "
                    "(unshare -rm); the full-disk test needs one")
    run = subprocess.run(
        ["unshare", "-rm", "sh", "-c",
         f'mount -t tmpfs -o size=3m tmpfs "{mount}" && exec "{sys.executable}" '
         f'"{DRIVER}" "{mount}"'],
        capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    for what, path in [("save", "pred"), ("ledger", "trials.jsonl"),
                       ("fit_state", "fit/" + out["state_file"])]:
        message = out[what]
        assert message.startswith("no space left to write"), (what, message)
        assert "\n" not in message and f"{mount / path}" in message, (what, message)
        assert "intact" in message or "as it was" in message, (what, message)
    assert out["leftovers"] == []  # no temporary folder of the failed save
    assert out["fit_leftovers"] == [out["state_file"]]
    assert out["ledger_after"] == '{"n": 1}\n'  # no half line from the failed append
    assert out["fit_state_after"] == {"state": 1}
    assert out["intact_predicts_the_same"] and out["save_after_freeing"]
    assert out["ledger_lines_after_freeing"] == [{"n": 1}, {"n": 2}]


def test_a_fit_that_fills_the_disk_stops_in_one_line_and_resumes(tmp_path):
    mount = tmp_path / "small_disk"
    mount.mkdir()
    if not _namespace_works(mount):
        pytest.skip("this machine does not allow a tmpfs in a user mount namespace")
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_ADDRESS": ""}
    run = subprocess.run(  # its own Ray, inside the namespace, with 100 KB left on the disk
        ["unshare", "-rm", "sh", "-c",
         f'mount -t tmpfs -o size=8m tmpfs "{mount}" && exec "{sys.executable}" '
         f'"{FIT_DRIVER}" "{mount}" 100000'],
        capture_output=True, text=True, timeout=400, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert "resume_error" not in out, out
    message = out["fit"]
    # the trial ledger or Tune's own files, whichever write found the disk full first
    assert message.startswith("no space left to write the"), message
    assert "\n" not in message and out["folder"] in message and "AutoML.resume" in message
    assert out["resumed_models"] >= 2 and out["resumed_best"]
