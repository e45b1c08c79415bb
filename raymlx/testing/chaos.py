"""Seeded fault injection into a running fit, for the chaos benchmark and its short tests.

Ray Tune's release tests kill workers at random through a run and require every trial to
finish; this does the same to a raymlx fit, one fault kind at a time, at a set rate:

- ``trial_worker``: SIGKILL of the process of a running trial (Tune reruns the trial);
- ``node``: removal of a worker node of a ``ray.cluster_utils.Cluster``, then a new node
  with the same resources added (the trials it ran are rerun elsewhere);
- ``store``: SIGKILL of the fit's :class:`~raymlx.tabular.engine.oof_store.OutOfFoldStore`
  (Ray restarts it; it reads the finished trials' predictions back from disk);
- ``manager``: SIGKILL of the fit's :class:`~raymlx.cluster.manager.ResourceManager`
  (Ray restarts it; it replays its journal);
- ``driver``: SIGKILL of the driver process, through a callback of the caller's, which
  then finishes the fit with ``AutoML.resume``.

:class:`Chaos` is a thread in a process connected to the fit's cluster (the driver's own
process, or another one). It finds the fit by its resource manager's name, waits an
exponentially distributed time between faults (mean ``every_s``, drawn from ``seed``),
injects a fault only where there is something to hit (a trial running for a moment, a
finished trial for the store, manager and driver kinds), and records each one as a
:class:`Fault`. With the ``node`` kind, the main thread calls :meth:`Chaos.pump` while it
waits (Ray adds nodes only from the main thread).
Written here rather than taken from a library: the targets are raymlx's own actors and
the trials' processes as its manager reports them.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

KINDS = ("trial_worker", "node", "store", "manager", "driver")


def token_auth_env(folder: Path) -> dict[str, str]:
    """The environment under which a simulated cluster started by a benchmark has token
    authentication on: ``ray.cluster_utils.Cluster`` starts its nodes as ``ray start``
    does, which leaves authentication off when ``RAY_AUTH_MODE`` is unset and no token
    exists. So, unless the caller chose ``RAY_AUTH_MODE=disabled`` (the test suite's
    mode), a new owner-only token is written in ``folder`` and the mode set to ``token``;
    the fit's driver processes inherit both."""
    import os

    from raymlx.cluster.auth import write_token_file

    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return {}
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token" and (
            os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
        return {}
    path, _ = write_token_file(folder / "auth_token")
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(path)}


