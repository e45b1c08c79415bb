"""Bagging, out-of-fold predictions and ensemble selection."""

from raymlx.tabular.ensembles.bagging import (
    Bag,
    OutOfTime,
    assign_folds,
    assign_repeated_folds,
    fit_bag,
    predict_bag,
)
from raymlx.tabular.ensembles.selection import Selection, greedy_ensemble_selection

__all__ = ["Bag", "OutOfTime", "Selection", "assign_folds", "assign_repeated_folds", "fit_bag",
           "greedy_ensemble_selection", "predict_bag"]
