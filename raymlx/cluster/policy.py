"""Resource policy: what one trial of each model family asks Ray for, how many trials run at
once, and how many CPUs / whether GPUs a NAS worker takes.

This is the decision AutoGluon's resource manager makes for one machine, made here from the
whole cluster's node table (:mod:`raymlx.cluster.inventory`). Ray and Tune still place the
trials; the policy only chooses the requests:

- a family that can use a GPU (a model family's ``gpus``: XGBoost, the torch MLP) asks for one GPU
  when the cluster has GPUs (or ``use_gpus=True``), so Ray puts those trials on GPU nodes
  only; the other families ask for CPUs alone and run anywhere;
- every trial asks for ``cpus_per_trial`` CPUs (capped at the largest node: a trial runs on
  one node) and, with ``memory_per_trial``, for that much of Ray's logical ``memory``, so a
  node only takes the trials its RAM can hold;
- the number of concurrent trials is what the nodes can hold side by side:
  ``sum over nodes of min(CPUs // cpus_per_trial, memory // memory_per_trial)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from raymlx.errors import InputError

if TYPE_CHECKING:  # the policy itself is pure: no Ray import
    from raymlx.cluster.inventory import NodeInfo


@dataclass(frozen=True)
class ResourcePlan:
    """Per-family resource requests and the concurrency for one fit."""

    requests: dict[str, dict[str, float]]  # family -> {"CPU": c, "GPU": g, "memory": bytes}
    concurrent_trials: int
    cpus_per_trial: float  # an int for AutoML's trials; a NAS worker's CPUs may be fractional
    use_gpus: bool
    memory_per_trial: float | None = None
    notes: list[str] = field(default_factory=list)

    def request(self, family: str) -> dict[str, float]:
        """What one trial of ``family`` asks Ray for (CPUs alone for a family not planned)."""
        return self.requests.get(family, {"CPU": float(self.cpus_per_trial)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_resources(nodes: list[NodeInfo], families: list, cpus_per_trial: int = 1,
                   use_gpus: bool | None = None,
                   memory_per_trial: float | None = None) -> ResourcePlan:
    """The plan for ``families`` (objects with ``name`` and ``gpus``) on ``nodes``."""
    alive = [n for n in nodes if n.alive]
    if not alive:
        raise InputError("the Ray cluster has no live nodes")
    notes = []
    biggest = max(int(n.cpus) for n in alive)
    cpus = max(1, min(int(cpus_per_trial), biggest))
    if cpus < cpus_per_trial:
        notes.append(f"cpus_per_trial={cpus_per_trial} lowered to {cpus}: the largest node has "
                     f"{biggest} CPUs and a trial runs on one node")
    gpu_nodes = [n for n in alive if n.gpus >= 1]
    if use_gpus and not gpu_nodes:
        raise InputError("use_gpus=True but the Ray cluster has no GPUs; leave it at None to "
                         "use GPUs only where there are some")
    gpus_on = bool(gpu_nodes) if use_gpus is None else bool(use_gpus)
    # a GPU trial must fit on a GPU node's CPUs too
    gpu_cpus = min(cpus, max((int(n.cpus) for n in gpu_nodes), default=cpus))
    requests = {}
    for fam in families:
        wants_gpu = gpus_on and getattr(fam, "gpus", False)
        req = {"CPU": float(gpu_cpus if wants_gpu else cpus)}
        if wants_gpu:
            req["GPU"] = 1.0
        if memory_per_trial:
            req["memory"] = float(memory_per_trial)
        requests[fam.name] = req
    if memory_per_trial:
        largest = max(n.memory_bytes for n in alive)
        if memory_per_trial > largest:
            raise InputError(f"memory_per_trial={_gib(memory_per_trial)} is more than the "
                             f"largest node offers to Ray ({_gib(largest)})")
    for name, req in requests.items():  # each request must fit on one node as a whole
        if not any(_fits(n, req) for n in alive):
            raise InputError(f"no node can hold one {name} trial ({describe_request(req)}); lower "
                             "cpus_per_trial or memory_per_trial")
    slots = 0
    for n in alive:
        fit = int(n.cpus) // cpus
        if memory_per_trial:
            fit = min(fit, int(n.memory_bytes // memory_per_trial))
        slots += fit
    if gpus_on and gpu_nodes and any(getattr(f, "gpus", False) for f in families):
        notes.append(f"GPU families ({', '.join(f.name for f in families if f.gpus)}) take "
                     f"one GPU each, on the {len(gpu_nodes)} GPU node(s)")
    return ResourcePlan(requests=requests, concurrent_trials=max(1, slots),
                        cpus_per_trial=cpus, use_gpus=gpus_on,
                        memory_per_trial=memory_per_trial, notes=notes)


def plan_workers(nodes: list[NodeInfo], num_workers: int, use_gpu: bool | None,
                 cpus_per_worker: float | None,
                 cuda_build: bool = True) -> tuple[bool, float]:
    """``(use_gpu, cpus_per_worker)`` for a Ray Train run of ``num_workers`` (NAS).

    ``use_gpu=None``: GPUs when the cluster has one per worker and torch is a CUDA build
    (``cuda_build``). ``cpus_per_worker=None``: one CPU per GPU worker; on CPUs, the
    cluster's free CPUs shared out evenly (at least one, at most the largest node's).
    Raises a one-line error when the workers cannot all be placed at once.
    """
    alive = [n for n in nodes if n.alive]
    total_cpus = sum(n.cpus for n in alive)
    total_gpus = sum(n.gpus for n in alive)
    if use_gpu is None:
        use_gpu = cuda_build and total_gpus >= num_workers > 0
    if use_gpu and total_gpus < num_workers:
        raise InputError(f"{num_workers} GPU workers need {num_workers} GPUs; the Ray cluster "
                         f"has {total_gpus:g}")
    if cpus_per_worker is None:  # the CPUs free now, shared out
        pool = sum(n.free_cpus for n in alive) or total_cpus
        biggest = max((int(n.cpus) for n in alive), default=1)
        cpus_per_worker = 1.0 if use_gpu else max(1.0, float(min(biggest,
                                                                  int(pool // num_workers))))
    need = cpus_per_worker * num_workers
    if need > total_cpus:
        raise InputError(f"{num_workers} workers x {cpus_per_worker:g} CPUs need {need:g} CPUs; "
                         f"the Ray cluster has {total_cpus:g}")
    return bool(use_gpu), float(cpus_per_worker)


def parse_bytes(value: float | int | str | None, name: str = "memory_per_trial") -> float | None:
    """``2e9``, ``"1.5GB"``, ``"512MiB"`` -> bytes; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise InputError(f"{name}={value!r} is invalid; give a positive number of bytes")
        return float(value)
    text = str(value).strip().upper().replace(" ", "")
    try:
        number = float(text)  # plain bytes, as the command line passes them
    except ValueError:
        number = None
    if number is not None:
        if number > 0:
            return number
        raise InputError(f"{name}={value!r} is invalid; give a positive number of bytes")
    units = {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "KB": 1e3, "MB": 1e6,
             "GB": 1e9, "TB": 1e12, "K": 2**10, "M": 2**20, "G": 2**30, "B": 1}
    for unit, scale in units.items():
        if text.endswith(unit):
            try:
                number = float(text[: -len(unit)])
            except ValueError:
                break
            if number > 0:
                return number * scale
            break
    raise InputError(f"{name}={value!r} is invalid; give bytes or a size such as '2GB' or "
                     "'1.5GiB'")


