"""Metric registry on top of ``sklearn.metrics``.

Each metric has a name, a direction (``"max"`` or ``"min"``), and the kind of prediction it
reads: class labels, class probabilities, or real values. Predictions inside raymlx are
always probabilities for classification (shape ``(n, n_classes)``) and real values for
regression; :meth:`Metric.score` turns them into whatever the sklearn function wants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from raymlx.errors import InputError
from raymlx.tabular.ensembles.calibration import labels_at
from raymlx.tabular.problem import BINARY, MULTICLASS, PROBLEM_TYPES, REGRESSION


@dataclass(frozen=True)
class Metric:
    """A named sklearn-backed metric with its direction and its input kind."""

    name: str
    mode: str  # "max" or "min"
    kind: str  # "label", "proba" or "value"
    func: Callable[..., float]
    problems: tuple[str, ...]

    def score(self, y_true: np.ndarray, pred: np.ndarray, problem_type: str,
              threshold: float | None = None) -> float:
        """Score ``pred`` (probabilities for classification, values for regression); a
        label metric on a binary problem predicts class 1 for ``P(1) >= threshold`` when
        one is given, else the most probable class."""
        pred = np.asarray(pred)
        if problem_type == REGRESSION:
            return float(self.func(y_true, pred))
        proba = pred
        if self.kind == "label":
            return float(self.func(y_true, labels_at(
                proba, threshold if problem_type == BINARY else None)))
        if problem_type == BINARY and self.name != "log_loss":
            return float(self.func(y_true, proba[:, 1]))
        if self.name == "log_loss":
            return float(skm.log_loss(y_true, proba, labels=np.arange(proba.shape[1])))
        return float(self.func(y_true, proba))

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b`` (NaN is never better)."""
        if np.isnan(a):
            return False
        if np.isnan(b):
            return True
        return a > b if self.mode == "max" else a < b

    def sign(self) -> float:
        """+1 for metrics to maximise, -1 for metrics to minimise."""
        return 1.0 if self.mode == "max" else -1.0

    def best_first(self, records: Iterable[Any]) -> list[Any]:
        """Records (anything with a ``score_val``) from the best score to the worst; the
        order of equal scores is kept."""
        sign = self.sign()
        return sorted(records, key=lambda r: -sign * r.score_val)


def _rmse(y, p):
    return skm.root_mean_squared_error(y, p)


def _rmsle(y, p):
    # Predictions of a regressor can dip below zero; RMSLE is only defined for values > -1,
    # so they are clipped at zero (the label itself is checked to be non-negative at fit).
    return skm.root_mean_squared_log_error(y, np.clip(p, 0, None))


def _f1(y, p):
    return skm.f1_score(y, p, average="binary" if len(np.unique(y)) <= 2 else "macro")


def _roc_auc_ovr(y, p):
    return skm.roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1]))


_CLS = (BINARY, MULTICLASS)
_REG = (REGRESSION,)
_ALL = PROBLEM_TYPES

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", "max", "label", skm.accuracy_score, _CLS),
        Metric("balanced_accuracy", "max", "label", skm.balanced_accuracy_score, _CLS),
        Metric("f1", "max", "label", _f1, _CLS),
        Metric("f1_macro", "max", "label", lambda y, p: skm.f1_score(y, p, average="macro"), _CLS),
        Metric(
            "f1_weighted", "max", "label",
            lambda y, p: skm.f1_score(y, p, average="weighted"), _CLS,
        ),
        Metric("precision", "max", "label", skm.precision_score, (BINARY,)),
        Metric("recall", "max", "label", skm.recall_score, (BINARY,)),
        Metric("mcc", "max", "label", skm.matthews_corrcoef, _CLS),
        Metric("roc_auc", "max", "proba", skm.roc_auc_score, (BINARY,)),
        Metric("roc_auc_ovr", "max", "proba", _roc_auc_ovr, (MULTICLASS,)),
        Metric("average_precision", "max", "proba", skm.average_precision_score, (BINARY,)),
        Metric("log_loss", "min", "proba", skm.log_loss, _CLS),
        Metric("rmse", "min", "value", _rmse, _REG),
        Metric("mse", "min", "value", skm.mean_squared_error, _REG),
        Metric("mae", "min", "value", skm.mean_absolute_error, _REG),
        Metric("rmsle", "min", "value", _rmsle, _REG),
        Metric("mape", "min", "value", skm.mean_absolute_percentage_error, _REG),
        Metric("median_ae", "min", "value", skm.median_absolute_error, _REG),
        Metric("r2", "max", "value", skm.r2_score, _REG),
    ]
}

DEFAULT_METRIC = {BINARY: "roc_auc", MULTICLASS: "log_loss", REGRESSION: "rmse"}


def check_metric_name(name: str) -> str:
    """The registry key of the metric called ``name``; a one-line error for an unknown one."""
    key = str(name).lower()
    if key not in METRICS:
        raise InputError(
            f"unknown metric {name!r}; choose one of: {', '.join(sorted(METRICS))}"
        )
    return key


def get_metric(name: str | None, problem_type: str) -> Metric:
    """The metric called ``name`` (or the problem's default), checked against the problem."""
    if name is None:
        name = DEFAULT_METRIC[problem_type]
    key = check_metric_name(name)
    metric = METRICS[key]
    if problem_type not in metric.problems:
        fits = sorted(k for k, m in METRICS.items() if problem_type in m.problems)
        raise InputError(
            f"metric {key!r} does not apply to a {problem_type} problem; use one of: "
            f"{', '.join(fits)}"
        )
    return metric
