"""Ray token authentication files that only their owner can read.

Ray 2.60 turns token authentication on for a new local ``ray.init()`` and, when no token
exists, writes ``~/.ray/auth_token`` with the process's default mode (world-readable under
the usual umask 022): any local user could then read the token and run code on the cluster.
raymlx writes tokens itself, with mode 0600 in a 0700 folder, in two places:

- :func:`prepare_local_token`, just before raymlx starts a new local Ray instance with no
  token anywhere: Ray then finds raymlx's owner-only file and uses it;
- ``raymlx cluster token --file PATH``, for ``ray start`` / ``ray up`` clusters, whose
  nodes and clients then set ``RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=PATH``.

The token is 32 random bytes in hex, as Ray's own generator makes them.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger("raymlx")

DEFAULT_TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def write_token_file(path: str | Path, force: bool = False) -> tuple[Path, bool]:
    """Writes a new token to ``path`` (mode 0600); returns ``(path, created)``.

    An existing file is kept (``created`` False) unless ``force``, and its mode is narrowed
    to 0600 when it is ours."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() and not force:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return path, False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path, True


def token_is_private(path: str | Path) -> bool:
    """True when neither group nor others can read the file."""
    return not (Path(path).expanduser().stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def prepare_local_token(address: str | None) -> Path | None:
    """Before ``ray.init`` starts a new local instance: when token authentication will be
    on (``RAY_AUTH_MODE`` unset or ``token``) and no token exists yet, writes raymlx's
    owner-only ``~/.ray/auth_token`` so that Ray does not write a world-readable one.
    Returns the file written, or None when nothing was needed."""
    if address or os.environ.get("RAY_ADDRESS"):
        return None  # connecting to a cluster: its token comes from the user
    if os.environ.get("RAY_AUTH_MODE", "token").lower() != "token":
        return None
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return None
    if DEFAULT_TOKEN_FILE.exists():
        if not token_is_private(DEFAULT_TOKEN_FILE):
            log.warning("%s can be read by other users; `chmod 600 %s` keeps them off your "
                        "Ray cluster", DEFAULT_TOKEN_FILE, DEFAULT_TOKEN_FILE)
        return None
    try:  # Ray's own rule for ray.init() with no address: join a `ray start` cluster
        from ray._private.services import get_ray_address_from_environment

        if get_ray_address_from_environment(None, None) is not None:  # type: ignore[arg-type]
            return None
    except Exception:  # noqa: BLE001 - a Ray without the helper: write the token anyway
        pass
    path, _ = write_token_file(DEFAULT_TOKEN_FILE)
    return path


def token_auth_enforced(address: str, timeout_s: float = 90.0) -> bool:
    """True when the cluster at ``address`` refuses a client holding a wrong token (so
    token authentication is on), False when that client gets a task run.

    The check runs a client in a subprocess, with a random token of the right form in
    place of the real one; the chaos and long-fit benchmarks record it next to their
    figures."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    env.pop("RAY_ADDRESS", None)
    code = ("import ray\n"
            f"ray.init(address={address!r}, log_to_driver=False)\n"
            "print('ran', ray.get(ray.remote(lambda: 42).remote(), timeout=30))\n")
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return True  # never let in
    return "ran 42" not in out.stdout