def _fits(node: NodeInfo, request: dict[str, float]) -> bool:
    return (node.cpus >= request.get("CPU", 0) and node.gpus >= request.get("GPU", 0)
            and node.memory_bytes >= request.get("memory", 0))


def describe_request(request: dict[str, float]) -> str:
    """``1 CPU + 1 GPU + 2.00 GiB``."""
    parts = [f"{request.get('CPU', 0):g} CPU"]
    if request.get("GPU"):
        parts.append(f"{request['GPU']:g} GPU")
    if request.get("memory"):
        parts.append(f"{request['memory'] / 2**30:.2f} GiB")
    return " + ".join(parts)


def _gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


@dataclass(frozen=True)
class DataParallelPlan:
    """The workers of one data-parallel trial and how many such trials run at once."""

    num_workers: int
    cpus_per_worker: float
    concurrent_trials: int
    use_gpu: bool
    notes: list[str] = field(default_factory=list)
    memory_per_worker: float = 0.0  # bytes: a node's Ray memory / the workers it holds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_data_parallel(nodes: list[NodeInfo], num_workers: int | None,
                       cpus_per_worker: int = 1,
                       use_gpus: bool | None = None) -> DataParallelPlan:
    """Workers per trial (default: one per node that can hold a worker), and trials at
    once: the worker slots of the cluster (``CPUs // cpus_per_worker`` per node) divided
    by the workers of a trial. GPUs: one per worker when every worker can get one (or
    ``use_gpus=True``, which insists); XGBoost trains on them. The memory of a worker is
    the least, over nodes, of a node's Ray ``memory`` shared by the workers it holds."""
    alive = [n for n in nodes if n.alive]
    if not alive:
        raise InputError("the Ray cluster has no live nodes")
    slots = {n.node_id: int(n.cpus // cpus_per_worker) for n in alive}
    total = sum(slots.values())
    if total == 0:
        raise InputError(f"no node has {cpus_per_worker} CPUs for a training worker")
    notes = []
    if num_workers is None:
        num_workers = sum(1 for s in slots.values() if s > 0)
        notes.append(f"{num_workers} workers per trial: one per node with "
                     f"{cpus_per_worker} free CPU(s)")
    if num_workers > total:
        raise InputError(f"workers_per_trial={num_workers} needs {num_workers} x "
                         f"{cpus_per_worker} CPUs; the Ray cluster has room for {total} "
                         "workers")
    gpus = sum(int(n.gpus) for n in alive)
    if use_gpus and gpus < num_workers:
        raise InputError(f"use_gpus=True with {num_workers} workers per trial needs "
                         f"{num_workers} GPUs; the Ray cluster has {gpus}")
    use_gpu = bool(use_gpus) or (use_gpus is None and gpus >= num_workers)
    concurrent = max(1, total // num_workers)
    if use_gpu:
        concurrent = max(1, min(concurrent, gpus // num_workers))
    memory = min((n.memory_bytes / slots[n.node_id] for n in alive if slots[n.node_id]),
                 default=0.0)
    return DataParallelPlan(num_workers, float(cpus_per_worker), concurrent, use_gpu, notes,
                            memory)
