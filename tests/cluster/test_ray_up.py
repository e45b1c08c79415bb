"""``ray up`` / ``ray submit`` / ``ray down`` for real, from the ``ray-up-local`` template.

A private sshd (Debian's openssh-server, installed with apt when missing and we are root)
listens on a free port of 127.0.0.1 and takes one fresh key only. The cluster's one "machine"
is this one: the template's head_ip becomes 127.0.0.1, and Ray reaches that sshd's port
through ``auth.ssh_proxy_command`` (Ray's SSH runner has no port option). The sshd gives the
login a temporary HOME (``SetEnv HOME=...``) whose ``.bashrc`` puts this virtualenv first on
PATH, so the template's ``~/...`` paths (token file mount, bootstrap config, the submitted
script) and its ``~/.bashrc`` line land in that folder, not in the real home.

Token auth stays on, as the template sets it up: ``raymlx cluster token --file`` makes the
token, ``file_mounts`` copies it to the head, the start command and the ``.bashrc`` line read
it. ``ray submit`` runs examples/cluster_driver.py on the head to the end, the test loads the
predictor it wrote, and ``ray down`` stops the cluster.

``ray stop`` (in the template's start commands and in ``ray down``) stops every Ray on the
host, so the test stops the session's Ray first and starts it again afterwards
(tests/conftest.py's ``start_test_ray``)."""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from raymlx.cluster.templates import template_text
from tests.conftest import REPO, free_ports, start_test_ray

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.serial, pytest.mark.timeout(1800)]

BIN = Path(sys.executable).parent
SSHD = Path("/usr/sbin/sshd")

BRIDGE = """\
import os, socket, sys, threading
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while data := os.read(0, 65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    os.write(1, data)
"""


def _http_status(url: str, token: str | None, timeout: float = 60) -> int:
    """The HTTP status of a GET (retried while the dashboard is still starting)."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    end = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.5)


def _tail(proc: subprocess.CompletedProcess | str, n: int = 4000) -> str:
    text = proc if isinstance(proc, str) else (proc.stdout or "") + (proc.stderr or "")
    return text[-n:]


def _ensure_sshd() -> None:
    """Debian's openssh-server (and rsync, which ``ray up`` copies files with)."""
    if SSHD.exists() and shutil.which("rsync") and shutil.which("ssh"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("no /usr/sbin/sshd, rsync or ssh, and no root apt-get to install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "openssh-server", "openssh-client", "rsync"]
    try:
        if subprocess.run(install, env=env, capture_output=True, timeout=300).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True,
                           timeout=300)
            subprocess.run(install, env=env, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        pass
    if not (SSHD.exists() and shutil.which("rsync") and shutil.which("ssh")):
        pytest.skip("apt-get could not install openssh-server and rsync")


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, capture_output=True, timeout=30)


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            pytest.fail(f"sshd exited: {_tail(log.read_text())}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"sshd did not listen on 127.0.0.1:{port}: {_tail(log.read_text())}")


@pytest.fixture
def sshd_loopback():
    """A private sshd on 127.0.0.1:<free port>, key-only; yields (port, key, home, tmp)."""
    _ensure_sshd()
    tmp = Path(tempfile.mkdtemp(prefix="rmxup-", dir="/tmp"))  # short: unix socket paths
    tmp.chmod(0o700)
    home = tmp / "home"  # the login's HOME (the "remote machine's" home folder)
    home.mkdir()
    (home / ".bashrc").write_text(f'export PATH="{BIN}:$PATH"\n')
    _keygen(tmp / "host_key")
    _keygen(tmp / "client_key")
    shutil.copy(tmp / "client_key.pub", tmp / "authorized_keys")
    (port,) = free_ports(1)
    config = tmp / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {tmp / 'host_key'}",
        f"PidFile {tmp / 'sshd.pid'}", f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
        "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
        f"AllowUsers {getpass.getuser()}", "StrictModes no", "UsePAM no",
        "X11Forwarding no", "AllowTcpForwarding yes", "PrintMotd no", "LogLevel INFO",
        f"SetEnv HOME={home}", "",
    ]))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
    log = tmp / "sshd.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(port, proc, log)
        yield port, tmp / "client_key", home, tmp
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # sshd and its sessions
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


