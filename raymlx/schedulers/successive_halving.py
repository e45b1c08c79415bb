"""Successive halving (Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and
Hyperparameter Optimization", AISTATS 2016) as a Tune scheduler.

Rungs at grace_period * eta^i below ``max_t``, then ``max_t``; each bracket takes
``bracket_size`` trials (default eta^(number of rungs - 1), so one reaches ``max_t``) and keeps
the best floor(n_i / eta) at each rung, synchronously. Later trials fill new brackets of the
same shape. The engine is :class:`~raymlx.schedulers.synchronous.SynchronousHalving`.
"""

from __future__ import annotations

from raymlx._internal.validation import check_int
from raymlx.schedulers.base import rung_levels
from raymlx.schedulers.brackets import successive_halving_size
from raymlx.schedulers.synchronous import SynchronousHalving


class SuccessiveHalvingScheduler(SynchronousHalving):
    """Synchronous successive halving; trials must checkpoint with each result."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 27, grace_period: float = 1,
                 reduction_factor: int = 3, bracket_size: int | None = None) -> None:
        super().__init__(time_attr, metric, mode, max_t, grace_period, reduction_factor)
        check_int("bracket_size", bracket_size, 1, allow_none=True)
        self.levels = rung_levels(grace_period, max_t, reduction_factor)
        self.bracket_size = bracket_size or successive_halving_size(self.levels,
                                                                    reduction_factor)

    def plan(self, index: int) -> tuple[int, list[float]]:
        return self.bracket_size, list(self.levels)
