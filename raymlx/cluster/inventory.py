"""What the connected Ray cluster has, node by node, read from Ray's GCS state.

``ray.nodes()`` gives every node's totals (CPUs, GPUs, Ray's logical ``memory``, custom
resources) and whether it is alive; ``ray._private.state.available_resources_per_node()``
(a Ray DeveloperAPI that reads the same GCS tables, with no dashboard needed) gives what is
free right now. Nothing here schedules anything: Ray places tasks and Tune places trials.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import ray

HEAD_MARKER = "node:__internal_head__"


@dataclass(frozen=True)
class NodeInfo:
    """One Ray node: totals, and what is free at the time it was read."""

    node_id: str
    address: str
    alive: bool
    is_head: bool
    cpus: float
    gpus: float
    memory_bytes: float  # Ray's logical "memory" resource
    free_cpus: float = 0.0
    free_gpus: float = 0.0
    custom: dict[str, float] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.node_id[:8]

    def to_dict(self) -> dict:
        return asdict(self)


def read_nodes(include_dead: bool = False) -> list[NodeInfo]:
    """Every node of the cluster this process is connected to (alive ones only by default),
    head first."""
    try:
        from ray._private.state import available_resources_per_node

        free = available_resources_per_node()
    except Exception:  # an older or newer Ray without the helper: totals only
        free = {}
    nodes = []
    for n in ray.nodes():
        if not n.get("Alive") and not include_dead:
            continue
        res = n.get("Resources", {}) or {}
        node_free = free.get(n["NodeID"], {})
        custom = {k: float(v) for k, v in res.items()
                  if k not in ("CPU", "GPU", "memory", "object_store_memory")
                  and not k.startswith("node:") and not k.startswith("accelerator_type")}
        nodes.append(NodeInfo(
            node_id=n["NodeID"], address=n.get("NodeManagerAddress", "?"),
            alive=bool(n.get("Alive")), is_head=HEAD_MARKER in res,
            cpus=float(res.get("CPU", 0.0)), gpus=float(res.get("GPU", 0.0)),
            memory_bytes=float(res.get("memory", 0.0)),
            free_cpus=float(node_free.get("CPU", 0.0)),
            free_gpus=float(node_free.get("GPU", 0.0)), custom=custom))
    return sorted(nodes, key=lambda node: (not node.is_head, node.node_id))
