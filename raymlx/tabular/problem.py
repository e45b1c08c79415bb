"""What is being learnt, described once: :class:`Problem`.

The fit, every trial, every fold estimator and the predictor read the same frozen value:
the problem type, the classes (original labels, in the order of the encoded class
indices), the label and metric names, and the shape of the prepared feature matrix (its
width and which columns hold categorical codes). A stacking layer widens the matrix with
:meth:`Problem.with_features`.

Predictors saved before this type existed pickled two types in its place
(``raymlx.data.Task`` and ``raymlx.models.base.Problem``); :meth:`Problem.__setstate__`
reads both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)


@dataclass(frozen=True)
class Problem:
    """The learning problem and the feature matrix the models see.

    Args:
        problem_type: "binary", "multiclass" or "regression".
        classes: the original labels; the model sees class ``i`` for ``classes[i]``
            (empty for regression).
        n_features: columns of the prepared float32 feature matrix.
        categorical: ``{column index: number of codes}`` for the columns that hold
            categorical codes (NaN for missing).
        label: the label column's name.
        metric: the name of the metric the fit optimises.
    """

    problem_type: str
    classes: tuple = ()
    n_features: int = 0
    categorical: Mapping[int, int] = field(default_factory=dict)
    label: str | None = None
    metric: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes or ()))
        object.__setattr__(self, "categorical", dict(self.categorical or {}))

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def is_classification(self) -> bool:
        return self.problem_type in (BINARY, MULTICLASS)

    def with_features(self, n_features: int,
                      categorical: Mapping[int, int] | None = None) -> Problem:
        """The same problem over a feature matrix of another width."""
        return replace(self, n_features=n_features,
                       categorical=self.categorical if categorical is None else categorical)

    def encode(self, y: pd.Series | Sequence) -> np.ndarray:
        """Labels as the model sees them: class indices (int64) or float64 values."""
        if not self.is_classification:
            return np.asarray(y, dtype=np.float64)
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[v] for v in label_values(y)], dtype=np.int64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Class indices back to the original labels."""
        return np.asarray(self.classes, dtype=object)[codes]

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickles this type and the two it replaced (format 1 of the saved predictor):
        a fold estimator's ``Problem(problem_type, n_classes, n_features, categorical)``
        and the predictor's ``Task(label, problem_type, metric, classes)``."""
        state = dict(state)
        if "classes" not in state and "n_classes" in state:  # an old fold estimator's
            state["classes"] = tuple(range(int(state.pop("n_classes"))))
        state.pop("n_classes", None)
        for f in fields(self):  # a field the old type lacked takes its default
            value = state.get(f.name, None if f.default is MISSING else f.default)
            object.__setattr__(self, f.name, value)
        self.__post_init__()


def label_values(y: pd.Series | Sequence) -> list:
    """The labels as plain Python values (numpy scalars unwrapped)."""
    values = y.tolist() if hasattr(y, "tolist") else list(y)
    return [v.item() if isinstance(v, np.generic) else v for v in values]
