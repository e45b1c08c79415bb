"""Which device a trial computes on: the GPU Ray assigned to it, when its library can use it.

Ray hands a trial that asked for ``GPU: 1`` a GPU id and sets ``CUDA_VISIBLE_DEVICES``; that
is a logical grant (a simulated cluster may declare GPUs that do not exist). Whether the
trial's library can compute there is the workload's own question (a model family answers
it with ``cuda_usable()``: XGBoost looks at its build and the NVIDIA devices, the torch MLP
asks torch); otherwise the trial computes on CPU and says why.
"""

from __future__ import annotations

from typing import Protocol

import ray


class GPUWorkload(Protocol):
    """What this module needs to know about a trial's workload."""

    @property
    def name(self) -> str: ...

    def cuda_usable(self) -> bool: ...


def trial_device(workload: GPUWorkload) -> tuple[str, list, str]:
    """``(device, ray_gpu_ids, note)`` for the calling trial."""
    gpu_ids = list(ray.get_gpu_ids()) if ray.is_initialized() else []
    if not gpu_ids:
        return "cpu", gpu_ids, ""
    if workload.cuda_usable():
        return "cuda", gpu_ids, ""
    return "cpu", gpu_ids, (f"Ray assigned a GPU but {workload.name} finds no usable CUDA "
                            "device; computed on CPU")
