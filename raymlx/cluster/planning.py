"""Per-trial resources and concurrency from what the connected Ray cluster has.

Policy only: Tune and Ray still place the trials. One CPU per trial keeps every core busy
with its own trial (tree learners on small and medium tables gain more from parallel trials
than from threads); the number of concurrent trials is the cluster's CPU count.
"""

from __future__ import annotations

from dataclasses import dataclass

import ray


@dataclass(frozen=True)
class TrialPlan:
    cpus_per_trial: int
    concurrent_trials: int


def plan_trials(cpus_per_trial: int = 1) -> TrialPlan:
    """The plan for the current cluster: ``floor(total CPUs / cpus_per_trial)`` at once."""
    total = int(ray.cluster_resources().get("CPU", 1))
    per = max(1, min(cpus_per_trial, total))
    return TrialPlan(cpus_per_trial=per, concurrent_trials=max(1, total // per))
