"""A real ``ray start --head`` on loopback with token authentication, and ``ray job submit
--working-dir ... -- raymlx fit ...`` against it, as the README shows."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from raymlx.cli import main
from tests.conftest import free_ports

BIN = Path(sys.executable).parent


def _status(url: str, token: str | None) -> int:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def head_with_token(tmp_path, capsys):
    if not (BIN / "ray").exists():
        pytest.skip("the ray CLI is not installed beside this Python")
    token_file = tmp_path / "secrets" / "ray_token"
    assert main(["cluster", "token", "--file", str(token_file)]) == 0
    assert "RAY_AUTH_TOKEN_PATH=" in capsys.readouterr().out
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.parent.stat().st_mode & 0o077 == 0
    gcs, dash, client, agent_grpc, agent_http, metrics, runtime_env, nm, om = free_ports(9)
    temp = tempfile.mkdtemp(prefix="rmxjob-", dir="/tmp")  # short: unix socket paths
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_AUTH_TOKEN", None)
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", f"--port={gcs}",
         "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1",
         f"--dashboard-port={dash}", f"--ray-client-server-port={client}",
         f"--dashboard-agent-grpc-port={agent_grpc}",
         f"--dashboard-agent-listen-port={agent_http}", f"--metrics-export-port={metrics}",
         f"--runtime-env-agent-port={runtime_env}", f"--node-manager-port={nm}",
         f"--object-manager-port={om}", "--num-cpus=2", f"--temp-dir={temp}",
         "--include-dashboard=true"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    url = f"http://127.0.0.1:{dash}"
    token = token_file.read_text().strip()
    try:
        end = time.time() + 120
        while time.time() < end:
            if head.poll() is not None:
                pytest.fail(f"ray start failed: {head.stdout.read()[-2000:]}")
            try:
                if _status(f"{url}/api/version", token) == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the dashboard did not come up in 120 s")
        yield url, env, token
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # `ray start --block` stops its processes
        try:
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever of the group is left
        except ProcessLookupError:
            pass
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_job_submit_runs_raymlx_fit_with_token_auth(head_with_token, wine_red, tmp_path):
    url, env, token = head_with_token
    assert _status(f"{url}/api/jobs/", None) == 401  # the job API refuses strangers
    assert _status(f"{url}/api/jobs/", token) == 200
    work = tmp_path / "job"
    work.mkdir()
    wine_red.head(400).to_csv(work / "wine.csv", index=False)
    out, runs = tmp_path / "predictor", tmp_path / "runs"
    fit = ["--", "raymlx", "fit", "wine.csv", "--label", "quality", "--problem-type",
           "regression", "--output", str(out), "--path", str(runs), "--max-models", "2",
           "--num-folds", "3", "--families", "linear,lightgbm", "--quiet"]
    submit = [str(BIN / "ray"), "job", "submit", "--address", url, "--working-dir",
              str(work)]
    no_token = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
    refused = subprocess.run(submit + fit, env=no_token, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode != 0
    assert "auth" in (refused.stdout + refused.stderr).lower()
    done = subprocess.run(submit + fit, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "succeeded" in done.stdout
    assert (out / "manifest.json").is_file()
    assert "saved to" in done.stdout
    fits = list(runs.glob("fit-*/cluster_report.json"))
    assert len(fits) == 1
