"""A per-op latency table measured on the device in use (ProxylessNAS section 3.3).

Each candidate of each decision is timed on the input that decision sees in the supernet
(captured with one forward pass), as the median of a few runs after a warm-up; on a GPU the
device is synchronised around each run. The table feeds ``Supernet.expected_latency``.
"""

from __future__ import annotations

import statistics
import time

import torch

from raymlx.nas.mixed import MixedChoice, Supernet


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def measure_latency_table(net: Supernet, sample: torch.Tensor, repeats: int = 5
                          ) -> dict[str, list[float]]:
    """Milliseconds per candidate, keyed by decision name, for a batch like ``sample``."""
    inputs: dict[str, torch.Tensor] = {}
    hooks = []
    for c in net.choices():
        def grab(module: MixedChoice, args, _name=c.name):
            inputs.setdefault(_name, args[0].detach())
        hooks.append(c.register_forward_pre_hook(grab))
    was_training, mode = net.training, net.mode
    net.eval()
    net.set_mode("darts")
    try:
        net(sample)
    finally:
        for h in hooks:
            h.remove()
    table: dict[str, list[float]] = {}
    device = sample.device
    for c in net.choices():
        x = inputs[c.name]
        row = []
        for op in c.candidates:
            op(x)
            runs = []
            for _ in range(repeats):
                _sync(device)
                t0 = time.perf_counter()
                op(x)
                _sync(device)
                runs.append(1000.0 * (time.perf_counter() - t0))
            row.append(statistics.median(runs))
        table[c.name] = row
    net.set_mode(mode)
    net.train(was_training)
    return table
