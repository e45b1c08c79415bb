"""Trial schedulers that keep every trial actor busy when trials are shorter than an actor's
start.

With ``reuse_actors=True``, Ray Tune 2.60's controller asks the scheduler each step which
trial to start (``choose_trial_to_run``). Tune's FIFO scheduler names the first PENDING
trial, and Tune then hands that trial any cached (idle, reusable) actor and *removes the
actor that was still starting for it*. When trials take less time than an actor takes to
start (a linear model on a small table: tens of milliseconds against one to three
seconds), the first actor to come up finishes its trial, takes over the next trial and
kills the actor starting for it, and so on: one actor runs every trial while Tune requests,
and drops, a new placement group and actor per trial. Measured on this project's 2-core VM
(``benchmarks/scaling.py --parts overhead``): 100 one-model trials, 2 at a time, ran at
about 110 ms per trial that way, and at about 70 ms when the scheduler left pending trials
alone.

The schedulers here name only PAUSED trials (a resume decision); PENDING trials are then
started by Tune's own queue, in creation order, which gives a cached actor to a trial that
has none and lets an actor that is starting finish starting. Everything else is unchanged.
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler

from raymlx.schedulers import ASHAScheduler


def _resumes_only(chosen: Trial | None) -> Trial | None:
    return chosen if chosen is not None and chosen.status == Trial.PAUSED else None


class InOrderFIFOScheduler(FIFOScheduler):
    """Tune's FIFO scheduler, without naming PENDING trials (see the module's docstring)."""

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        return _resumes_only(super().choose_trial_to_run(tune_controller))


class InOrderASHAScheduler(ASHAScheduler):
    """raymlx's ASHA, without naming PENDING trials (see the module's docstring)."""

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        return _resumes_only(super().choose_trial_to_run(tune_controller))
