"""What a fit trains on, prepared once on the driver before Ray starts: the checked label,
the fitted preprocessing, the feature matrix, the encoded labels, the folds of every
repeat and, with dynamic stacking, the held-out rows.

A fit saves its :class:`FitInputs` in its folder (:mod:`raymlx.tabular.engine.ledger`), so
a resumed fit trains on exactly the same features and folds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.data import check_rows
from raymlx.tabular.ensembles.bagging import assign_repeated_folds
from raymlx.tabular.ensembles.stacking import holdout_rows
from raymlx.tabular.label import prepare_label
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.preprocess import TablePreprocessor
from raymlx.tabular.problem import Problem
from raymlx.tabular.settings import FitSettings


@dataclass
class FitInputs:
    """The prepared table of one fit."""

    problem: Problem
    preprocessor: TablePreprocessor
    arrays: dict[str, np.ndarray]  # X, y, fold (and X_hold): what the trials read
    y_hold: np.ndarray | None  # labels of the held-out rows (dynamic stacking)
    latency_rows: pd.DataFrame | None = None  # raw rows infer_limit times predictions on


def prepare_inputs(settings: FitSettings, X: pd.DataFrame, y: pd.Series) -> FitInputs:
    """Checks the label, fits the preprocessor, encodes, and draws the folds."""
    X, y, problem_type, classes = prepare_label(X, y, settings.label, settings.problem_type)
    metric = get_metric(settings.metric, problem_type)
    if metric.name == "rmsle" and (y < 0).any():
        raise InputError(f"metric 'rmsle' needs a non-negative label; {settings.label!r} "
                         "has negative values")
    check_rows(len(X), settings.num_folds)
    pre = TablePreprocessor().fit(X)
    features = pre.transform(X)
    problem = Problem(problem_type, tuple(classes), features.shape[1], pre.categorical_,
                      label=settings.label, metric=metric.name)
    y_enc = problem.encode(y)
    rows = None
    if settings.infer_limit is not None:  # a batch of raw rows, kept to time predictions on
        n = settings.infer_limit_batch_size
        rows = X.sample(n, replace=n > len(X), random_state=settings.seed)
        rows = rows.reset_index(drop=True)
    del X, y  # the driver keeps the float32 features only (and those rows)
    held = (holdout_rows(y_enc, problem.is_classification, settings.seed)
            if settings.num_stack_levels and settings.dynamic_stacking else None)
    arrays: dict[str, np.ndarray] = {}
    y_hold = None
    if held is not None:  # every trial also predicts the held-out rows
        arrays["X_hold"], y_hold = features[held], y_enc[held]
        features, y_enc = features[~held], y_enc[~held]
    fold = assign_repeated_folds(y_enc, settings.num_folds, problem.is_classification,
                                 settings.seed, settings.num_bag_sets)
    arrays.update(X=features, y=y_enc, fold=fold[0] if settings.num_bag_sets == 1 else fold)
    return FitInputs(problem, pre, arrays, y_hold, rows)


def saved_inputs(saved: Any) -> FitInputs:
    """The inputs a fit folder holds; a folder written before the tabular product moved
    into ``raymlx/tabular/`` holds a dict with a ``task`` instead."""
    if not isinstance(saved, dict):  # FitInputs, or the large-data path's LargeInputs
        return saved
    pre = saved["preprocessor"]
    problem = saved["task"].with_features(saved["arrays"]["X"].shape[1], pre.categorical_)
    return FitInputs(problem, pre, saved["arrays"], saved["y_hold"])