@dataclass
class Fault:
    """One fault injected: when (seconds after the chaos started), what kind, and what it
    hit (a trial id, a node id, an actor's pid)."""

    at_s: float
    kind: str
    target: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Chaos(threading.Thread):
    """Injects faults of one ``kind`` into the fit (see the module docstring).

    ``cluster``: the ``ray.cluster_utils.Cluster`` (the ``node`` kind); ``node_args``: the
    resources of the node added in place of a removed one; ``kill_driver``: called with
    no argument to kill the driver (the ``driver`` kind), returning a description of what
    it killed or None when there was no driver to kill; ``fit``: the fit's name (default:
    the first running fit); ``max_faults``: stop after that many; ``warm_up_s``: no fault
    before then.
    """

    def __init__(self, kind: str, every_s: float, seed: int, cluster: Any = None,
                 node_args: dict | None = None,
                 kill_driver: Callable[[], str | None] | None = None,
                 fit: str | None = None, max_faults: int | None = None,
                 warm_up_s: float = 1.0) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if kind == "node" and cluster is None:
            raise ValueError("the node kind needs the Cluster")
        if kind == "driver" and kill_driver is None:
            raise ValueError("the driver kind needs kill_driver")
        super().__init__(daemon=True, name=f"chaos-{kind}")
        self.kind, self.every_s, self.cluster = kind, every_s, cluster
        self.node_args = node_args or {"num_cpus": 1}
        self.kill_driver, self.fit, self.max_faults = kill_driver, fit, max_faults
        self.warm_up_s = warm_up_s
        self.rng = random.Random(seed)
        self.faults: list[Fault] = []
        self._node_requests: queue.Queue = queue.Queue()
        self.errors: list[str] = []  # injections that raised (reported, not hidden)
        self._halt = threading.Event()
        self._t0 = time.time()

    def pump(self) -> None:
        """Carries out the node changes the thread asked for. ``Cluster.add_node`` must run
        in the main thread (it installs signal handlers), so with the ``node`` kind the
        main thread calls this while it waits for the fit (a few times a second)."""
        while True:
            try:
                victim, done = self._node_requests.get_nowait()
            except queue.Empty:
                return
            try:
                self.cluster.remove_node(victim)
                self.cluster.add_node(**self.node_args)
            finally:
                done.set()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)

    def run(self) -> None:
        self._halt.wait(self.warm_up_s)
        wait = self.rng.expovariate(1.0 / self.every_s)
        while not self._halt.is_set():
            if self.max_faults is not None and len(self.faults) >= self.max_faults:
                return
            if self._halt.wait(wait):
                return
            try:
                target = self._inject()
            except Exception as exc:  # the fit ended meanwhile, an actor restarting...
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                target = None
            if target is None:  # nothing to hit yet: look again soon
                wait = 0.2
                continue
            self.faults.append(Fault(round(time.time() - self._t0, 2), self.kind, target))
            wait = self.rng.expovariate(1.0 / self.every_s)

    # --- the injections; each returns what it hit, or None when there was nothing
    def _inject(self) -> str | None:
        if self.kind == "driver":
            if self._finished_trials() < 1:
                return None
            assert self.kill_driver is not None
            return self.kill_driver()
        if self.kind == "node":
            return self._replace_node()
        if self.kind == "trial_worker":
            return self._kill_trial()
        if self._finished_trials() < 1:  # store, manager: something to lose first
            return None
        pid = self._actor_pid("oof-store:" if self.kind == "store" else "resource-manager:")
        if pid is None:
            return None
        os.kill(pid, signal.SIGKILL)
        return f"pid {pid}"

    def _summary(self) -> dict | None:
        import ray

        from raymlx.cluster.manager import get_manager, running_managers

        fit = self.fit or next(iter(running_managers()), None)
        if fit is None:
            return None
        return ray.get(get_manager(fit).summary.remote(), timeout=30)

    def _finished_trials(self) -> int:
        summary = self._summary()
        return 0 if summary is None else sum(
            1 for t in summary["trials"].values()
            if any(a["status"] == "ok" for a in t["attempts"]))

    def _running_attempts(self, older_than_s: float = 0.3) -> list[tuple[str, dict]]:
        summary = self._summary() or {"trials": {}}
        now = time.time()
        return sorted((tid, t["attempts"][-1]) for tid, t in summary["trials"].items()
                      if t["attempts"] and t["attempts"][-1]["end"] is None
                      and now - t["attempts"][-1]["start"] > older_than_s)

    def _kill_trial(self) -> str | None:
        running = self._running_attempts()
        if not running:
            return None
        trial_id, attempt = self.rng.choice(running)
        try:
            os.kill(attempt["pid"], signal.SIGKILL)
        except ProcessLookupError:  # it ended meanwhile
            return None
        return f"trial {trial_id} (pid {attempt['pid']})"

    def _actor_pid(self, prefix: str) -> int | None:
        import ray

        from raymlx.cluster.manager import NAMESPACE, running_managers

        fit = self.fit or next(iter(running_managers()), None)
        if fit is None:
            return None
        names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                 if a.get("namespace") == NAMESPACE
                 and a["name"].startswith(prefix + fit)]
        if not names:
            return None
        actor = ray.get_actor(sorted(names)[-1], namespace=NAMESPACE)
        return ray.get(actor.pid.remote(), timeout=30)

    def _replace_node(self) -> str | None:
        """Removes a worker node on which a trial runs (None while none does), then adds
        one with ``node_args``."""
        busy = {a["node_id"] for _, a in self._running_attempts()}
        victims = [n for n in self.cluster.worker_nodes if n.node_id in busy]
        if not victims:
            return None
        victim = self.rng.choice(sorted(victims, key=lambda n: n.node_id))
        done = threading.Event()
        self._node_requests.put((victim, done))
        while not done.wait(0.1):  # the main thread's pump() does it
            if self._halt.is_set():
                return None
        return f"node {victim.node_id[:12]}"
