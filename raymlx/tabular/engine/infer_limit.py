"""``AutoML(infer_limit=s, infer_limit_batch_size=n)``: the final model becomes the best
candidate whose per-row prediction latency, measured on the fit's own machine, stays
under ``s`` seconds (AutoGluon's ``infer_limit``, measured the same way: calls of ``n``
rows, time per row).

Latency is measured, not estimated: a candidate predicts a batch of ``n`` raw training rows
(drawn when the fit prepared its table) through the whole predictor, preparing the table
included; its latency is the fastest of :data:`REPEATS` calls divided by ``n``, and the
leaderboard shows it (``infer_s_per_row``).

Candidates, in order; the first under the limit wins:

1. the final model as the fit chose it (its all-rows refit when ``refit_full`` ran);
2. for an ensemble, pruned ensembles: members are dropped one at a time, each time the
   one whose removal leaves the best ensemble when greedy selection re-weights the rest
   on their out-of-fold predictions (read from the fit folder; the ``_full`` members of a
   refit ensemble are judged by their bags' predictions);
3. single models, best validation score first (a model's ``_full`` refit in place of its
   bag where one exists).

When none is under the limit the fastest measured candidate is kept and the log and its
leaderboard note say that the limit was not met.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from raymlx.tabular.engine.ledger import trial_checkpoints
from raymlx.tabular.engine.refit import FULL_SUFFIX, _stored_predictions
from raymlx.tabular.predictor import ModelRecord

log = logging.getLogger("raymlx")

REPEATS = 2
PRUNED = "weighted_ensemble_pruned"
NOTES = ("chosen by infer_limit", "fastest candidate, none met")


def measure(aml: Any, name: str, rows: Any) -> float:
    """Seconds per row for ``name`` on ``rows``, the fastest of :data:`REPEATS` calls,
    recorded on the model's leaderboard row."""
    aml._predict_frame(rows.iloc[:1], name, "latency rows")  # reads the pickles
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        aml._predict_frame(rows, name, "latency rows")
        best = min(best, time.perf_counter() - t0)
    per_row = best / len(rows)
    aml.models_.records[name].infer_s_per_row = per_row
    return per_row


def _bag_of(name: str) -> str:
    return name[:-len(FULL_SUFFIX)] if name.endswith(FULL_SUFFIX) else name


def _pruned(aml: Any, ensemble: ModelRecord, oof: dict[str, np.ndarray], y: np.ndarray,
            step: int) -> ModelRecord | None:
    """``ensemble`` less the member whose loss re-weights best; None with two members."""
    from raymlx.tabular.ensembles.selection import greedy_ensemble_selection

    members = list(ensemble.weights)
    if len(members) < 3:  # one member left is a single model: the next candidates
        return None
    metric = aml.models_.metric
    kind = aml.problem_.problem_type
    best: tuple[float, list[str], np.ndarray] | None = None
    for drop in members:
        rest = [m for m in members if m != drop]
        sel = greedy_ensemble_selection([oof[_bag_of(m)] for m in rest], y,
                                        lambda t, p: metric.score(t, p, kind), metric.mode)
        key = metric.sign() * sel.score
        if best is None or key > best[0]:
            best = (key, rest, sel.weights)
    assert best is not None
    _, rest, weights = best
    name = f"{PRUNED}_{step}" + (FULL_SUFFIX if ensemble.name.endswith(FULL_SUFFIX) else "")
    kept = {m: float(w) for m, w in zip(rest, weights) if w > 0}
    rec = ModelRecord(name=name, family="ensemble", config={},
                      score_val=metric.sign() * best[0], weights=kept,
                      stack_level=ensemble.stack_level,
                      fit_time_s=sum(aml.models_.records[m].fit_time_s for m in kept),
                      note=f"{ensemble.name} pruned to {len(kept)} members for infer_limit")
    aml.models_.records[name] = rec
    return rec


def _score(aml: Any, rec: ModelRecord) -> float:
    """A model's validation score for ranking (a refit model's: its bag's)."""
    own = rec.score_val if not np.isnan(rec.score_val) else \
        aml.models_.records.get(_bag_of(rec.name), rec).score_val
    return aml.models_.metric.sign() * own


def choose_within_limit(aml: Any, inputs: Any, limit: float) -> str:
    """Sets ``aml.best_model_`` to the first candidate under ``limit`` seconds per row."""
    rows = getattr(inputs, "latency_rows", None)
    if rows is None:
        log.warning("infer_limit: this fit kept no rows to time predictions on; the final "
                    "model stays %s", aml.best_model_)
        return aml.best_model_
    t0 = time.time()
    measured: dict[str, float] = {}

    def fits(name: str) -> bool:
        measured[name] = measure(aml, name, rows)
        log.info("infer_limit: %s takes %.3g ms per row", name, measured[name] * 1e3)
        return measured[name] <= limit

    chosen = None
    final = aml.models_.records[aml.best_model_]
    if fits(final.name):
        chosen = final.name
    elif final.weights:
        oof, y = _out_of_fold(aml, final)
        rec, step = final, 1
        while chosen is None and oof is not None:
            rec = _pruned(aml, rec, oof, y, step)
            if rec is None:
                break
            chosen = rec.name if fits(rec.name) else None
            step += 1
    if chosen is None:
        singles = [r for r in aml.models_.usable() if not r.weights and not r.inputs
                   and (r.name.endswith(FULL_SUFFIX)
                        or r.name + FULL_SUFFIX not in aml.models_.records)]
        for rec in sorted(singles, key=lambda r: -_score(aml, r)):
            if fits(rec.name):
                chosen = rec.name
                break
    note = f"chosen by infer_limit ({limit:.3g} s per row)"
    if chosen is None:
        chosen = min(measured, key=lambda n: measured[n])
        note = f"fastest candidate, none met infer_limit ({limit:.3g} s per row)"
        log.warning("infer_limit: no candidate predicts under %.3g s per row; keeping the "
                    "fastest, %s (%.3g s per row)", limit, chosen, measured[chosen])
    for other in aml.models_.records.values():  # an earlier choice's note goes
        parts = [p for p in (other.note or "").split("; ") if p and not p.startswith(NOTES)]
        other.note = "; ".join(parts) or None
    rec = aml.models_.records[chosen]
    rec.note = f"{rec.note}; {note}" if rec.note else note
    aml.best_model_ = chosen
    log.info("infer_limit: final model %s (%.3g ms per row; %d candidates timed in %.1f s)",
             chosen, measured[chosen] * 1e3, len(measured), time.time() - t0)
    return chosen


def _out_of_fold(aml: Any, ensemble: ModelRecord) -> tuple[dict | None, Any]:
    """The out-of-fold predictions of ``ensemble``'s members' bags and the labels they
    predict, from the fit folder; (None, None) when they are gone."""
    from raymlx.errors import InputError
    from raymlx.tabular.engine.refit import fit_folder_inputs

    try:
        inputs, folder = fit_folder_inputs(getattr(aml, "experiment_path_", None))
        where = trial_checkpoints(folder)
        oof = {_bag_of(m): _stored_predictions(aml.models_.records[_bag_of(m)], where, False)
               for m in ensemble.weights}
    except InputError as exc:
        log.warning("infer_limit: cannot prune %s: %s", ensemble.name, exc)
        return None, None
    return oof, inputs.arrays["y"]
