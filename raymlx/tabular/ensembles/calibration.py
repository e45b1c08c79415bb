"""Post-hoc calibration of the final model, fitted on its out-of-fold predictions.

Two corrections, as AutoGluon's ``calibrate`` and ``calibrate_decision_threshold`` make:

- **Temperature scaling** (Guo, Pleiss, Sun & Weinberger, ICML 2017, "On calibration of
  modern neural networks"): the probabilities become ``softmax(log(p) / T)`` with one
  scalar ``T`` chosen to minimise the log loss. For a binary problem that is
  ``sigmoid(logit(p1) / T)``. It keeps every row's ranking of the classes, so it changes
  no label and no AUC, only how confident the probabilities are; bagged and averaged
  models tend to be under-confident (``T < 1`` sharpens them).
- **A decision threshold** for binary problems scored on labels (accuracy, F1, balanced
  accuracy, MCC): class 1 is predicted when ``p1 >= threshold`` instead of ``p1 > 0.5``.

Both keep their defining property by construction: ``T = 1`` is among the temperatures
tried and is kept unless another one lowers the log loss, and the threshold is the exact
maximiser of the metric over every cut of the sorted predictions (the metric only changes
where the cut passes a row), found from cumulative confusion counts in ``O(n log n)``.
Written here because these are a few lines on arrays; the 1-D search is scipy's bounded
Brent method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD_METRICS = ("accuracy", "balanced_accuracy", "f1", "mcc")
TEMPERATURE_RANGE = (0.05, 20.0)  # searched on a log scale
_EPS = 1e-15


def temper(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``proba`` (rows summing to 1) at ``temperature``: ``softmax(log(p) / T)``."""
    if temperature == 1.0:
        return proba
    logits = np.log(np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    picked = np.clip(proba[np.arange(len(y)), y], _EPS, 1.0)
    return float(-np.mean(np.log(picked)))


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """``(T, log loss at T = 1, log loss at T)``: the temperature that minimises the log
    loss of ``proba`` for the class codes ``y``; 1.0 unless another is strictly better."""
    from scipy.optimize import minimize_scalar

    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    before = _log_loss(proba, y)
    lo, hi = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    res = minimize_scalar(lambda t: _log_loss(temper(proba, float(np.exp(t))), y),
                          bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    t = float(np.exp(res.x))
    after = _log_loss(temper(proba, t), y)
    if not np.isfinite(after) or after >= before:
        return 1.0, before, before
    return t, before, after


def _cut_scores(tp: np.ndarray, fp: np.ndarray, pos: int, neg: int,
                metric: str) -> np.ndarray:
    """The metric at every cut, from the true and false positives of each cut."""
    fn, tn = pos - tp, neg - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "accuracy":
            return (tp + tn) / (pos + neg)
        if metric == "balanced_accuracy":
            return 0.5 * (tp / max(pos, 1) + tn / max(neg, 1))
        if metric == "f1":
            out = 2 * tp / (2 * tp + fp + fn)
            return np.where(2 * tp + fp + fn > 0, out, 0.0)
        if metric == "mcc":
            denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
            return np.where(denom > 0, (tp * tn - fp * fn) / np.where(denom > 0, denom, 1),
                            0.0)
    raise ValueError(f"no decision threshold for metric {metric!r}; one of "
                     f"{THRESHOLD_METRICS}")


def best_threshold(p1: np.ndarray, y: np.ndarray, metric: str) -> tuple[float, float]:
    """``(threshold, score)``: the threshold on P(class 1) that maximises ``metric`` (one of
    :data:`THRESHOLD_METRICS`) when class 1 is predicted for ``p1 >= threshold``; of equal
    scores, the threshold nearest 0.5 wins."""
    p1 = np.asarray(p1, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    order = np.argsort(-p1, kind="stable")
    ps, ys = p1[order], y[order]
    n, pos = len(ys), int(ys.sum())
    # cut i predicts the i highest rows positive; only cuts between distinct values exist
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(ps) != 0) + 1, [n]])
    tp_all = np.concatenate([[0], np.cumsum(ys)])
    tp = tp_all[cuts].astype(np.float64)
    fp = cuts - tp
    scores = _cut_scores(tp, fp, pos, n - pos, metric)
    upper = np.concatenate([[np.inf], ps])[cuts]  # the lowest value predicted positive
    lower = np.concatenate([ps, [-np.inf]])[cuts]  # the highest value predicted negative
    with np.errstate(invalid="ignore"):
        mid = 0.5 * (upper + lower)
    mid = np.where(mid > lower, mid, upper)  # adjacent floats: the midpoint rounds down
    thresholds = np.where(np.isinf(upper), np.nextafter(np.maximum(ps[0], 1.0), 2.0),
                          np.where(np.isinf(lower), 0.0, mid))
    best = np.flatnonzero(scores >= np.nanmax(scores) - 1e-12)
    pick = best[np.argmin(np.abs(thresholds[best] - 0.5))]
    return float(thresholds[pick]), float(scores[pick])


@dataclass(frozen=True)
class Calibration:
    """What is applied to one model's predictions: a temperature and, for binary problems
    scored on labels, a decision threshold (None: the most probable class)."""

    temperature: float = 1.0
    threshold: float | None = None

    def apply(self, proba: np.ndarray) -> np.ndarray:
        return temper(proba, self.temperature)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Class codes for calibrated probabilities ``proba``."""
        return labels_at(proba, self.threshold)


def labels_at(proba: np.ndarray, threshold: float | None) -> np.ndarray:
    """Class codes for probabilities ``proba``: class 1 where ``P(1) >= threshold`` on a
    two-class problem with a threshold, else the most probable class."""
    proba = np.asarray(proba)
    if threshold is not None and proba.ndim == 2 and proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype(np.int64)
    return proba.argmax(axis=1)


def corrections(setting: bool | str, metric: str, problem_type: str) -> tuple[bool, bool]:
    """``(temperature, threshold)``: which corrections ``AutoML(calibrate=setting)`` fits
    for ``metric``. "auto": the temperature when the metric is the log loss, the
    threshold when a binary problem is scored on labels; True: the temperature for every
    classification metric, and the threshold as for "auto"; False: neither."""
    if setting is False or problem_type not in ("binary", "multiclass"):
        return False, False
    threshold = problem_type == "binary" and metric in THRESHOLD_METRICS
    return (True if setting is True else metric == "log_loss"), threshold


def fit_calibration(proba: np.ndarray, y: np.ndarray, metric: str, temperature: bool,
                    threshold: bool) -> tuple[Calibration, dict]:
    """The calibration of out-of-fold probabilities ``proba`` for class codes ``y`` and a
    report of what it changed (log loss and, with a threshold, ``metric`` before/after)."""
    t, before, after = fit_temperature(proba, y) if temperature else (1.0, None, None)
    report: dict = {"rows": int(len(y)), "temperature": t}
    if temperature:
        report.update(log_loss_before=before, log_loss_after=after)
    cut = None
    if threshold:
        p1 = temper(proba, t)[:, 1]
        at_half = float(_cut_scores(
            np.array([float(((p1 > 0.5) & (y == 1)).sum())]),
            np.array([float(((p1 > 0.5) & (y == 0)).sum())]),
            int(y.sum()), int(len(y) - y.sum()), metric)[0])
        cut, score = best_threshold(p1, y, metric)
        report.update(threshold=cut, metric=metric, score_at_argmax=at_half,
                      score_at_threshold=score)
    return Calibration(temperature=t, threshold=cut), report