def _cluster_yaml(tmp: Path, port: int, key: Path,
                  token_file: Path) -> tuple[dict, int, int]:
    """The template with its `# EDIT:` values filled in for this machine, on free ports."""
    cfg = yaml.safe_load(template_text("ray-up-local"))
    (tmp / "bridge.py").write_text(BRIDGE)
    cfg["cluster_name"] = f"raymlx-test-{uuid.uuid4().hex[:8]}"
    cfg["provider"].update(head_ip="127.0.0.1", worker_ips=[])
    cfg["max_workers"] = 0
    cfg["auth"].update(
        ssh_user=getpass.getuser(), ssh_private_key=str(key),
        ssh_proxy_command=f"{sys.executable} {tmp / 'bridge.py'} 127.0.0.1 {port}")
    # the token file: same remote path as the template, local path the test's token
    (remote,) = cfg["file_mounts"]
    assert remote == "~/.raymlx/ray_token"
    cfg["file_mounts"] = {remote: str(token_file)}
    # this virtualenv is "installed on the machine" already: drop the pip installs, keep the
    # rest (the ~/.bashrc line for later SSH sessions)
    setup = cfg["setup_commands"]
    assert [c for c in setup if c.startswith("pip install")], setup
    cfg["setup_commands"] = [c for c in setup if not c.startswith("pip install")]
    assert any("RAY_AUTH_TOKEN_PATH" in c for c in cfg["setup_commands"])
    # the template's head start command, on free ports and small
    gcs, dash, client, agent_grpc, agent_http, metrics, runtime_env, nm, om = free_ports(9)
    temp = tmp / "ray"
    starts = cfg["head_start_ray_commands"]
    (i,) = [n for n, c in enumerate(starts) if "ray start --head" in c]
    assert "--port=6379" in starts[i] and "RAY_AUTH_MODE=token" in starts[i]
    starts[i] = starts[i].replace("--port=6379", f"--port={gcs}") + (
        f" --dashboard-port={dash}"
        f" --ray-client-server-port={client} --dashboard-agent-grpc-port={agent_grpc}"
        f" --dashboard-agent-listen-port={agent_http} --metrics-export-port={metrics}"
        f" --runtime-env-agent-port={runtime_env} --node-manager-port={nm}"
        f" --object-manager-port={om} --num-cpus=2 --object-store-memory=200000000"
        f" --temp-dir={temp}")
    return cfg, gcs, dash


def test_ray_up_submit_down_on_loopback_sshd(sshd_loopback, wine_red):
    import ray

    import raymlx

    port, key, home, tmp = sshd_loopback
    ray_bin = BIN / "ray"
    if not ray_bin.exists():
        pytest.skip("the ray CLI is not installed beside this Python")
    token_file = tmp / "secrets" / "ray_token"
    made = subprocess.run([sys.executable, "-m", "raymlx.cli", "cluster", "token", "--file",
                           str(token_file)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, _tail(made)
    cfg, gcs, dash = _cluster_yaml(tmp, port, key, token_file)
    cluster_yaml = tmp / "cluster.yaml"
    cluster_yaml.write_text(yaml.safe_dump(cfg, sort_keys=False))
    data, out, runs = tmp / "wine.csv", tmp / "predictor", tmp / "runs"
    wine_red.head(300).to_csv(data, index=False)

    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in ("RAY_ADDRESS", "RAY_AUTH_TOKEN"):
        env.pop(name, None)

    def ray_cli(*args: str, timeout: float) -> subprocess.CompletedProcess:
        """``ray ARGS``; past ``timeout`` it is killed and reads as exit status -9."""
        cmd = [str(ray_bin), *args]
        try:
            return subprocess.run(cmd, env=env, capture_output=True, text=True,
                                  timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            def text(b):
                return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
            return subprocess.CompletedProcess(
                cmd, -9, text(exc.stdout),
                text(exc.stderr) + f"\n[killed after {timeout:.0f} s]")

    was_running = ray.is_initialized()
    ray.shutdown()  # `ray stop` below stops every Ray on this host
    try:
        up = ray_cli("up", "-y", str(cluster_yaml), "--no-config-cache", timeout=300)
        print(up.stdout[-3000:])
        assert up.returncode == 0, _tail(up)
        # token auth is on: the dashboard on the head refuses a client without the token
        token = token_file.read_text().strip()
        assert _http_status(f"http://127.0.0.1:{dash}/api/version", None) == 401
        assert _http_status(f"http://127.0.0.1:{dash}/api/version", token) == 200
        assert "RAY_AUTH_TOKEN_PATH" in (home / ".bashrc").read_text()  # the template's line
        assert (home / ".raymlx" / "ray_token").read_text() == token_file.read_text()
        assert (home / ".raymlx" / "ray_token").stat().st_mode & 0o777 == 0o600
        submit = ray_cli(
            "submit", str(cluster_yaml), str(REPO / "examples" / "cluster_driver.py"), "--",
            "--data", str(data), "--label", "quality", "--address", f"127.0.0.1:{gcs}",
            "--time-limit", "20", "--path", str(runs), "--output", str(out), timeout=400)
        print(submit.stdout[-3000:])
        assert submit.returncode == 0, _tail(submit)
        assert "saved to" in submit.stdout, _tail(submit)
        aml = raymlx.AutoML.load(out)
        pred = aml.predict(wine_red.drop(columns=["quality"]).head(5))
        assert len(pred) == 5
    finally:
        down = ray_cli("down", "-y", str(cluster_yaml), timeout=120)
        if down.returncode != 0:
            subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True,
                           timeout=60)
        from ray.autoscaler._private.local.config import get_lock_path, get_state_path

        for state in (get_state_path(cfg["cluster_name"]), get_lock_path(cfg["cluster_name"])):
            Path(state).unlink(missing_ok=True)  # the local provider's files in /tmp/ray
        user, name = (hashlib.sha256(x.encode()).hexdigest()[:10]
                      for x in (getpass.getuser(), cfg["cluster_name"]))
        shutil.rmtree(f"/tmp/ray_ssh_{user}/{name}", ignore_errors=True)  # SSH ControlPath
        if was_running:
            start_test_ray()
    assert down.returncode == 0, _tail(down)
