"""Which device a trial computes on: the GPU Ray assigned to it, when CUDA can use it.

Ray hands a trial that asked for ``GPU: 1`` a GPU id and sets ``CUDA_VISIBLE_DEVICES``; that
is a logical grant (a simulated cluster may declare GPUs that do not exist). The trial uses
CUDA only when torch also finds a device; otherwise it computes on CPU and says why.
"""

from __future__ import annotations

import ray


def trial_device(wants_gpu: bool) -> tuple[str, list, str]:
    """``(device, ray_gpu_ids, note)`` for the calling trial."""
    gpu_ids = list(ray.get_gpu_ids()) if ray.is_initialized() else []
    if not wants_gpu or not gpu_ids:
        return "cpu", gpu_ids, ""
    try:
        import torch

        usable = torch.cuda.is_available() and torch.cuda.device_count() > 0
    except Exception:  # torch missing or broken: no CUDA here
        usable = False
    if usable:
        return "cuda", gpu_ids, ""
    return "cpu", gpu_ids, "Ray assigned a GPU but CUDA finds no device; computed on CPU"
