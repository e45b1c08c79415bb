"""The tabular product: ``AutoML``, its scikit-learn estimators, and what they are made of.

``automl`` (the facade), ``sklearn`` (``AutoMLClassifier``, ``AutoMLRegressor``),
``settings`` (the arguments' constraints and presets), ``problem`` (one ``Problem`` type),
``data`` and ``preprocess`` (tables in, checks, features), ``metrics``, ``models`` (one
module per family, the ``ModelFamily`` extension point and its registry), ``ensembles``
(bagging, stacking, ensemble selection), ``engine`` (the search as Ray Tune experiments),
``predictor``, ``persistence``, ``explain`` and ``cli``. Names are imported on first use,
so loading a predictor does not import Ray Tune.
"""

from __future__ import annotations

from typing import Any

_WHERE = {
    "AutoML": "raymlx.tabular.automl",
    "AutoMLClassifier": "raymlx.tabular.sklearn",
    "AutoMLRegressor": "raymlx.tabular.sklearn",
    "ModelFamily": "raymlx.tabular.models.base",
    "FoldEstimator": "raymlx.tabular.models.base",
    "register_family": "raymlx.tabular.models",
    "Problem": "raymlx.tabular.problem",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'raymlx.tabular' has no attribute {name!r}")
