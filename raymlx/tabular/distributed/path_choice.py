"""Which path a fit takes: in memory (bagged trials and stacking on one matrix in the
object store) or distributed (data-parallel boosted trees over Parquet shards).

The rule, ``data_path="auto"``: the prepared matrix (float32 features and the label) goes
in memory when it is under :data:`OBJECT_STORE_SHARE` of the smallest node's object store
*and* under ``max_in_memory_bytes`` when that is given; otherwise the large-data path. A
quarter leaves room for every trial's out-of-fold arrays and for the copies a trial makes
while it fits (a fold's training rows are a copy of the matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_PATHS = ("auto", "memory", "distributed")
OBJECT_STORE_SHARE = 0.25


@dataclass(frozen=True)
class PathChoice:
    """The path a fit takes and the sentence that says why (logged and on the leaderboard)."""

    path: str  # "memory" or "distributed"
    reason: str


def prepared_bytes(rows: int, n_features: int) -> int:
    """Bytes of the prepared matrix: float32 features plus the label."""
    return int(rows) * (int(n_features) + 1) * 4


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


def choose_data_path(mode: str, rows: int, n_features: int,
                     max_in_memory_bytes: float | None,
                     smallest_object_store: float | None) -> PathChoice:
    """The path for a table of ``rows`` x ``n_features`` prepared features."""
    size = prepared_bytes(rows, n_features)
    what = f"{rows} rows x {n_features} features = {_size(size)} prepared"
    if mode == "memory":
        return PathChoice("memory", f"data_path='memory' ({what})")
    if mode == "distributed":
        return PathChoice("distributed", f"data_path='distributed' ({what})")
    limits = []
    if smallest_object_store:
        limits.append((OBJECT_STORE_SHARE * smallest_object_store,
                       f"{OBJECT_STORE_SHARE:g} of the smallest object store "
                       f"({_size(smallest_object_store)})"))
    if max_in_memory_bytes is not None:
        limits.append((float(max_in_memory_bytes), "max_in_memory_bytes"))
    over = [(limit, name) for limit, name in limits if size >= limit]
    if over:
        limit, name = over[0]
        return PathChoice("distributed", f"{what}, over {name} = {_size(limit)}")
    bound = min((limit for limit, _ in limits), default=float("inf"))
    tail = f", under {_size(bound)}" if bound != float("inf") else ""
    return PathChoice("memory", f"{what}{tail}")


def smallest_object_store() -> float | None:
    """The smallest object store of the connected cluster's alive nodes, in bytes."""
    import ray

    sizes = [float(n.get("Resources", {}).get("object_store_memory", 0.0))
             for n in ray.nodes() if n.get("Alive")]
    sizes = [s for s in sizes if s > 0]
    return min(sizes) if sizes else None
