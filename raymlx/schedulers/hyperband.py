"""Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018) as a Tune
scheduler, exactly the paper's Algorithm 1.

With R = ``max_t`` / ``grace_period`` resource units, s_max = floor(log_eta R) and
B = (s_max + 1) R, one iteration runs brackets s = s_max .. 0 in that order (largest first);
bracket s takes n = ceil(B / R * eta^s / (s + 1)) configurations at r = R eta^-s and halves
them synchronously, keeping floor(n_i / eta) per rung. For ``max_t=81, reduction_factor=3``
one iteration is 143 configurations: 81@1 27@3 9@9 3@27 1@81 | 34@3 11@9 3@27 1@81 |
15@9 5@27 1@81 | 8@27 2@81 | 5@81. Then the next iteration starts.

Where Ray's ``HyperBandScheduler`` differs (docs/design.md, "Facts about Ray"): it keeps
ceil(n / eta) survivors (34/12/4/2 instead of 34/11/3/1, about 12% more training per
iteration at R=81, eta=3) and fills the smallest bracket first, so a short run never stops
anything early.
"""

from __future__ import annotations

from raymlx.schedulers.brackets import hyperband_plan
from raymlx.schedulers.synchronous import SynchronousHalving


class HyperbandScheduler(SynchronousHalving):
    """Synchronous Hyperband; trials must checkpoint with each result."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 81, grace_period: float = 1,
                 reduction_factor: int = 3) -> None:
        super().__init__(time_attr, metric, mode, max_t, grace_period, reduction_factor)
        self.iteration_plan = hyperband_plan(max_t, grace_period, reduction_factor)

    def plan(self, index: int) -> tuple[int, list[float]]:
        size, levels = self.iteration_plan[index % len(self.iteration_plan)]
        return size, list(levels)
