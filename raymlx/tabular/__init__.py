"""The tabular product: ``AutoML`` and what it is made of.

``automl`` (the facade), ``data`` (tables in, checks, labels), ``metrics``, ``models`` (one
module per family), ``ensembles`` (bagging, stacking, ensemble selection), ``engine`` (the
search as Ray Tune experiments), ``predictor``, ``persistence``, ``explain`` and ``cli``.
Names are imported on first use, so loading a predictor does not import Ray Tune.
"""

from __future__ import annotations

__all__ = ["AutoML"]


def __getattr__(name: str):
    if name == "AutoML":
        from raymlx.tabular.automl import AutoML

        return AutoML
    raise AttributeError(f"module 'raymlx.tabular' has no attribute {name!r}")
