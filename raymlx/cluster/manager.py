"""The ``ResourceManager`` actor: one per fit, the policy and the live utilisation report.

AutoGluon's resource manager decides, on one machine, how many CPUs/GPUs each model gets and
how many train at once. Here that decision is made from the whole Ray cluster
(:mod:`raymlx.cluster.policy`) by an actor the fit starts on the driver's node. Tune and Ray
still place the trials; the actor holds the plan and the deadline, and every trial tells it
where it runs (node, process, GPU ids, device) when it starts and how it ended, so that it
can answer, at any moment, "what runs where, using what" (``raymlx cluster status``) and,
at the end, a summary saved with the fit: trials per node, CPU utilisation per node, retries
after lost workers or nodes, memory overruns.

A trial that starts again under the same trial id after its worker or node died is a retry:
its open attempt is closed as ``lost``. A trial whose memory guard fired records the overrun
here, so that its retry (when the process had to be ended) fails at once.

The actor runs one method at a time (no threads): Ray delivers one caller's calls in order,
so a trial's "started" always precedes its "finished", and readers see a consistent state.

The manager survives its own loss: Ray restarts it (``max_restarts=-1``) with the same
arguments and replays the calls in flight (``max_task_retries=-1``). Given a ``journal``
(a file in the fit folder), it appends every message it gets there as one JSON line under
its run's id, and a restarted manager reads its run's lines back, so the report after a
restart is the report without one. A journal line that cannot be written (a full disk)
stops the journal, never the fit.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import ray
from ray.actor import ActorHandle
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from raymlx.cluster.inventory import read_nodes
from raymlx.cluster.memory_guard import node_memory

NAMESPACE = "raymlx"
NAME_PREFIX = "resource-manager:"
JOURNAL_FILE = "manager_journal.jsonl"

log = logging.getLogger("raymlx")


@ray.remote(num_cpus=0)
class ResourceManager:
    """See the module docstring. Methods are cheap (no I/O); trials call them without
    waiting, except :meth:`overrun`, one round trip at the start of a trial that has a
    memory limit."""

    def __init__(self, fit_name: str, plan: dict[str, Any], deadline: float,
                 journal: str | None = None, run_id: str = "") -> None:
        self.fit_name = fit_name
        self.plan = plan
        self.deadline = deadline
        self.started = time.time()
        self.nodes_at_start = [n.to_dict() for n in read_nodes()]
        self.trials: dict[str, dict[str, Any]] = {}
        self.overruns: dict[str, str] = {}
        self.node_memory: dict[str, tuple[int, int]] = {}
        self.restarts = 0
        self._journal, self._run_id = (Path(journal) if journal else None), run_id
        if not self._replay():
            self._write("init", self.started, self.nodes_at_start)

    def pid(self) -> int:
        return os.getpid()

    # --- the journal
    def _write(self, kind: str, *args: Any) -> None:
        if self._journal is None:
            return
        try:
            with open(self._journal, "a") as fh:
                fh.write(json.dumps({"run": self._run_id, "kind": kind, "args": args},
                                    default=str) + "\n")
        except OSError as exc:  # a full disk: the report may lose a restart, not the fit
            log.warning("the resource manager's journal stops: %s", exc)
            self._journal = None

    def _replay(self) -> bool:
        """Applies this run's journal lines (after a restart); True if there were any."""
        if self._journal is None or not self._journal.is_file():
            return False
        lines = [json.loads(line) for line in self._journal.read_text().splitlines()
                 if line.strip()]
        mine = [e for e in lines if e.get("run") == self._run_id]
        if not mine:
            return False
        journal, self._journal = self._journal, None  # applied, not written again
        for e in mine:
            if e["kind"] == "init":
                self.started, self.nodes_at_start = e["args"]
            elif e["kind"] == "restart":
                self.restarts += 1
            else:
                getattr(self, e["kind"])(*e["args"])
        self._journal = journal
        self.restarts += 1
        self._write("restart")
        return True

    # --- messages from trials
    def trial_started(self, trial_id: str, info: dict[str, Any]) -> None:
        self._write("trial_started", trial_id, info)
        trial = self.trials.setdefault(trial_id, {"family": info.get("family"),
                                                  "group": info.get("trial") or trial_id,
                                                  "attempts": []})
        for attempt in trial["attempts"]:
            if attempt["end"] is None:  # its worker or node died: Tune is retrying it
                attempt.update(end=info["time"], status="lost")
        trial["attempts"].append({**info, "start": info["time"], "end": None,
                                  "status": "running"})
        if info.get("node_memory"):
            self.node_memory[info["node_id"]] = tuple(info["node_memory"])

    def trial_finished(self, trial_id: str, status: str, info: dict[str, Any]) -> None:
        self._write("trial_finished", trial_id, status, info)
        trial = self.trials.get(trial_id)
        if not trial or not trial["attempts"]:
            return
        attempt = trial["attempts"][-1]
        if attempt["end"] is not None:  # closed already (a worker told it before Tune)
            return
        attempt.update(end=info.get("time", time.time()), status=status,
                       rss_peak=info.get("rss_peak"))
        if info.get("node_memory"):
            self.node_memory[attempt["node_id"]] = tuple(info["node_memory"])

    def record_overrun(self, trial_id: str, message: str) -> None:
        self._write("record_overrun", trial_id, message)
        self.overruns[trial_id] = message

    def overrun(self, trial_id: str) -> str | None:
        return self.overruns.get(trial_id)

    # --- questions from the driver and the CLI
    def get_plan(self) -> dict[str, Any]:
        return self.plan

    def report(self) -> dict[str, Any]:
        """The live view: every node, what raymlx runs on it, and the totals."""
        now = time.time()
        nodes = read_nodes(include_dead=True)
        known = {n.node_id for n in nodes}
        rows = []
        for n in nodes:
            if not n.alive and n.node_id not in self._nodes_used():
                continue
            running = [(tid, a) for tid, a in self._open_attempts() if a["node_id"] == n.node_id]
            used, total = self.node_memory.get(n.node_id, (None, None))
            rows.append({
                "node_id": n.node_id, "address": n.address, "alive": n.alive,
                "head": n.is_head, "cpus": n.cpus, "gpus": n.gpus,
                "cpus_in_use": sum(a["request"].get("CPU", 0) for _, a in running),
                "gpus_in_use": sum(a["request"].get("GPU", 0) for _, a in running),
                "ray_free_cpus": n.free_cpus, "ray_free_gpus": n.free_gpus,
                "memory_used": used, "memory_total": total or None,
                "running": [f"{a['family']}:{tid}" for tid, a in running],
                "finished": self._count(n.node_id, ("ok", "error")),
            })
        groups = self._trial_groups()
        lost_nodes = [d["node_id"] for d in self.nodes_at_start if d["node_id"] not in known
                      or not next(x for x in nodes if x.node_id == d["node_id"]).alive]
        return {"fit": self.fit_name, "time": now, "elapsed_s": now - self.started,
                "time_left_s": None if self.deadline == float("inf")
                else max(0.0, self.deadline - now),
                "plan": self.plan, "nodes": rows, "lost_nodes": lost_nodes,
                "trials_running": sum(1 for g in groups.values() if g["open"]),
                "trials_finished": sum(1 for g in groups.values() if not g["open"]),
                "workers_running": len(self._open_attempts()),
                "retries": sum(g["retries"] for g in groups.values()),
                "memory_overruns": dict(self.overruns), "manager_restarts": self.restarts}

    def open_trials(self) -> int:
        return len(self._open_attempts())

    def summary(self, close_open: bool = False) -> dict[str, Any]:
        """What the fit saves: the report plus every trial's attempts and the utilisation of
        each node's CPUs (busy CPU-seconds of raymlx trials / (CPUs x wall time)).
        ``close_open``: at the end of a fit, attempts still open are closed as
        ``unfinished`` (stopped at the time limit, or their last message was lost)."""
        if close_open:
            for _, attempt in self._open_attempts():
                attempt.update(end=time.time(), status="unfinished")
        out = self.report()
        wall = max(1e-9, out["elapsed_s"])
        for row in out["nodes"]:
            busy = sum(
                ((a["end"] or out["time"]) - a["start"]) * a["request"].get("CPU", 0)
                for t in self.trials.values() for a in t["attempts"]
                if a["node_id"] == row["node_id"])
            row["cpu_utilisation"] = busy / (row["cpus"] * wall) if row["cpus"] else None
            row["trials_run"] = sum(1 for t in self.trials.values() for a in t["attempts"]
                                    if a["node_id"] == row["node_id"])
        out["nodes_at_start"] = self.nodes_at_start
        out["trials"] = {tid: t for tid, t in self.trials.items()}
        return out

    # --- helpers
    def _open_attempts(self) -> list[tuple[str, dict[str, Any]]]:
        return [(tid, t["attempts"][-1]) for tid, t in self.trials.items()
                if t["attempts"] and t["attempts"][-1]["end"] is None]

    def _nodes_used(self) -> set[str]:
        return {a["node_id"] for t in self.trials.values() for a in t["attempts"]}

    def _count(self, node_id: str, statuses: tuple[str, ...]) -> int:
        return sum(1 for t in self.trials.values() for a in t["attempts"]
                   if a["node_id"] == node_id and a["status"] in statuses)

    def _trial_groups(self) -> dict[str, dict[str, Any]]:
        """The senders grouped by the Tune trial they belong to (a large-data trial's
        workers each report under their own key): whether any is still running, and the
        group's restarts (a restarted worker group counts once, not once per worker)."""
        groups: dict[str, dict[str, Any]] = {}
        for t in self.trials.values():
            if not t["attempts"]:
                continue
            g = groups.setdefault(t["group"], {"open": False, "retries": 0})
            g["open"] = g["open"] or t["attempts"][-1]["end"] is None
            g["retries"] = max(g["retries"], len(t["attempts"]) - 1)
        return groups


