"""Token files raymlx writes are readable by their owner only, and Ray uses them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from raymlx.cluster import auth

REPO = Path(__file__).resolve().parents[2]


def test_token_file_is_owner_only_and_kept_unless_forced(tmp_path):
    path, created = auth.write_token_file(tmp_path / "dir" / "token")
    assert created and path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    token = path.read_text()
    assert len(token) == 64 and int(token, 16) >= 0
    again, created = auth.write_token_file(path)
    assert not created and again.read_text() == token
    _, created = auth.write_token_file(path, force=True)
    assert created and path.read_text() != token and auth.token_is_private(path)


def test_an_existing_token_file_of_ours_is_narrowed_to_0600(tmp_path):
    path = tmp_path / "token"
    path.write_text("ab" * 32)
    os.chmod(path, 0o644)
    assert not auth.token_is_private(path)
    auth.write_token_file(path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text() == "ab" * 32


def test_no_token_is_written_when_auth_is_off_or_a_cluster_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "DEFAULT_TOKEN_FILE", tmp_path / ".ray" / "auth_token")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert auth.prepare_local_token(None) is None
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert auth.prepare_local_token("10.0.0.1:6379") is None
    monkeypatch.setenv("RAY_AUTH_TOKEN", "cd" * 32)
    assert auth.prepare_local_token(None) is None
    assert not (tmp_path / ".ray").exists()


@pytest.mark.ray
def test_a_new_local_ray_uses_the_owner_only_token_raymlx_wrote(tmp_path):
    """In a fresh home with RAY_AUTH_MODE unset, ``ensure_ray`` starts Ray with token
    authentication on, and the token file is raymlx's 0600 one (Ray's own is 0644); the
    new instance has no dashboard (a fixed cost of every fit's start, issue 18)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAY_AUTH") and k != "RAY_ADDRESS"}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO))
    code = ("import os, ray\n"
            "from raymlx._internal.ray_session import ensure_ray\n"
            "ensure_ray()\n"
            "print('mode', os.environ.get('RAY_AUTH_MODE'))\n"
            "print('sum', ray.get(ray.remote(lambda: 41 + 1).remote()))\n"
            "info = ray._private.worker.global_worker.node.address_info\n"
            "print('dashboard', repr(info.get('webui_url') or None))\n"
            "ray.shutdown()\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "mode token" in out.stdout and "sum 42" in out.stdout
    assert "dashboard None" in out.stdout
    token = tmp_path / ".ray" / "auth_token"
    assert token.stat().st_mode & 0o777 == 0o600
    assert len(token.read_text().strip()) == 64
