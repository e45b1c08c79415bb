"""Which device a trial computes on: the GPU Ray assigned to it, when CUDA can use it.

Ray hands a trial that asked for ``GPU: 1`` a GPU id and sets ``CUDA_VISIBLE_DEVICES``; that
is a logical grant (a simulated cluster may declare GPUs that do not exist). The trial uses
CUDA only when its library can: the torch MLP when torch finds a CUDA device; XGBoost when
its build has CUDA and an NVIDIA device is present (a CPU-only torch does not matter to it).
Otherwise it computes on CPU and says why.
"""

from __future__ import annotations

from pathlib import Path

import ray


def trial_device(family: str) -> tuple[str, list, str]:
    """``(device, ray_gpu_ids, note)`` for the calling trial of ``family``."""
    gpu_ids = list(ray.get_gpu_ids()) if ray.is_initialized() else []
    if not gpu_ids:
        return "cpu", gpu_ids, ""
    if _cuda_usable(family):
        return "cuda", gpu_ids, ""
    return "cpu", gpu_ids, (f"Ray assigned a GPU but {family} finds no usable CUDA device; "
                            "computed on CPU")


def _cuda_usable(family: str) -> bool:
    try:
        if family == "xgboost":
            import xgboost

            return bool(xgboost.build_info().get("USE_CUDA")) and any(
                Path("/dev").glob("nvidia[0-9]*"))
        import torch

        return torch.cuda.is_available() and torch.cuda.device_count() > 0
    except Exception:  # the library is missing or broken: no CUDA here
        return False
