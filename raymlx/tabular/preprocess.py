"""Turning a table's columns into features: :class:`TablePreprocessor`.

It learns on the training frame how to turn each column into float32 features (numeric,
numbers stored as text, boolean, categorical as frequency-ranked codes, datetime parts),
drops what cannot help (empty and constant columns, row numbers, identifiers), and applies
the same mapping at predict time; unseen or missing categories become NaN, which every
model family handles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.column_summary import ColumnSummary, parse_dates, summarise_frame
from raymlx.tabular.row_path import SMALL_FRAME, RowValues

log = logging.getLogger("raymlx")

MAX_CATEGORIES = 1000  # categories rarer than the top 1000 are treated as missing


@dataclass
class _Column:
    name: str
    kind: str  # "numeric", "bool", "category", "datetime"
    categories: list = field(default_factory=list)  # a category's, most frequent first
    parts: list = field(default_factory=list)  # a datetime's: year, month, ...
    span: tuple = ()  # a numeric column's (lowest, highest) training value (explain_row)


_DATE_PARTS = ("year", "month", "day", "day_of_week", "hour")


class TablePreprocessor:
    """Learns per-column feature mappings on the training frame and applies them at predict.

    ``transform`` returns a float32 matrix; ``feature_names_`` names its columns and
    ``categorical_`` maps the index of each categorical feature to its number of codes.
    """

    def __init__(self, max_categories: int = MAX_CATEGORIES) -> None:
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame) -> TablePreprocessor:
        return self.fit_summaries(summarise_frame(X), [str(c) for c in X.columns])

    def fit_summaries(self, summaries: dict[str, ColumnSummary],
                      columns: list[str]) -> TablePreprocessor:
        """Plans every column from its summary (:mod:`raymlx.tabular.column_summary`): the
        whole frame's in memory, the merged blocks' for a Ray Dataset."""
        self.columns_: list[_Column] = []
        self.input_columns_ = list(columns)
        self.dropped_: dict[str, str] = {}
        for name in columns:
            plan = self._plan(summaries[name])
            if isinstance(plan, str):
                self.dropped_[name] = plan
                log.info("dropped column %r: %s", name, plan)
            else:
                self.columns_.append(plan)
        if not self.columns_:
            raise InputError(
                "no usable feature columns remain after dropping: "
                + "; ".join(f"{k} ({v})" for k, v in self.dropped_.items())
            )
        self.feature_names_: list[str] = []
        self.categorical_: dict[int, int] = {}
        for c in self.columns_:
            if c.kind == "datetime":
                self.feature_names_ += [f"{c.name}.{p}" for p in c.parts] + [f"{c.name}.days"]
            else:
                if c.kind == "category":
                    self.categorical_[len(self.feature_names_)] = len(c.categories)
                self.feature_names_.append(c.name)
        return self

    def _plan(self, s: ColumnSummary) -> _Column | str:
        """A column's mapping, or why it is dropped."""
        if s.non_null == 0:
            return "all values are missing"
        if s.is_constant():
            return "it holds a single value"
        if s.kind == "bool":
            return _Column(s.name, "bool")
        if s.kind == "datetime":
            return self._datetime_plan(s)
        if s.kind == "numeric":
            if s.rows >= 50 and s.is_row_number():
                return "it numbers the rows (an identifier)"
            finite = np.isfinite(s.low) and np.isfinite(s.high)
            return _Column(s.name, "numeric", span=(float(s.low), float(s.high)) if finite
                           else ())
        # text, pandas category, mixed objects
        if s.kind == "text":
            if s.numeric_like / s.non_null >= 0.95:
                return _Column(s.name, "numeric")
            if s.date_tried and s.date_parsed / s.date_tried >= 0.95:
                return self._datetime_plan(s)
        if s.rows >= 50 and s.is_identifier():
            return "every row has its own value (an identifier)"
        cats = [v for v, _ in s.counts.most_common(self.max_categories)]
        return _Column(s.name, "category", categories=cats)

    @staticmethod
    def _datetime_plan(s: ColumnSummary) -> _Column:
        parts = [p for p in _DATE_PARTS if p != "hour"]
        if s.has_hour:
            parts.append("hour")
        return _Column(s.name, "datetime", parts=parts)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The float32 feature matrix for ``X`` (which must hold every training column).

        The matrix is allocated once and filled column by column, so the driver's transient
        memory is one column's conversion, not a float64 copy of the whole table. A frame of
        at most :data:`SMALL_FRAME` rows (a served request) takes the row path of
        :mod:`raymlx.tabular.row_path` for the columns it can, with the same result."""
        missing = [c.name for c in self.columns_ if c.name not in X.columns]
        if missing:
            raise InputError(f"the data lacks columns the model was trained on: {missing}")
        widths = [len(c.parts) + 1 if c.kind == "datetime" else 1 for c in self.columns_]
        out = np.empty((len(X), sum(widths)), dtype=np.float32)
        rows = RowValues(X, self) if len(X) <= SMALL_FRAME else None
        pos = 0
        for c, width in zip(self.columns_, widths):
            block = rows.block(c) if rows is not None else None
            if block is None:
                block = self._column_block(c, X[c.name])
            out[:, pos:pos + width] = block.reshape(len(X), width)
            pos += width
        return out

    @staticmethod
    def _column_block(c: _Column, col: pd.Series) -> np.ndarray:
        """One column's features, through pandas."""
        if c.kind == "numeric":
            if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iuf":
                v = col.to_numpy(dtype=np.float64)  # NumPy-backed: no NA to look for
            elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                v = col.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                v = pd.to_numeric(col.astype("string").str.strip(), errors="coerce")
                v = v.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(v).any():
                raise InputError(f"column {c.name!r} has infinite values")
            return v
        if c.kind == "bool":
            v = col.map({True: 1.0, False: 0.0, "True": 1.0, "False": 0.0})
            return pd.to_numeric(v, errors="coerce").to_numpy(np.float64)
        if c.kind == "category":
            # codes rank categories by training frequency; unseen, rare (beyond the top
            # max_categories) and missing values are all NaN, which models treat as missing
            # (matched as pandas strings: no Python object per row, which the driver's
            # allocator would keep after a million-row table)
            codes = pd.Index(list(c.categories), dtype="string").get_indexer(
                col.astype("string")).astype(np.float64)
            codes[codes < 0] = np.nan
            return codes
        d = parse_dates(col.astype("string")) if not pd.api.types.is_datetime64_any_dtype(
            col) else pd.to_datetime(col)
        if d is None:  # no value here looks like a date: all missing
            d = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
        parts = [getattr(d.dt, p).astype("float64").to_numpy() for p in c.parts]
        days = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
        parts.append(days.astype("float64").to_numpy())
        return np.column_stack(parts)
