"""Tables in: loading, validation, the label and the problem type.

Everything a user can get wrong about a table is checked here, before Ray starts, and
reported as one :class:`~raymlx.errors.InputError` line. Turning the columns into features
is :mod:`raymlx.tabular.preprocess`'s.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.problem import (
    BINARY,
    MULTICLASS,
    PROBLEM_TYPES,
    REGRESSION,
    label_values,
)
from raymlx.tabular.sources import is_many, load_many

log = logging.getLogger("raymlx")

MULTICLASS_MAX_INT_CLASSES = 20


def load_table(data: Any, what: str = "table") -> pd.DataFrame:
    """A DataFrame; the CSV / TSV / Parquet file at a path; or a folder, glob, list of
    paths or ``ray.data.Dataset`` (:mod:`raymlx.tabular.sources`), as one DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if is_many(data):
        return load_many(data, what)
    if not isinstance(data, (str, Path)):
        raise InputError(
            f"the {what} must be a pandas DataFrame, a ray.data.Dataset, or a path, folder, "
            f"glob or list of paths of CSV or Parquet files, not {type(data).__name__}"
        )
    path = Path(data).expanduser()
    if not path.is_file():
        raise InputError(f"the {what} file {str(path)!r} does not exist or is not a file")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            head = fh.read(64 * 1024)
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            sep = "\t" if suffix.endswith(".tsv") else ","
        return pd.read_csv(path, sep=sep)
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not read the {what} file {str(path)!r}: {first}") from None


def check_frame(df: pd.DataFrame, what: str = "table") -> None:
    """Shape checks every frame passes: not empty, unique column names, no infinities."""
    if len(df.columns) == 0 or len(df) == 0:
        raise InputError(f"the {what} is empty ({len(df)} rows, {len(df.columns)} columns)")
    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"the {what} has duplicate column names: {dup}; rename them")
    num = df.select_dtypes(include=[np.number])
    if num.shape[1]:
        counts = np.isinf(num.to_numpy(dtype=np.float64, na_value=np.nan)).sum(axis=0)
        bad = [(c, int(n)) for c, n in zip(num.columns, counts) if n]
        if bad:
            col, n = bad[0]
            raise InputError(
                f"column {col!r} of the {what} has {n} infinite values; "
                "replace them with NaN or finite numbers"
            )


def is_integer_valued(s: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    v = s.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))


def infer_problem_type(y: pd.Series) -> str:
    """binary for two distinct values, multiclass for labels or few integer values, else
    regression (real values, or integers with more than 20 distinct values)."""
    n_unique = y.nunique()
    if n_unique == 2:
        return BINARY
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return MULTICLASS
    if is_integer_valued(y) and n_unique <= MULTICLASS_MAX_INT_CLASSES:
        return MULTICLASS
    return REGRESSION


def split_label(df: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.Series]:
    """The feature columns and the label column of a training table."""
    if label not in df.columns:
        cols = ", ".join(map(repr, list(df.columns)[:20]))
        raise InputError(f"label column {label!r} not found; the columns are: {cols}")
    if df.shape[1] < 2:
        raise InputError(f"the table has no feature columns besides the label {label!r}")
    return df.drop(columns=[label]), df[label]


def prepare_label(X: pd.DataFrame, y: pd.Series, label: str,
                  problem_type: str | None) -> tuple[pd.DataFrame, pd.Series, str, list]:
    """Checks the label; returns (features and label without the unlabelled rows, problem
    type, classes)."""
    missing = int(y.isna().sum())
    if missing == len(y):
        raise InputError(f"label column {label!r} has no values (all {missing} are missing)")
    if missing:
        log.info("dropped %d rows whose label %r is missing", missing, label)
        keep = y.notna().to_numpy()
        X, y = X.loc[keep], y.loc[keep]
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise InputError(
            f"unknown problem_type {problem_type!r}; choose one of: {', '.join(PROBLEM_TYPES)}"
        )
    problem_type = problem_type or infer_problem_type(y)
    n_unique = y.nunique()
    if problem_type == REGRESSION:
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise InputError(
                f"label {label!r} holds non-numeric values ({y.dtype}), so it cannot be "
                "a regression target; use problem_type='binary' or 'multiclass'"
            )
        if not np.all(np.isfinite(y.to_numpy(dtype=np.float64))):
            raise InputError(f"label {label!r} has infinite values; remove those rows")
        return X, y, problem_type, []
    if n_unique < 2:
        raise InputError(
            f"label {label!r} has one class ({label_values(y.iloc[:1])[0]!r}); a classifier "
            "needs at least two classes"
        )
    if problem_type == BINARY and n_unique != 2:
        raise InputError(
            f"problem_type='binary' but label {label!r} has {n_unique} distinct values; "
            "use 'multiclass'"
        )
    values = label_values(y)
    try:
        classes = sorted(set(values))
    except TypeError:  # mixed types, e.g. ints and strings
        values = [str(v) for v in values]
        y = pd.Series(values, index=y.index, name=y.name)
        classes = sorted(set(values))
    return X, y, problem_type, classes


def check_rows(n_rows: int, num_folds: int) -> None:
    """Enough labelled rows for k-fold bagging."""
    if n_rows < 2 * num_folds:
        raise InputError(f"the training table has {n_rows} labelled "
                         f"row{'' if n_rows == 1 else 's'} (n_samples = {n_rows}); "
                         f"{num_folds}-fold bagging needs at least {2 * num_folds}")