def final_summary(manager, settle_s: float) -> dict[str, Any]:
    """The manager's summary at the end of a fit, after waiting up to ``settle_s`` for the
    last trials' "finished" messages (a trial sends it after its result reached Tune)."""
    end = time.time() + settle_s
    while ray.get(manager.open_trials.remote()) and time.time() < end:
        time.sleep(0.02)
    return ray.get(manager.summary.remote(close_open=True))


def started_message(family: str, request: dict[str, float], device: str,
                    at: float, trial: str | None = None) -> dict[str, Any]:
    """What a trial (or a NAS rank, or one worker of a large-data trial, which names its
    Tune ``trial``) tells the manager as it starts: where it runs, with which GPUs, asking
    for what."""
    return {"family": family, "trial": trial, "node_id": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(), "request": request,
            "gpu_ids": [str(g) for g in ray.get_gpu_ids()], "device": device, "time": at,
            "node_memory": node_memory()}


def finished_message(rss_peak: int | None = None) -> dict[str, Any]:
    """What it tells the manager as it ends (the status goes alongside)."""
    return {"time": time.time(), "rss_peak": rss_peak, "node_memory": node_memory()}


def on_this_node() -> NodeAffinitySchedulingStrategy:
    """Placement on the calling process's node: the driver's actors (this manager, the
    out-of-fold store) must outlive any worker node a cluster loses mid-fit."""
    here = ray.get_runtime_context().get_node_id()
    return NodeAffinitySchedulingStrategy(node_id=here, soft=False)


def start_manager(fit_name: str, plan: dict[str, Any], deadline: float,
                  folder: Path | None = None) -> ActorHandle:
    """Starts the fit's manager on this (the driver's) node, named so that ``raymlx cluster
    status`` finds it, restarted by Ray if its process dies, journalled in ``folder`` when
    given; returns its handle."""
    journal = str(folder / JOURNAL_FILE) if folder is not None else None
    return ResourceManager.options(  # type: ignore[attr-defined]
        name=NAME_PREFIX + fit_name, namespace=NAMESPACE, get_if_exists=False,
        scheduling_strategy=on_this_node(), max_restarts=-1, max_task_retries=-1,
    ).remote(fit_name, plan, deadline, journal, uuid.uuid4().hex)


def running_managers() -> list[str]:
    """Names of the fits whose managers are alive on the connected cluster."""
    names = ray.util.list_named_actors(all_namespaces=True)
    return sorted(a["name"][len(NAME_PREFIX):] for a in names
                  if a.get("namespace") == NAMESPACE and a["name"].startswith(NAME_PREFIX))


def get_manager(fit_name: str) -> ActorHandle:
    return ray.get_actor(NAME_PREFIX + fit_name, namespace=NAMESPACE)
