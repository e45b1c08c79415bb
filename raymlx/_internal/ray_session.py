"""Connecting to Ray: a given address, ``RAY_ADDRESS``, a cluster started on this machine
with ``ray start``, or else a new local instance.

``ray.init`` already looks for ``RAY_ADDRESS`` and for a local ``ray start`` cluster when no
address is given, and starts a new instance otherwise; raymlx only reuses a session that is
already open and turns a failed connection into one clear line. Token authentication is
Ray's: with ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` (or ``~/.ray/auth_token``) set, the
same call authenticates.

A new local instance starts without Ray's dashboard, unless ``RAYMLX_DASHBOARD=1``: the
dashboard's processes took 1.1 to 1.5 s of a 5.4 s start here (2 cores), and nothing raymlx
runs locally needs them (the cluster report reads the GCS directly; Serve runs without it).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import ray
from ray.exceptions import AuthenticationError

from raymlx.errors import InputError

log = logging.getLogger("raymlx")


@contextmanager
def temporary_env(**values: str) -> Iterator[None]:
    """Sets environment variables for the block (Ray and Tune read some at call time) and
    restores the caller's values, unset ones included, afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ensure_ray(address: str | None = None, start_local: bool = True) -> float:
    """Makes sure this process is connected to Ray; returns the seconds it took.

    ``start_local=False``: only join a running cluster (``address="auto"`` when none is
    given), never start one. Before starting a new local instance with token
    authentication on, raymlx writes the owner-only token file Ray will use
    (:func:`raymlx.cluster.auth.prepare_local_token`)."""
    if ray.is_initialized():
        return 0.0
    t0 = time.time()
    target = address or os.environ.get("RAY_ADDRESS") or (None if start_local else "auto")
    if target is None:
        from raymlx.cluster.auth import prepare_local_token

        written = prepare_local_token(None)
        if written is not None:
            log.info("wrote Ray's auth token to %s (readable by you only)", written)
    _check_reachable(target)
    try:
        dashboard = None if target else os.environ.get("RAYMLX_DASHBOARD") == "1"
        ray.init(address=target, log_to_driver=False, include_dashboard=dashboard,
                 configure_logging=True, logging_level=logging.WARNING)
    except (ConnectionError, AuthenticationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
        raise InputError(f"could not connect to the Ray cluster at {target!r}: {first}") from None
    where = target or "a local Ray instance"
    log.info("connected to %s in %.1f s (%s CPUs)", where, time.time() - t0,
             int(ray.cluster_resources().get("CPU", 0)))
    return time.time() - t0


def _check_reachable(target: str | None) -> None:
    """A ``host:port`` that nothing answers on fails in seconds with one line, instead of
    Ray's minute of retries."""
    if not target or target == "auto" or "://" in target or ":" not in target:
        return
    host, _, port = target.rpartition(":")
    host = host.strip("[]")  # [::1]:6379
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError, OverflowError) as exc:
        raise InputError(f"could not connect to the Ray cluster at {target!r}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
