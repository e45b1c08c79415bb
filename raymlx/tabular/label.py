"""The label column: its checks and the problem type, from facts that merge block by block.

:class:`LabelFacts` are what the checks read about a label: missing values, the dtype's
kind, whether every value is a finite integer, and the count of each distinct value
(capped at :data:`~raymlx.tabular.column_summary.MAX_TRACKED`). The in-memory path takes
them from the whole column; a Ray Dataset's come from its blocks, merged
(:mod:`raymlx.tabular.streaming_prep`). :func:`decide_problem` turns them into the
problem type and classes, or the same one-line error either way.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.column_summary import MAX_TRACKED, capped
from raymlx.tabular.data import is_integer_valued
from raymlx.tabular.problem import BINARY, MULTICLASS, PROBLEM_TYPES, REGRESSION, label_values

log = logging.getLogger("raymlx")

MULTICLASS_MAX_INT_CLASSES = 20


@dataclass
class LabelFacts:
    rows: int = 0
    missing: int = 0
    is_bool: bool = True  # the dtype of every block
    is_numeric: bool = True
    integral: bool = True  # every present value a finite integer
    finite: bool = True  # numeric labels: no infinity
    counts: Counter = field(default_factory=Counter)  # present values as Python values
    overflow: bool = False
    dtype: str = ""  # the first block's, for the messages

    @classmethod
    def of(cls, y: pd.Series) -> LabelFacts:
        present = y.dropna()
        numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
        v = present.to_numpy(dtype=np.float64) if numeric else None
        counts = Counter(label_values(present))
        facts = cls(len(y), len(y) - len(present), pd.api.types.is_bool_dtype(y),
                    pd.api.types.is_numeric_dtype(y), is_integer_valued(present),
                    v is None or bool(np.all(np.isfinite(v))), counts, dtype=str(y.dtype))
        return facts._capped()

    def merge(self, other: LabelFacts) -> LabelFacts:
        if other.rows == 0:
            return self
        if self.rows == 0:
            return other
        return LabelFacts(self.rows + other.rows, self.missing + other.missing,
                          self.is_bool and other.is_bool, self.is_numeric and other.is_numeric,
                          self.integral and other.integral, self.finite and other.finite,
                          self.counts + other.counts, self.overflow or other.overflow,
                          self.dtype)._capped()

    def _capped(self) -> LabelFacts:
        self.counts, self.overflow = capped(self.counts, self.overflow)
        return self

    @property
    def n_unique(self) -> int:
        """Distinct present values (a lower bound once ``overflow``)."""
        return len(self.counts) + int(self.overflow)


def infer_problem_type(facts: LabelFacts) -> str:
    """binary for two distinct values, multiclass for labels or few integer values, else
    regression (real values, or integers with more than 20 distinct values)."""
    if facts.n_unique == 2:
        return BINARY
    if facts.is_bool or not facts.is_numeric:
        return MULTICLASS
    if facts.integral and facts.n_unique <= MULTICLASS_MAX_INT_CLASSES:
        return MULTICLASS
    return REGRESSION


def decide_problem(facts: LabelFacts, label: str,
                   problem_type: str | None) -> tuple[str, list, bool]:
    """(problem type, sorted classes, whether the labels must be read as text because
    their types do not sort together); the first failed check raises one line."""
    if facts.missing == facts.rows:
        raise InputError(f"label column {label!r} has no values (all {facts.missing} are "
                         "missing)")
    if facts.missing:
        log.info("dropped %d rows whose label %r is missing", facts.missing, label)
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise InputError(
            f"unknown problem_type {problem_type!r}; choose one of: {', '.join(PROBLEM_TYPES)}"
        )
    problem_type = problem_type or infer_problem_type(facts)
    if problem_type == REGRESSION:
        if not facts.is_numeric or facts.is_bool:
            raise InputError(
                f"label {label!r} holds non-numeric values ({facts.dtype}), so it cannot be "
                "a regression target; use problem_type='binary' or 'multiclass'"
            )
        if not facts.finite:
            raise InputError(f"label {label!r} has infinite values; remove those rows")
        return problem_type, [], False
    if facts.overflow:
        raise InputError(f"label {label!r} has more than {MAX_TRACKED} distinct values, too "
                         f"many for {problem_type} classification; use 'regression'")
    if facts.n_unique < 2:
        raise InputError(
            f"label {label!r} has one class ({next(iter(facts.counts))!r}); a classifier "
            "needs at least two classes"
        )
    if problem_type == BINARY and facts.n_unique != 2:
        raise InputError(
            f"problem_type='binary' but label {label!r} has {facts.n_unique} distinct values; "
            "use 'multiclass'"
        )
    try:
        return problem_type, sorted(facts.counts), False
    except TypeError:  # mixed types, e.g. ints and strings
        return problem_type, sorted({str(v) for v in facts.counts}), True


def prepare_label(X: pd.DataFrame, y: pd.Series, label: str,
                  problem_type: str | None) -> tuple[pd.DataFrame, pd.Series, str, list]:
    """Checks the label; returns (features and label without the unlabelled rows, problem
    type, classes)."""
    problem_type, classes, as_text = decide_problem(LabelFacts.of(y), label, problem_type)
    if y.isna().any():
        keep = y.notna().to_numpy()
        X, y = X.loc[keep], y.loc[keep]
    if as_text:
        y = pd.Series([str(v) for v in label_values(y)], index=y.index, name=y.name)
    return X, y, problem_type, classes
