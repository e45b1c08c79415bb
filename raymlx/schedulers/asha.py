"""Asynchronous successive halving (ASHA; Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur,
Hardt, Recht & Talwalkar, "A System for Massively Parallel Hyperparameter Tuning",
MLSys 2020), the paper's *promotion* rule, with the *stopping* rule as an option.

Rungs sit at grace_period * eta^k below ``max_t``, then ``max_t``. Promotion (the paper's
Algorithm 2): a trial that reaches rung k records its score there and is PAUSEd. Whenever a
worker frees up, the rungs are scanned from the top down; in rung k the top
floor(|rung k| / eta) recorded trials are promotable, and the first one not yet promoted is
resumed towards rung k + 1. If none is, a new trial starts. Nobody waits for stragglers: a
rung decides on whatever it has recorded so far. A trial that is promotable the moment it
reports continues without a pause, unless a promotion from a higher rung is waiting.

Stopping (``variant="stopping"``, what Ray's and Optuna's ASHA do): a trial reaching rung k
continues iff it is within the top max(1, floor(m / eta)) of the m scores recorded at that
rung, itself included; otherwise it stops. No checkpoints are needed for this variant.

When the search has ended and nothing runs, paused trials that can no longer be promoted are
stopped so the experiment ends. When the search has *not* ended but nothing can start
(``max_concurrent_trials`` counts paused trials), the paused trial ranked lowest in its rung
is stopped to free a slot: under such a limit, cap concurrency with per-trial resources
instead.
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial

from raymlx._internal.validation import check_int, check_number
from raymlx.errors import InputError
from raymlx.schedulers.base import (
    CONTINUE,
    PAUSE,
    STOP,
    RaymlxScheduler,
    nothing_running,
    rung_levels,
    search_finished,
)

VARIANTS = ("promotion", "stopping")


class ASHAScheduler(RaymlxScheduler):
    """Asynchronous successive halving; ``variant="promotion"`` needs checkpoints."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 81, grace_period: float = 1,
                 reduction_factor: int = 3, variant: str = "promotion") -> None:
        check_number("max_t", max_t, 0, low_open=True)
        check_number("grace_period", grace_period, 0, max_t, low_open=True)
        check_int("reduction_factor", reduction_factor, 2)
        if variant not in VARIANTS:
            raise InputError(f"variant={variant!r} is invalid; it must be one of {VARIANTS}")
        super().__init__(time_attr, metric, mode)
        self.max_t = max_t
        self.grace_period = grace_period
        self.reduction_factor = reduction_factor
        self.variant = variant
        self.levels = rung_levels(grace_period, max_t, reduction_factor)
        self.rungs: list[dict[str, float]] = [{} for _ in self.levels]
        self.promoted: list[set[str]] = [set() for _ in self.levels]
        self.rung_of: dict[str, int] = {}  # the rung a trial is heading for

    # -- state
    def state_dict(self) -> dict:
        return {"rungs": self.rungs, "promoted": self.promoted, "rung_of": self.rung_of}

    def load_state_dict(self, state: dict) -> None:
        self.rungs, self.promoted = state["rungs"], state["promoted"]
        self.rung_of = state["rung_of"]

    def top(self, k: int) -> list[str]:
        """The promotable set of rung k: its best floor(|rung| / eta), best first."""
        rung = self.rungs[k]
        ranked = sorted(rung, key=lambda t: -rung[t])  # stable: earlier arrivals win ties
        return ranked[: len(rung) // self.reduction_factor]

    # -- Tune callbacks
    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        self._attach(trial)
        if trial.trial_id not in self.rung_of:
            self.rung_of[trial.trial_id] = 0
            self._persist()

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        trial_id = trial.trial_id
        k = self.rung_of.setdefault(trial_id, 0)
        if self.progress(result) < self.levels[k]:
            return CONTINUE
        score = self.score(result)
        self.rungs[k][trial_id] = score
        if k == len(self.levels) - 1:
            decision = STOP
        elif self.variant == "stopping":
            rung = self.rungs[k]
            rank = 1 + sum(other > score for other in rung.values())
            keep = max(1, len(rung) // self.reduction_factor)
            decision = CONTINUE if rank <= keep else STOP
            if decision == CONTINUE:
                self.rung_of[trial_id] = k + 1
        elif trial_id in self.top(k) and self._waiting_promotion(tune_controller, above=k) is None:
            self.promoted[k].add(trial_id)
            self.rung_of[trial_id] = k + 1
            decision = CONTINUE
        else:
            decision = PAUSE
        self._persist()
        return decision

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        found = self._waiting_promotion(tune_controller, above=-1)
        if found is not None:
            k, trial = found
            self.promoted[k].add(trial.trial_id)
            self.rung_of[trial.trial_id] = k + 1
            self._persist()
            return trial
        trials = tune_controller.get_trials()
        for trial in trials:
            if trial.status == Trial.PENDING:
                return trial
        paused = [t for t in trials if t.status == Trial.PAUSED]
        if paused and nothing_running(tune_controller):
            if search_finished(tune_controller):
                for trial in paused:  # no rung can grow any more: nobody else is promotable
                    tune_controller.stop_trial(trial)
            else:
                tune_controller.stop_trial(min(paused, key=self._standing))
        return None

    def debug_string(self) -> str:
        sizes = ", ".join(f"{level:g}:{len(r)}" for level, r in zip(self.levels, self.rungs))
        return f"ASHAScheduler ({self.variant}) rungs {sizes}"

    # -- helpers
    def _waiting_promotion(self, tune_controller: Any, above: int
                           ) -> tuple[int, Trial] | None:
        """The highest-rung paused trial that is promotable, searching rungs > ``above``."""
        paused = {t.trial_id: t for t in tune_controller.get_trials()
                  if t.status == Trial.PAUSED}
        if not paused:  # the common case, checked every controller step: nothing to sort
            return None
        for k in range(len(self.levels) - 2, above, -1):
            for trial_id in self.top(k):
                if (trial_id in paused and trial_id not in self.promoted[k]
                        and self.rung_of.get(trial_id) == k):
                    return k, paused[trial_id]
        return None

    def _standing(self, trial: Trial) -> float:
        """Fraction of its rung that a paused trial beats (0 = worst)."""
        k = self.rung_of.get(trial.trial_id, 0)
        rung = self.rungs[k]
        score = rung.get(trial.trial_id, float("-inf"))
        return sum(score > other for other in rung.values()) / max(1, len(rung))
