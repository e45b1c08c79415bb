"""Partial dependence and individual conditional expectation (Friedman 2001; Goldstein
et al. 2015, "Peeking inside the black box"), computed by scikit-learn's
``sklearn.inspection.partial_dependence`` ("brute" method) on the raw table.

For one column and a grid of its values, ICE is each row's prediction with the column set
to each grid value (everything else as it is); the partial dependence is their mean. A
column the predictor never reads gives flat lines. The grid is the column's quantiles for
numbers and its most frequent values for categories; datetime columns are left out (their
features are parts of the date, not one axis). For classification the output is the
probability of each class (two classes: of the positive one, ``classes[1]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

GRID_POINTS = 20


class _Fitted(BaseEstimator):
    """The predictor as the fitted scikit-learn estimator ``partial_dependence`` expects."""

    def __init__(self, aml: Any = None, model: str | None = None) -> None:
        self.aml = aml
        self.model = model

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X, y=None):  # pragma: no cover - never called: the predictor is fitted
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.aml._predict_frame(X, self.model, "dependence rows")[0]


class _Classifier(ClassifierMixin, _Fitted):
    """The predictor as a fitted scikit-learn classifier."""

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.aml.problem_.classes)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.aml._predict_frame(X, self.model, "dependence rows")[1]


class _Regressor(RegressorMixin, _Fitted):
    """The predictor as a fitted scikit-learn regressor."""


def grid(column: pd.Series, points: int = GRID_POINTS) -> np.ndarray | None:
    """The values a column is set to; None for a column without a usable grid."""
    values = column.dropna()
    if values.empty or pd.api.types.is_datetime64_any_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        qs = np.unique(np.quantile(values.astype(float), np.linspace(0, 1, points)))
        return qs if len(qs) > 1 else None
    top = values.astype(str).value_counts().index[:points]
    return np.asarray(top, dtype=object) if len(top) > 1 else None


def training_grid(preprocessor: Any, name: str, points: int = GRID_POINTS) -> np.ndarray | None:
    """A grid from what the fit learnt of a column: evenly spaced over a number's training
    range, a category's most frequent values; None when it kept neither (dropped columns,
    numbers stored as text, predictors saved before the range was kept)."""
    for c in getattr(preprocessor, "columns_", []):
        if c.name != name:
            continue
        span = getattr(c, "span", ())
        if c.kind == "numeric" and span and span[1] > span[0]:
            return np.linspace(span[0], span[1], points)
        if c.kind == "category" and len(c.categories) > 1:
            return np.asarray([str(v) for v in c.categories[:points]], dtype=object)
    return None


def dependence(aml: Any, frame: pd.DataFrame, features: list[str], model: str | None = None,
               grids: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(pdp, ice)`` long frames for ``features`` of ``frame``: pdp has feature, value,
    [class,] average; ice has feature, value, row, [class,] prediction. ``grids`` gives a
    column's values instead of :func:`grid` of ``frame``'s."""
    from sklearn.inspection import partial_dependence

    classify = aml.problem_.is_classification
    est = (_Classifier if classify else _Regressor)(aml, model)
    classes = list(aml.problem_.classes) if classify else [None]
    shown = classes[1:] if classify and len(classes) == 2 else classes  # sklearn's rule
    pdp_rows: list[dict[str, Any]] = []
    ice_rows: list[dict[str, Any]] = []
    for name in features:
        values = (grids or {}).get(name)
        values = grid(frame[name]) if values is None else values
        if values is None:
            continue
        X = frame.copy()
        categorical = np.asarray(values).dtype == object  # the grid says how to vary it
        if categorical:
            X[name] = X[name].astype(object).where(X[name].isna(), X[name].astype(str))
        else:  # sklearn refuses integer columns: their grid of quantiles is fractional
            X[name] = pd.to_numeric(X[name], errors="coerce").astype(np.float64)
        res = partial_dependence(est, X, [name], kind="both", method="brute",
                                 categorical_features=[name] if categorical else None,
                                 custom_values={name: values},
                                 response_method="predict_proba" if classify else "auto")
        grid_values = res["grid_values"][0]
        for k, label in enumerate(shown):
            for g, value in enumerate(grid_values):
                pdp_rows.append({"feature": name, "value": value, "class": label,
                                 "average": float(res["average"][k, g])})
                ice_rows.extend({"feature": name, "value": value, "row": row, "class": label,
                                 "prediction": float(p)}
                                for row, p in zip(frame.index, res["individual"][k, :, g]))
    pdp, ice = pd.DataFrame(pdp_rows), pd.DataFrame(ice_rows)
    if not classify:
        pdp, ice = pdp.drop(columns="class", errors="ignore"), ice.drop(columns="class",
                                                                        errors="ignore")
    return pdp, ice


__all__ = ["GRID_POINTS", "dependence", "grid"]
