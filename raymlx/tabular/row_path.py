"""The row path: a few rows (a served request, a one-row ``predict``) turned into features
without pandas' per-column cost.

Under pandas 3 each ``frame[column]`` costs about ten microseconds and matching a column
against its categories as pandas strings about a hundred, whatever the number of rows, so
for one row they were most of a prediction. :class:`RowValues` reads the whole frame once
as an object array and serves, per planned column, numeric values as floats and category
codes by dictionary lookup. A column it cannot serve exactly as the pandas route would (a
nullable or text-typed numeric column, a category value that is neither text nor missing,
booleans, dates) answers None and goes through pandas. Written here because pandas has no
row-wise fast path; a test holds both routes equal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError

SMALL_FRAME = 64  # frames of at most this many rows take the row path


class RowValues:
    """A small frame's values, read once, and the row path's block for each column."""

    def __init__(self, X: pd.DataFrame, preprocessor: Any) -> None:
        self.values = X.to_numpy(dtype=object)
        self.where = {name: i for i, name in enumerate(X.columns.tolist())}
        self.dtypes = X.dtypes.tolist()
        # the category lookups live on the preprocessor, built on first use (pickles made
        # before the row path existed lack them)
        self.lookups = preprocessor.__dict__.setdefault("_code_lookups", {})

    def block(self, column: Any) -> np.ndarray | None:
        """The features of one planned column, or None for the pandas route."""
        i = self.where[column.name]
        dtype, cells = self.dtypes[i], self.values[:, i]
        if column.kind == "numeric" and isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            return _finite(column, np.asarray(cells, dtype=np.float64))
        if column.kind == "numeric" and dtype == np.dtype(object) \
                and all(map(_plain_number, cells)):
            # Python numbers in an object column (a served request): what pandas' route
            # would give (their text parses back to the same float)
            return _finite(column, np.asarray(cells, dtype=np.float64))
        if column.kind == "category":
            return self._codes(column, cells)
        return None

    def _codes(self, column: Any, cells: np.ndarray) -> np.ndarray | None:
        lookup = self.lookups.get(column.name)
        if lookup is None:
            lookup = self.lookups[column.name] = {
                str(v): float(i) for i, v in enumerate(column.categories)}
        out = np.empty(len(cells), dtype=np.float64)
        for i, v in enumerate(cells):
            if isinstance(v, str):
                out[i] = lookup.get(v, np.nan)
            elif v is None or v is pd.NA or (isinstance(v, float) and v != v):
                out[i] = np.nan
            else:  # a number or other object in a text column: pandas matches it as text
                return None
        return out


def _plain_number(v: Any) -> bool:
    """A float, an int that a float holds exactly, or a missing value."""
    t = type(v)
    return t is float or v is None or (t is int and abs(v) < 2**53)


def _finite(column: Any, v: np.ndarray) -> np.ndarray:
    if np.isinf(v).any():
        raise InputError(f"column {column.name!r} has infinite values")
    return v


def infinite_counts(df: pd.DataFrame, columns: list[int]) -> np.ndarray:
    """The infinities in each of the (floating) ``columns`` of a small frame, read as one
    block (NumPy-backed columns) or column by column (``pd.NA`` in a nullable one)."""
    block = df.iloc[:, columns] if len(columns) < df.shape[1] else df
    try:
        v = np.asarray(block.to_numpy(dtype=object), dtype=np.float64)
    except (TypeError, ValueError):
        v = block.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.isinf(v).sum(axis=0)
