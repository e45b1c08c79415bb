"""Explanations of a fitted predictor: :func:`explain_predictor` (``AutoML.explain``) and
:func:`explain_row` (``AutoML.explain_row``); the kinds are in :mod:`.explanation`."""

from raymlx.tabular.explain.explanation import (
    KINDS,
    Explanation,
    RowExplanation,
    explain_predictor,
    explain_row,
)
from raymlx.tabular.explain.importance import permutation_importances

__all__ = ["KINDS", "Explanation", "RowExplanation", "explain_predictor", "explain_row",
           "permutation_importances"]
