"""BOHB's scheduling half (Falkner, Klein & Hutter, ICML 2018): Hyperband whose new
configurations come from :class:`~raymlx.searchers.BOHBSearch`.

Each time a trial reaches a rung, the scheduler hands its result to the searcher with the
rung's budget, so the searcher's kernel densities are built per budget exactly as in the
paper: from every configuration evaluated at that budget, losers of the halving included
(Tune does not pass the searcher the result of a trial the scheduler stops, so the scheduler
reports it directly).

The two meet through one explicit handshake (Syne Tune's ``configure_scheduler``): the
scheduler is built with its searcher and calls ``searcher.configure_scheduler(self)``, after
which the searcher takes its budgets from the scheduler only. Give Tune the same searcher::

    bohb = BOHBSearch(seed=0)
    tune.TuneConfig(search_alg=bohb, scheduler=BOHBScheduler(searcher=bohb, max_t=81))
"""

from __future__ import annotations

from raymlx.errors import InputError
from raymlx.schedulers.brackets import Bracket
from raymlx.schedulers.hyperband import HyperbandScheduler
from raymlx.searchers.bohb import BOHBSearch


class BOHBScheduler(HyperbandScheduler):
    """Hyperband that tells its ``BOHBSearch`` the budget of every rung result."""

    def __init__(self, time_attr: str = "training_iteration", metric: str | None = None,
                 mode: str | None = None, max_t: float = 81, grace_period: float = 1,
                 reduction_factor: int = 3, searcher: BOHBSearch | None = None) -> None:
        if not isinstance(searcher, BOHBSearch):
            raise InputError(f"BOHBScheduler needs searcher=raymlx.searchers.BOHBSearch(...) "
                             f"(the one given to tune.TuneConfig as search_alg), not "
                             f"{type(searcher).__name__}: its configurations come from "
                             "BOHB's model")
        super().__init__(time_attr, metric, mode, max_t, grace_period, reduction_factor)
        self.searcher = searcher
        searcher.configure_scheduler(self)

    def _on_rung_result(self, bracket: Bracket, trial_id: str, result: dict) -> None:
        self.searcher.record_at_budget(trial_id, result, bracket.target())
