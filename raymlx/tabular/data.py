"""Tables in: loading, validation, splitting off the label column.

Everything a user can get wrong about a table is checked here, before Ray starts, and
reported as one :class:`~raymlx.errors.InputError` line. Turning the columns into features
is :mod:`raymlx.tabular.preprocess`'s; the label's checks and the problem type are
:mod:`raymlx.tabular.label`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.row_path import SMALL_FRAME, infinite_counts
from raymlx.tabular.sources import csv_separator, first_line, is_many, load_many

if TYPE_CHECKING:
    from raymlx.tabular.problem import Problem


def load_table(data: Any, what: str = "table") -> pd.DataFrame:
    """A DataFrame; the CSV / TSV / Parquet file at a path; or a folder, glob, list of
    paths or ``ray.data.Dataset`` (:mod:`raymlx.tabular.sources`), as one DataFrame.
    Column names are text from here on: a frame with other names (``0``, ``1.5``) comes
    back as a relabelled view, the same for the fit and for prediction."""
    if isinstance(data, pd.DataFrame):
        if all(isinstance(c, str) for c in data.columns):
            return data
        return data.set_axis([str(c) for c in data.columns], axis=1)
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
        return pd.read_csv(path, sep=csv_separator(str(path)))
    except Exception as exc:
        raise InputError(f"could not read the {what} file {str(path)!r}: "
                         f"{first_line(exc)}") from None


def check_frame(df: pd.DataFrame, what: str = "table") -> None:
    """Shape checks every frame passes: not empty, unique column names, no infinities."""
    if len(df.columns) == 0 or len(df) == 0:
        raise InputError(f"the {what} is empty ({len(df)} rows, {len(df.columns)} columns)")
    if not df.columns.is_unique:
        dup = df.columns[df.columns.duplicated()].unique().tolist()
        raise InputError(f"the {what} has duplicate column names: {dup}; rename them")
    if len(df) <= SMALL_FRAME:  # a few rows (a served request): one pass over the values
        floats = [i for i, d in enumerate(df.dtypes.tolist()) if d.kind in "fc"]
        counts = infinite_counts(df, floats) if floats else np.zeros(0)
        for i, n in zip(floats, counts):
            if n:
                raise infinite_values(str(df.columns[i]), int(n), what)
        return
    num = df.select_dtypes(include=[np.number])
    if num.shape[1]:
        counts = np.isinf(num.to_numpy(dtype=np.float64, na_value=np.nan)).sum(axis=0)
        bad = [(c, int(n)) for c, n in zip(num.columns, counts) if n]
        if bad:
            raise infinite_values(*bad[0], what)


def infinite_values(col: str, n: int, what: str) -> InputError:
    """The error for ``n`` infinite values in column ``col``."""
    return InputError(f"column {col!r} of the {what} has {n} infinite values; "
                      "replace them with NaN or finite numbers")


def is_integer_valued(s: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    v = s.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))


def split_label(df: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.Series]:
    """The feature columns and the label column of a training table."""
    if label not in df.columns:
        cols = ", ".join(map(repr, list(df.columns)[:20]))
        raise InputError(f"label column {label!r} not found; the columns are: {cols}")
    if df.shape[1] < 2:
        raise InputError(f"the table has no feature columns besides the label {label!r}")
    return df.drop(columns=[label]), df[label]


def check_rows(n_rows: int, num_folds: int) -> None:
    """Enough labelled rows for k-fold bagging."""
    if n_rows < 2 * num_folds:
        raise InputError(f"the training table has {n_rows} labelled "
                         f"row{'' if n_rows == 1 else 's'} (n_samples = {n_rows}); "
                         f"{num_folds}-fold bagging needs at least {2 * num_folds}")


def labelled_rows(df: pd.DataFrame, problem: Problem,
                  what: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rows of ``df`` that have a label, which rows those are, and their encoded
    labels; one-line errors for a missing label column and for unseen classes."""
    label = problem.label
    if label not in df.columns:
        raise InputError(f"the {what} has no label column {label!r}")
    keep = df[label].notna().to_numpy()
    df = df.loc[keep]
    y = df[label]
    if problem.is_classification:
        classes = problem.classes
        unseen = sorted(set(map(str, y.unique())) - set(map(str, classes)))
        if unseen:
            raise InputError(f"the {what} has labels never seen in training: {unseen[:10]}")
        if not set(y.unique()) <= set(classes):  # same text, other type
            y = y.astype(str).map({str(c): c for c in classes})
    return df, keep, problem.encode(y)
