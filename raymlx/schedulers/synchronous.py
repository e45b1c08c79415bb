"""Synchronous successive halving driven through Tune: the engine of
``SuccessiveHalvingScheduler``, ``HyperbandScheduler`` and ``BOHBScheduler``.

New trials join the newest bracket until it holds its planned number of configurations;
then the next bracket of the plan opens (Hyperband: largest bracket first, as in Li et al.
2018, Algorithm 1). A trial that reaches its bracket's current rung is PAUSEd (it must have
reported a checkpoint with that result: Tune resumes a function trainable from its last
checkpoint). When the rung is complete the best floor(n_i / eta) are resumed through
``choose_trial_to_run`` and the others are stopped; the last trial to arrive continues or
stops at once, without a pause. A trial stops at ``max_t``.

Brackets run side by side when there are free workers; a rung decision waits only for the
members of its own bracket. If every remaining trial is paused, none pending or running, and
a bracket is still short of members (``max_concurrent_trials`` keeps Tune from starting more,
or the search has ended), that bracket is closed and halved with the members it has instead
of waiting forever (Ray's HyperBand issue #6780).
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial

from raymlx._internal.validation import check_int, check_number
from raymlx.schedulers.base import (
    CONTINUE,
    PAUSE,
    STOP,
    RaymlxScheduler,
    nothing_running,
    search_finished,
)
from raymlx.schedulers.brackets import Bracket


class SynchronousHalving(RaymlxScheduler):
    """Base class: brackets from ``plan(index) -> (size, levels)``, halved synchronously."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 81, grace_period: float = 1,
                 reduction_factor: int = 3) -> None:
        check_number("max_t", max_t, 0, low_open=True)
        check_number("grace_period", grace_period, 0, max_t, low_open=True)
        check_int("reduction_factor", reduction_factor, 2)
        super().__init__(time_attr, metric, mode)
        self.max_t = max_t
        self.grace_period = grace_period
        self.reduction_factor = reduction_factor
        self.brackets: list[Bracket] = []
        self._bracket_of: dict[str, int] = {}

    # -- what subclasses define
    def plan(self, index: int) -> tuple[int, list[float]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _on_rung_result(self, bracket: Bracket, trial_id: str, result: dict) -> None:
        """Hook: a trial reached ``bracket.target()`` with this result (BOHB learns here)."""

    # -- state
    def state_dict(self) -> dict:
        return {"brackets": self.brackets, "bracket_of": self._bracket_of}

    def load_state_dict(self, state: dict) -> None:
        self.brackets = state["brackets"]
        self._bracket_of = state["bracket_of"]

    def bracket_of(self, trial_id: str) -> Bracket | None:
        index = self._bracket_of.get(trial_id)
        return None if index is None else self.brackets[index]

    # -- Tune callbacks
    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        self._attach(trial)
        if trial.trial_id in self._bracket_of:
            return  # replayed by Tuner.restore
        if not self.brackets or self.brackets[-1].full():
            size, levels = self.plan(len(self.brackets))
            self.brackets.append(Bracket(len(self.brackets), size, levels,
                                         self.reduction_factor))
        bracket = self.brackets[-1]
        bracket.add(trial.trial_id)
        self._bracket_of[trial.trial_id] = bracket.index
        self._persist()

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        bracket = self.bracket_of(trial.trial_id)
        if bracket is None:
            return CONTINUE
        if trial.trial_id not in bracket.alive:
            return STOP  # lost a halving while it was still running
        if self.progress(result) < bracket.target():
            return CONTINUE
        self._on_rung_result(bracket, trial.trial_id, result)
        if bracket.last_rung():
            return STOP
        bracket.scores[trial.trial_id] = self.score(result)
        decision = self._advance(tune_controller, bracket, reporter=trial.trial_id)
        self._persist()
        return decision

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self._end(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self._end(tune_controller, trial)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._end(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        trials = {t.trial_id: t for t in tune_controller.get_trials()}
        if self.brackets and not self.brackets[-1].full() and search_finished(tune_controller):
            self._close(tune_controller, self.brackets[-1])
        chosen = self._next_to_resume(trials)
        if chosen is not None:
            return chosen
        for trial in trials.values():
            if trial.status == Trial.PENDING:
                return trial
        if nothing_running(tune_controller) and any(
                t.status == Trial.PAUSED for t in trials.values()):
            for bracket in self.brackets:
                if not bracket.full():
                    self._close(tune_controller, bracket)
            return self._next_to_resume(trials)
        return None

    def debug_string(self) -> str:
        live = [b for b in self.brackets if not b.finished()]
        rows = [f"bracket {b.index}: rung {b.rung} at {b.target():g}, {len(b.alive)} alive"
                for b in live[:4]]
        return f"{type(self).__name__}: " + ("; ".join(rows) or "no live bracket")

    # -- the halving itself
    def _end(self, tune_controller: Any, trial: Trial) -> None:
        bracket = self.bracket_of(trial.trial_id)
        if bracket is None or trial.trial_id in bracket.ended:
            return
        bracket.ended.add(trial.trial_id)
        if trial.trial_id in bracket.alive:
            self._advance(tune_controller, bracket)
        self._persist()

    def _close(self, tune_controller: Any, bracket: Bracket) -> None:
        bracket.closed = True
        self._advance(tune_controller, bracket)
        self._persist()

    def _advance(self, tune_controller: Any, bracket: Bracket, reporter: str | None = None
                 ) -> str:
        """Halve every complete rung; returns the decision for ``reporter``."""
        decision, losers = PAUSE, []
        while bracket.alive and bracket.rung_complete() and not bracket.last_rung():
            survivors, lost = bracket.halve()
            losers += lost
            for trial_id in survivors:
                if trial_id == reporter:
                    decision = CONTINUE
                else:
                    bracket.resume.append(trial_id)
            if reporter in lost:
                decision = STOP
        # stop the losers only now: Tune calls back on_trial_remove/complete for each
        trials = {t.trial_id: t for t in tune_controller.get_trials()} if losers else {}
        for trial_id in losers:
            bracket.ended.add(trial_id)
            trial = trials.get(trial_id)
            if trial_id != reporter and trial is not None and trial.status in (
                    Trial.PAUSED, Trial.PENDING, Trial.RUNNING):
                tune_controller.stop_trial(trial)
        return decision

    def _next_to_resume(self, trials: dict[str, Trial]) -> Trial | None:
        for bracket in self.brackets:
            for trial_id in list(bracket.resume):
                trial = trials.get(trial_id)
                if trial is None or trial.status in (Trial.TERMINATED, Trial.ERROR):
                    bracket.resume.remove(trial_id)
                elif trial.status == Trial.PAUSED:
                    bracket.resume.remove(trial_id)
                    self._persist()
                    return trial
        return None
