"""BOHB's scheduling half (Falkner, Klein & Hutter, ICML 2018): Hyperband whose new
configurations come from :class:`~raymlx.searchers.BOHBSearch`.

Each time a trial reaches a rung, the scheduler hands its result to the searcher with the
rung's budget, so the searcher's kernel densities are built per budget exactly as in the
paper: from every configuration evaluated at that budget, losers of the halving included
(Tune does not pass the searcher the result of a trial the scheduler stops, so the scheduler
reports it directly). Use it with ``tune.TuneConfig(search_alg=BOHBSearch(...),
scheduler=BOHBScheduler(...))``.
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial

from raymlx.errors import InputError
from raymlx.schedulers.brackets import Bracket
from raymlx.schedulers.hyperband import HyperbandScheduler
from raymlx.searchers.bohb import BOHBSearch


def find_bohb_searcher(tune_controller: Any) -> BOHBSearch | None:
    """The BOHBSearch inside Tune's search algorithm wrappers, if there is one."""
    node = getattr(tune_controller, "search_alg", None)
    for _ in range(6):
        if node is None or isinstance(node, BOHBSearch):
            return node
        node = getattr(node, "searcher", None)
    return None


class BOHBScheduler(HyperbandScheduler):
    """Hyperband that tells ``BOHBSearch`` the budget of every rung result."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 81, grace_period: float = 1,
                 reduction_factor: int = 3) -> None:
        super().__init__(time_attr, metric, mode, max_t, grace_period, reduction_factor)
        self._searcher: BOHBSearch | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_searcher"] = None
        return state

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        if self._searcher is None:
            self._searcher = find_bohb_searcher(tune_controller)
            if self._searcher is None:
                raise InputError("BOHBScheduler needs search_alg=raymlx.searchers.BOHBSearch"
                                 "(...) in tune.TuneConfig: its configurations come from "
                                 "BOHB's model")
            self._searcher.budgets_from_scheduler = True
        super().on_trial_add(tune_controller, trial)

    def _on_rung_result(self, bracket: Bracket, trial_id: str, result: dict) -> None:
        if self._searcher is not None:
            self._searcher.record_at_budget(trial_id, result, bracket.target())
