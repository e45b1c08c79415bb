"""Steps shared by the supernet search loop and the derived network's training loop.

- ``averaged_step``: averages the gradients over the ranks (one collective), clips their
  global norm (DARTS clips at 5) and steps the optimiser; parameters without a gradient
  (ProxylessNAS' unsampled paths, the same on every rank) are left out.
- ``average_batchnorm_stats``: the ranks' BatchNorm running statistics averaged once an epoch,
  so evaluation and checkpoints are the same on every rank.
- ``evaluate``: loss and accuracy of a whole set, each rank scoring every world_size-th row.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from raymlx.nas.distributed import Comm


def averaged_step(params: Sequence[torch.Tensor], grads, opt: torch.optim.Optimizer, comm: Comm,
                  clip: float | None = None) -> None:
    used = [(p, g) for p, g in zip(params, grads) if g is not None]
    gs = [g.detach().clone() for _, g in used]
    comm.mean_(gs)
    if clip is not None and gs:
        total = float(torch.sqrt(sum((g.float() ** 2).sum() for g in gs)))
        scale = min(1.0, clip / (total + 1e-6))
        gs = [g * scale for g in gs]
    for p in params:
        p.grad = None
    for (p, _), g in zip(used, gs):
        p.grad = g
    opt.step()
    for p in params:
        p.grad = None


def average_batchnorm_stats(net: nn.Module, comm: Comm) -> None:
    comm.mean_([b for name, b in net.named_buffers()
                if name.endswith(("running_mean", "running_var"))])


@torch.no_grad()
def evaluate(net: nn.Module, xs: torch.Tensor, ys: torch.Tensor, comm: Comm,
             device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over all of (xs, ys), in eval mode."""
    was_training = net.training
    net.eval()
    idx = torch.arange(comm.rank, len(ys), comm.world_size)
    totals = torch.zeros(3, dtype=torch.float64)
    for chunk in idx.split(512):
        x, y = xs[chunk].to(device), ys[chunk].to(device)
        logits = net(x)
        totals += torch.tensor([float(F.cross_entropy(logits, y, reduction="sum")),
                                float((logits.argmax(1) == y).sum()), len(y)],
                               dtype=torch.float64)
    comm.sum_([totals])
    net.train(was_training)
    return float(totals[0] / totals[2]), float(totals[1] / totals[2])
