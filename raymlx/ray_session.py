"""Connecting to Ray: a given address, ``RAY_ADDRESS``, a cluster started on this machine
with ``ray start``, or else a new local instance.

``ray.init`` already looks for ``RAY_ADDRESS`` and for a local ``ray start`` cluster when no
address is given, and starts a new instance otherwise; raymlx only reuses a session that is
already open and turns a failed connection into one clear line. Token authentication is
Ray's: with ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` (or ``~/.ray/auth_token``) set, the
same call authenticates.
"""

from __future__ import annotations

import logging
import os
import time

import ray

from raymlx.errors import InputError

log = logging.getLogger("raymlx")


def ensure_ray(address: str | None = None) -> float:
    """Makes sure this process is connected to Ray; returns the seconds it took."""
    if ray.is_initialized():
        return 0.0
    t0 = time.time()
    target = address or os.environ.get("RAY_ADDRESS")
    try:
        ray.init(address=target, log_to_driver=False, include_dashboard=None,
                 configure_logging=True, logging_level=logging.WARNING)
    except ConnectionError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
        raise InputError(f"could not connect to the Ray cluster at {target!r}: {first}") from None
    where = target or "a local Ray instance"
    log.info("connected to %s in %.1f s (%s CPUs)", where, time.time() - t0,
             int(ray.cluster_resources().get("CPU", 0)))
    return time.time() - t0
