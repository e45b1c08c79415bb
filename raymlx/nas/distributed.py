"""Gradient averaging across the ranks of a search, done by hand on purpose.

DDP's reducer assumes a fixed graph: with ProxylessNAS' sampled paths the unsampled ops get no
gradient (DDP then fails or needs ``find_unused_parameters``) and the architecture gradient is
built outside the ops' own backward; with DARTS' second-order step the unrolled weights are not
a DDP module at all. NNI's DDP-wrapped DARTS left each rank with its own architecture
parameters (microsoft/nni #5013, #5110). Here every gradient that updates shared state is
averaged with one ``all_reduce`` over a flat buffer, and the sampled paths come from a
generator seeded alike on every rank, so weights and architecture parameters stay identical.
``Comm(world_size=1)`` makes every call a no-op, which is also how the tests drive the loop
without Ray.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist


class Comm:
    """The ranks of one search (or one rank alone)."""

    def __init__(self, rank: int = 0, world_size: int = 1,
                 device: torch.device | None = None):
        self.rank, self.world_size = rank, world_size
        self.device = device  # where collectives run: the GPU under NCCL, else in place

    @classmethod
    def from_process_group(cls) -> Comm:
        if dist.is_available() and dist.is_initialized():
            device = None
            if dist.get_backend() == "nccl":
                device = torch.device("cuda", torch.cuda.current_device())
            return cls(dist.get_rank(), dist.get_world_size(), device)
        return cls()

    def _flat(self, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat([t.detach().reshape(-1).to(self.device or t.device) for t in tensors])

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def mean_(self, tensors: Sequence[torch.Tensor]) -> None:
        """Replaces each tensor by its mean over the ranks (in place, one collective)."""
        self._reduce(tensors, 1.0 / self.world_size)

    def sum_(self, tensors: Sequence[torch.Tensor]) -> None:
        """Replaces each tensor by its sum over the ranks (in place, one collective)."""
        self._reduce(tensors, 1.0)

    def _reduce(self, tensors: Sequence[torch.Tensor], scale: float) -> None:
        if not self.active or not tensors:
            return
        flat = self._flat(tensors)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        if scale != 1.0:
            flat *= scale
        offset = 0
        for t in tensors:
            n = t.numel()
            t.copy_(flat[offset:offset + n].view_as(t).to(t.device))
            offset += n

    def broadcast_(self, tensors: list[torch.Tensor], src: int = 0) -> None:
        if not self.active:
            return
        for t in tensors:
            dist.broadcast(t.data, src=src)

    def gather_objects(self, obj) -> list:
        if not self.active:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out
