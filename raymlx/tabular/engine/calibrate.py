"""The last step of a fit: the final model's calibration (a temperature, a decision
threshold; :mod:`raymlx.tabular.ensembles.calibration`), fitted in the store actor on the
out-of-fold predictions it holds (on the large-data path: the holdout predictions), so no
prediction array comes to the driver.

The final model may be an ensemble, a stacker, a pruned ensemble of ``infer_limit`` or a
``refit_full`` model: its stored predictions are the weighted sum of the trials it is made
of, a ``_full`` model standing for the bag it was refit from (it has no out-of-fold
predictions of its own; AutoGluon's refit models likewise reuse their bag's).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import ray

from raymlx.tabular.ensembles.calibration import corrections
from raymlx.tabular.predictor import FULL_SUFFIX, ModelSet

log = logging.getLogger("raymlx")


def stored_weights(models: ModelSet, name: str) -> dict[str, float] | None:
    """``{trial id: weight}`` whose weighted sum of stored predictions is ``name``'s; None
    when part of it has no trial (a model added by hand, a bag refit without its bag)."""
    out: dict[str, float] = {}

    def walk(n: str, w: float) -> bool:
        rec = models.records.get(n)
        if rec is None:
            return False
        if rec.weights:
            return all(walk(m, w * mw) for m, mw in rec.weights.items())
        if rec.trial_id:
            out[rec.trial_id] = out.get(rec.trial_id, 0.0) + w
            return True
        base = n.removesuffix(FULL_SUFFIX)
        return base != n and walk(base, w)

    return out if walk(name, 1.0) else None


def calibrate_final(models: ModelSet, name: str, store: Any, y: np.ndarray,
                    setting: bool | str) -> dict[str, Any] | None:
    """Fits and sets ``name``'s calibration as ``setting`` (``AutoML(calibrate=)``) asks;
    returns its report, or None when nothing was fitted."""
    problem = models.problem
    temperature, threshold = corrections(setting, models.metric.name, problem.problem_type)
    rec = models.records[name]
    if not (temperature or threshold) or store is None:
        return None
    weights = stored_weights(models, name)
    found = None if weights is None else ray.get(store.calibrate.remote(
        weights, y, models.metric.name, temperature, threshold))
    if found is None:
        log.info("no calibration for %s: its predictions are not all stored", name)
        return None
    cal, report = found
    rec.calibration = cal
    parts = []
    if temperature:
        parts.append(f"temperature {cal.temperature:.3g} (out-of-fold log_loss "
                     f"{report['log_loss_before']:.5g} -> {report['log_loss_after']:.5g})")
        if models.metric.name == "log_loss":
            rec.score_val = report["log_loss_after"]
    if threshold:
        parts.append(f"decision threshold {cal.threshold:.3g} (out-of-fold "
                     f"{models.metric.name} {report['score_at_argmax']:.5g} -> "
                     f"{report['score_at_threshold']:.5g})")
        rec.score_val = report["score_at_threshold"]
    note = "calibrated: " + ", ".join(parts)
    rec.add_note(note)
    log.info("%s %s", name, note)
    return {"model": name, **report}
