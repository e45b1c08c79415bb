"""What a fit does after its search, stacking and ensembles: ``refit_full`` (one model on
all rows per bag of the final model), then ``infer_limit`` (the final model chosen to fit
a per-row latency), then the final model's calibration, all on the in-memory path (the
large-data path calibrates its ensemble itself), inside the fit's time limit where one is
set.
"""

from __future__ import annotations

import time
from typing import Any

from raymlx._internal.phase_times import timed
from raymlx.tabular.settings import FitSettings


def _in_memory(inputs: Any) -> bool:
    return not hasattr(inputs, "choice")  # the large-data path's inputs carry their choice


def search_limit(settings: FitSettings, inputs: Any, time_limit: float | None) -> float | None:
    """The search's share of ``time_limit``: all of it, or k/(k+1) when a refit follows."""
    from raymlx.tabular.engine.refit import search_share

    if settings.refit_full and _in_memory(inputs) and time_limit:
        return time_limit * search_share(settings.num_folds)
    return time_limit


def after_search(aml: Any, settings: FitSettings, inputs: Any, t_start: float,
                 time_limit: float | None, t_wall: float) -> Any:
    """Runs the refit and the latency choice the settings ask for, on the fitted ``aml``."""
    ran = False
    if settings.refit_full and _in_memory(inputs):
        left = None if not time_limit else max(1.0, t_start + time_limit - time.time())
        with timed(aml.phase_times_, "refit_full"):
            aml.refit_full(time_limit=left)
        ran = True
    if settings.infer_limit is not None and _in_memory(inputs):
        from raymlx.tabular.engine.infer_limit import choose_within_limit

        with timed(aml.phase_times_, "infer_limit"):
            choose_within_limit(aml, inputs, settings.infer_limit)
        ran = True
    if _in_memory(inputs) and aml.problem_.is_classification:
        from raymlx.tabular.engine.calibrate import calibrate_final

        with timed(aml.phase_times_, "calibration"):
            aml.calibration_ = calibrate_final(aml.models_, aml.best_model_,
                                               getattr(aml, "oof_store_", None),
                                               inputs.arrays["y"], settings.calibrate)
        ran = True
    if ran:
        aml.fit_time_s_ = time.time() - t_wall
    return aml
