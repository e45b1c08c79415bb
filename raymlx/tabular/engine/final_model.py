"""The end of each layer and of the fit: a layer's weighted ensemble, selected in the store
actor, and the choice of the model ``predict`` uses.

Greedy ensemble selection (:mod:`raymlx.tabular.ensembles.selection`) runs over the best
:data:`ENSEMBLE_CANDIDATES` models of a layer, as a method of the
:class:`~raymlx.tabular.engine.oof_store.OutOfFoldStore` that holds their out-of-fold
predictions, while the next layer trains. With dynamic stacking the final choice compares
layer 1's best with the top layer's best on the held-out rows, scoring the holdout
predictions the trials stored: no model is loaded in the driver.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import ray

from raymlx.tabular.ensembles.stacking import keep_stack
from raymlx.tabular.predictor import ModelRecord, ModelSet

log = logging.getLogger("raymlx")

ENSEMBLE_NAME = "weighted_ensemble"
ENSEMBLE_CANDIDATES = 20
ENSEMBLE_ITERATIONS = 25
ENSEMBLE_NOISE = 1.0  # an ensemble must beat the best single model by this many SDs


def start_ensemble(models: ModelSet, layer: list[ModelRecord], store, y: np.ndarray,
                   name: str):
    """Starts selecting ``layer``'s ensemble in the store actor; None with fewer than two
    usable models."""
    metric = models.metric
    ranked = metric.best_first(r for r in layer if r.ok and r.trial_id)[:ENSEMBLE_CANDIDATES]
    if len(ranked) < 2:
        return None
    task = store.select_ensemble.remote([r.trial_id for r in ranked], y, metric.name,
                                        models.problem.problem_type, ENSEMBLE_ITERATIONS)
    return name, ranked, task, time.time()


def finish_ensemble(models: ModelSet, pending, deadline: float, level: int) -> str | None:
    """Adds the weighted ensemble of one layer to ``models``; returns the name of that
    layer's best model (its ensemble unless there was none or no time for it)."""
    if pending is not None:
        name, ranked, task, t0 = pending
        wait = None if deadline == float("inf") else max(0.5, deadline - time.time() - 0.3)
        ready, _ = ray.wait([task], timeout=wait)
        if ready:
            sel = ray.get(task)
            weights = {r.name: float(w) for r, w in zip(ranked, sel.weights) if w > 0}
            members = [models.records[n] for n in weights]
            models.records[name] = ModelRecord(
                name=name, family="ensemble", config={}, score_val=sel.score,
                fit_time_s=sum(m.fit_time_s for m in members) + (time.time() - t0),
                predict_time_s=sum(m.predict_time_s for m in members), weights=weights,
                stack_level=level)
            return name
        ray.cancel(task)
        log.info("skipped the layer-%d ensemble: no time left for it", level)
    ranked = models.metric.best_first(r for r in models.usable() if r.stack_level == level)
    return ranked[0].name if ranked else None


def check_ensemble(models: ModelSet, report: dict[str, Any], store, y: np.ndarray) -> None:
    """Selection-overfitting guard: the final ensemble stays only when its out-of-fold
    score beats the best single model's by more than :data:`ENSEMBLE_NOISE` standard
    deviations of their paired bootstrap difference; otherwise that single model is
    final. Greedy selection starts from the best single model, so the ensemble's
    out-of-fold score is never worse by construction, and a gain inside the noise of the
    rows it was chosen on is one the test rows need not repeat."""
    from raymlx.tabular.engine.calibrate import stored_weights

    final = models.records[report["final_model"]]
    singles = models.metric.best_first(r for r in models.usable()
                                       if not r.weights and r.trial_id)
    ens = stored_weights(models, final.name) if final.weights else None
    if not singles or ens is None or set(ens) == {singles[0].trial_id}:
        return
    best = singles[0]
    found = ray.get(store.paired_difference.remote(
        ens, {best.trial_id: 1.0}, y, models.metric.name, models.problem.problem_type))
    if found is None:
        return
    diff, sd = found
    kept = diff > ENSEMBLE_NOISE * sd
    report["ensemble_check"] = {"ensemble": final.name, "best_single": best.name,
                                "difference": diff, "noise_sd": sd, "kept": kept}
    if not kept:
        report.update(final_model=best.name, reason=f"{report['reason']}; {final.name} did "
                      f"not beat {best.name} by more than its out-of-fold noise")
        note = (f"not final: beats {best.name} by {diff:.3g}, inside its out-of-fold noise "
                f"(SD {sd:.3g})")
        final.add_note(note)
    log.info("ensemble check: %s beats %s by %.4g (paired bootstrap SD %.4g): %s",
             final.name, best.name, diff, sd, "kept" if kept else f"{best.name} is final")


def choose_final(models: ModelSet, tops: list[str | None], store,
                 y_hold: np.ndarray | None, y: np.ndarray | None = None) -> dict[str, Any]:
    """The model ``predict`` uses: the top layer's best, unless the holdout check shows
    that stacking does not beat layer 1 (then layer 1's best); with the out-of-fold labels
    ``y``, the ensemble chosen must then pass :func:`check_ensemble`."""
    report = _stacking_choice(models, tops, store, y_hold)
    if y is not None:
        check_ensemble(models, report, store, y)
    return report


def _stacking_choice(models: ModelSet, tops: list[str | None], store,
                     y_hold: np.ndarray | None) -> dict[str, Any]:
    named = [t for t in tops if t is not None]
    report: dict[str, Any] = {"levels_trained": max(models.records[t].stack_level
                                                    for t in named),
                              "holdout_rows": 0 if y_hold is None else len(y_hold),
                              "holdout_scores": {}, "final_model": named[-1],
                              "reason": "no stacking" if len(named) == 1 else
                              "top layer (no holdout check)"}
    if len(named) == 1 or y_hold is None:
        return report
    metric = models.metric
    for t in (named[0], named[-1]):
        rec = models.records[t]
        weights = rec.weights or {t: 1.0}
        report["holdout_scores"][t] = ray.get(store.score_holdout.remote(
            {models.records[n].trial_id: w for n, w in weights.items()}, y_hold,
            metric.name, models.problem.problem_type))
    s1, s_top = report["holdout_scores"][named[0]], report["holdout_scores"][named[-1]]
    if s1 is None or s_top is None:
        report.update(final_model=named[0], reason="a model had no holdout predictions; "
                      "kept layer 1")
    elif keep_stack(s1, s_top, metric):
        report["reason"] = "stacking beat layer 1 on the holdout"
    else:
        report.update(final_model=named[0], reason="stacking did not beat layer 1 on the "
                      "holdout; fell back to layer 1")
    log.info("dynamic stacking: %s (%s on %d held-out rows: %s)", report["reason"],
             metric.name, len(y_hold), report["holdout_scores"])
    return report
