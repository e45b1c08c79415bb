"""Where a predictor errs, and how alike its models are: residuals (regression), the
confusion matrix (classification), and the correlation of the models' predictions.

``model_correlation`` follows H2O's model-correlation heatmap: models that make the same
predictions add little to an ensemble. It reads each bagged model's out-of-fold
predictions from the fit's folder (every training row, predicted by the fold model that
did not see it) when the folder is still there, else the predictions on the labelled data
given; ``source`` says which. For classification it correlates the probability of the
positive class (two classes) or every class's probability, flattened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

MAX_MODELS = 12  # the heatmap stays readable up to about a dozen models


def residuals(y: np.ndarray, prediction: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """label, prediction and residual (label minus prediction) per row."""
    return pd.DataFrame({"label": y, "prediction": prediction,
                         "residual": y - prediction}, index=index)


def confusion(y: np.ndarray, predicted: np.ndarray, classes: list) -> pd.DataFrame:
    """Rows: the true class; columns: the predicted class; cells: row counts."""
    counts = confusion_matrix(y, predicted, labels=list(range(len(classes))))
    return pd.DataFrame(counts, index=pd.Index(classes, name="true"),
                        columns=pd.Index(classes, name="predicted"))


def _flat(pred: np.ndarray) -> np.ndarray:
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim == 2 and pred.shape[1] == 2:
        return pred[:, 1]
    return pred.reshape(-1)


def _out_of_fold(aml: Any, names: list[str]) -> dict[str, np.ndarray] | None:
    """Each model's out-of-fold predictions from the fit folder, or None if any is gone."""
    folder = getattr(aml, "experiment_path_", None)
    if folder is None or not Path(folder).is_dir():
        return None  # a predictor whose fit folder is gone reads nothing (and imports no Ray)
    from raymlx.tabular.engine.ledger import trial_checkpoints
    from raymlx.tabular.engine.trial import OOF_FILE

    where = trial_checkpoints(Path(folder))
    out = {}
    for name in names:
        path = where.get(aml.models_.records[name].trial_id or "")
        if path is None or not (path / OOF_FILE).is_file():
            return None
        out[name] = np.load(path / OOF_FILE)
    return out


def correlation_models(aml: Any) -> list[str]:
    """The bagged models of layer 1 that predict, best first, at most :data:`MAX_MODELS`."""
    models = aml.models_
    ranked = models.metric.best_first([r for r in models.usable()
                                       if not r.weights and not r.inputs])
    return [r.name for r in ranked[:MAX_MODELS]]


def model_correlation(aml: Any, X: np.ndarray) -> tuple[pd.DataFrame, str]:
    """``(models x models Pearson correlation, source)``; source is "out-of-fold" or
    "explanation data"."""
    names = correlation_models(aml)
    preds = _out_of_fold(aml, names)
    source = "out-of-fold"
    if preds is None or len({len(p) for p in preds.values()}) > 1:
        cache: dict = {}
        preds = {n: aml.models_.predict(X, n, cache) for n in names}
        source = "explanation data"
    matrix = np.corrcoef(np.stack([_flat(preds[n]) for n in names])) if len(names) > 1 \
        else np.ones((1, 1))
    return pd.DataFrame(matrix, index=names, columns=names), source


__all__ = ["confusion", "correlation_models", "model_correlation", "residuals"]
