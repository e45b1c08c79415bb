"""Synchronous successive-halving brackets: the bookkeeping behind SH, Hyperband and BOHB.

A bracket (Jamieson & Talwalkar 2016; Li et al. 2018) takes ``size`` configurations and a
list of rung resources r_0 < r_1 < ... < r_last = max_t. Every member of rung i is trained to
r_i; when all of them got there (or ended), the best floor(n_i / eta) go on to rung i + 1 and
the others stop. floor(floor(n / eta^i) / eta) = floor(n / eta^(i+1)) for integers, so this
is the paper's n_i = floor(n * eta^-i). Nothing here knows about Ray: trials are ids.

Two deliberate rules beyond the paper, both inactive when a bracket fills normally:
- a bracket can be *closed* before it has ``size`` members (the search ended, or Tune cannot
  start more trials); its rungs are then halved from the members it has;
- at least one member survives each halving, so a small closed bracket still trains
  someone to ``max_t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Bracket:
    """One synchronous successive-halving run (state only; the scheduler drives it)."""

    index: int
    size: int
    levels: list[float]
    reduction_factor: int
    members: list[str] = field(default_factory=list)
    alive: list[str] = field(default_factory=list)  # in the running for the current rung
    scores: dict[str, float] = field(default_factory=dict)  # at the current rung's level
    ended: set[str] = field(default_factory=set)
    resume: list[str] = field(default_factory=list)  # survivors waiting to be resumed
    rung: int = 0
    closed: bool = False
    promoted: list[int] = field(default_factory=list)  # survivors of each halving

    def add(self, trial_id: str) -> None:
        self.members.append(trial_id)
        self.alive.append(trial_id)

    def full(self) -> bool:
        return self.closed or len(self.members) >= self.size

    def target(self) -> float:
        return self.levels[self.rung]

    def last_rung(self) -> bool:
        return self.rung == len(self.levels) - 1

    def rung_complete(self) -> bool:
        return self.full() and all(t in self.scores or t in self.ended for t in self.alive)

    def finished(self) -> bool:
        return self.full() and all(t in self.ended for t in self.alive)

    def halve(self) -> tuple[list[str], list[str]]:
        """Close the current rung: returns (survivors, losers) and moves to the next rung."""
        ranked = sorted((t for t in self.alive if t not in self.ended and t in self.scores),
                        key=lambda t: -self.scores[t])  # stable: earlier members win ties
        keep = max(1, len(self.alive) // self.reduction_factor)
        survivors = ranked[:keep]
        losers = [t for t in self.alive if t not in survivors]
        self.rung += 1
        self.alive = survivors
        self.scores = {}
        self.promoted.append(len(survivors))
        return survivors, losers

    def history(self) -> list[tuple[int, float]]:
        """(n_i, r_i) for each rung entered so far: the paper's bracket table row."""
        counts = [len(self.members)] + self.promoted
        return [(n, self.levels[i]) for i, n in enumerate(counts)]


def successive_halving_size(levels: list[float], reduction_factor: int) -> int:
    """The bracket size that leaves exactly one configuration at the top rung."""
    return reduction_factor ** (len(levels) - 1)


def hyperband_plan(max_t: float, grace_period: float, reduction_factor: int
                   ) -> list[tuple[int, list[float]]]:
    """One Hyperband iteration (Li et al. 2018, Algorithm 1), largest bracket first.

    s_max = floor(log_eta(R / r)), B = (s_max + 1) R; bracket s has
    n = ceil(B / R * eta^s / (s + 1)) configurations at r_0 = R eta^-s, and s + 1 rungs
    r_i = R eta^(i - s). Returns [(n, [r_0, ..., R]), ...] for s = s_max .. 0.
    """
    eta = reduction_factor
    s_max = int(math.floor(math.log(max_t / grace_period) / math.log(eta) + 1e-9))
    plan = []
    for s in range(s_max, -1, -1):
        n = -(-(s_max + 1) * eta ** s // (s + 1))  # integer ceil
        levels = [max_t / eta ** (s - i) for i in range(s + 1)]
        plan.append((n, levels))
    return plan
