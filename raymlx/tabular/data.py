"""Tables in, numbers out: loading, validation, problem-type inference and preprocessing.

Everything a user can get wrong about a table is checked here, before Ray starts, and
reported as one :class:`~raymlx.errors.InputError` line. The :class:`TablePreprocessor`
learns on the training frame how to turn each column into float32 features (numeric,
boolean, categorical as frequency-ranked codes, datetime parts) and applies the same
mapping at predict time; unseen or missing categories become NaN, which every model
family handles.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.metrics import BINARY, MULTICLASS, PROBLEM_TYPES, REGRESSION

log = logging.getLogger("raymlx")

MAX_CATEGORIES = 1000  # categories rarer than the top 1000 are treated as missing
MULTICLASS_MAX_INT_CLASSES = 20


def load_table(data: pd.DataFrame | str | Path, what: str = "table") -> pd.DataFrame:
    """A DataFrame, or the CSV / TSV / Parquet file at a path, as a DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, (str, Path)):
        raise InputError(
            f"the {what} must be a pandas DataFrame or a path to a CSV or Parquet file, "
            f"not {type(data).__name__}"
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


def _is_integer_valued(s: pd.Series) -> bool:
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
    if _is_integer_valued(y) and n_unique <= MULTICLASS_MAX_INT_CLASSES:
        return MULTICLASS
    return REGRESSION


@dataclass
class Task:
    """What is being learnt: the label, the problem type, the metric and the classes."""

    label: str
    problem_type: str
    metric: str
    classes: list = field(default_factory=list)  # original labels, index = encoded class

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def is_classification(self) -> bool:
        return self.problem_type in (BINARY, MULTICLASS)

    def encode(self, y: pd.Series) -> np.ndarray:
        """Labels as the model sees them: class indices (int64) or float64 values."""
        if not self.is_classification:
            return y.to_numpy(dtype=np.float64)
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[v] for v in _label_values(y)], dtype=np.int64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[codes]


def _label_values(y: pd.Series) -> list:
    return [v.item() if isinstance(v, np.generic) else v for v in y.tolist()]


def prepare_label(df: pd.DataFrame, label: str, problem_type: str | None) -> tuple:
    """Checks the label column; returns (frame without unlabeled rows, y, problem type, classes)."""
    if label not in df.columns:
        cols = ", ".join(map(repr, list(df.columns)[:20]))
        raise InputError(f"label column {label!r} not found; the columns are: {cols}")
    if df.shape[1] < 2:
        raise InputError(f"the table has no feature columns besides the label {label!r}")
    y = df[label]
    missing = int(y.isna().sum())
    if missing == len(y):
        raise InputError(f"label column {label!r} has no values (all {missing} are missing)")
    if missing:
        log.info("dropped %d rows whose label %r is missing", missing, label)
        df = df.loc[y.notna()]
        y = df[label]
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise InputError(
            f"unknown problem_type {problem_type!r}; choose one of: {', '.join(PROBLEM_TYPES)}"
        )
    inferred = infer_problem_type(y)
    problem_type = problem_type or inferred
    n_unique = y.nunique()
    if problem_type == REGRESSION:
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise InputError(
                f"label {label!r} holds non-numeric values ({y.dtype}), so it cannot be "
                "a regression target; use problem_type='binary' or 'multiclass'"
            )
        if not np.all(np.isfinite(y.to_numpy(dtype=np.float64))):
            raise InputError(f"label {label!r} has infinite values; remove those rows")
        return df, y, problem_type, []
    if n_unique < 2:
        raise InputError(
            f"label {label!r} has a single value ({y.iloc[0]!r}); a classifier needs at "
            "least two classes"
        )
    if problem_type == BINARY and n_unique != 2:
        raise InputError(
            f"problem_type='binary' but label {label!r} has {n_unique} distinct values; "
            "use 'multiclass'"
        )
    values = _label_values(y)
    try:
        classes = sorted(set(values))
    except TypeError:  # mixed types, e.g. ints and strings
        values = [str(v) for v in values]
        df = df.assign(**{label: values})
        y = df[label]
        classes = sorted(set(values))
    return df, y, problem_type, classes


@dataclass
class _Column:
    name: str
    kind: str  # "numeric", "bool", "category", "datetime"
    categories: list | None = None
    parts: list | None = None


_DATE_PARTS = ("year", "month", "day", "day_of_week", "hour")


class TablePreprocessor:
    """Learns per-column feature mappings on the training frame and applies them at predict.

    ``transform`` returns a float32 matrix; ``feature_names_`` names its columns and
    ``categorical_`` maps the index of each categorical feature to its number of codes.
    """

    def __init__(self, max_categories: int = MAX_CATEGORIES) -> None:
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame) -> TablePreprocessor:
        self.columns_: list[_Column] = []
        self.input_columns_ = list(X.columns)
        self.dropped_: dict[str, str] = {}
        n = len(X)
        for name in X.columns:
            col = X[name]
            plan = self._plan(name, col, n)
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

    def _plan(self, name: str, col: pd.Series, n: int) -> _Column | str:
        non_null = col.dropna()
        if non_null.empty:
            return "all values are missing"
        if non_null.nunique() == 1 and col.isna().sum() == 0:
            return "it holds a single value"
        if pd.api.types.is_bool_dtype(col):
            return _Column(name, "bool")
        if pd.api.types.is_datetime64_any_dtype(col):
            return self._datetime_plan(name, pd.to_datetime(col))
        if pd.api.types.is_numeric_dtype(col):
            if n >= 50 and _is_row_index(col):
                return "it numbers the rows (an identifier)"
            return _Column(name, "numeric")
        # strings, pandas category, mixed objects
        as_text = non_null.astype(str)
        numeric = pd.to_numeric(as_text.str.strip(), errors="coerce")
        if numeric.notna().mean() >= 0.95 and not isinstance(col.dtype, pd.CategoricalDtype):
            return _Column(name, "numeric")
        if not isinstance(col.dtype, pd.CategoricalDtype):
            dates = _parse_dates(as_text.iloc[:500])
            if dates is not None and dates.notna().mean() >= 0.95:
                return self._datetime_plan(name, _parse_dates(col.astype("string")))
        if n >= 50 and as_text.nunique() == n:
            return "every row has its own value (an identifier)"
        counts = as_text.value_counts(sort=True)
        cats = counts.index[: self.max_categories].tolist()
        return _Column(name, "category", categories=cats)

    @staticmethod
    def _datetime_plan(name: str, parsed: pd.Series) -> _Column:
        parts = [p for p in _DATE_PARTS if p != "hour"]
        if parsed.dt.hour.fillna(0).any():
            parts.append("hour")
        return _Column(name, "datetime", parts=parts)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The float32 feature matrix for ``X`` (which must hold every training column).

        The matrix is allocated once and filled column by column, so the driver's transient
        memory is one column's conversion, not a float64 copy of the whole table."""
        missing = [c.name for c in self.columns_ if c.name not in X.columns]
        if missing:
            raise InputError(f"the data lacks columns the model was trained on: {missing}")
        widths = [len(c.parts) + 1 if c.kind == "datetime" else 1 for c in self.columns_]
        out = np.empty((len(X), sum(widths)), dtype=np.float32)
        pos = 0
        for c, width in zip(self.columns_, widths):
            col = X[c.name]
            if c.kind == "numeric":
                if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                    v = col.to_numpy(dtype=np.float64, na_value=np.nan)
                else:
                    v = pd.to_numeric(col.astype("string").str.strip(), errors="coerce")
                    v = v.to_numpy(dtype=np.float64, na_value=np.nan)
                if np.isinf(v).any():
                    raise InputError(f"column {c.name!r} has infinite values")
                block = v
            elif c.kind == "bool":
                v = col.map({True: 1.0, False: 0.0, "True": 1.0, "False": 0.0})
                block = pd.to_numeric(v, errors="coerce").to_numpy(np.float64)
            elif c.kind == "category":
                # codes rank categories by training frequency; unseen, rare (beyond the top
                # max_categories) and missing values are all NaN, which models treat as missing
                # (matched as pandas strings: no Python object per row, which the driver's
                # allocator would keep after a million-row table)
                codes = pd.Index(list(c.categories), dtype="string").get_indexer(
                    col.astype("string")).astype(np.float64)
                codes[codes < 0] = np.nan
                block = codes
            else:
                d = _parse_dates(col.astype("string")) if not pd.api.types.is_datetime64_any_dtype(
                    col) else pd.to_datetime(col)
                parts = [getattr(d.dt, p).astype("float64").to_numpy() for p in c.parts]
                days = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
                parts.append(days.astype("float64").to_numpy())
                block = np.column_stack(parts)
            out[:, pos:pos + width] = block.reshape(len(X), width)
            pos += width
        return out


def _is_row_index(col: pd.Series) -> bool:
    if not _is_integer_valued(col) or col.isna().any():
        return False
    v = np.sort(col.to_numpy(dtype=np.float64))
    return bool(len(v) > 1 and np.all(np.diff(v) == 1))


def _parse_dates(text: pd.Series) -> pd.Series | None:
    """Dates parsed from strings, or None when they do not look like dates."""
    sample = text.dropna()
    if sample.empty or sample.str.fullmatch(r"[-+]?\d+(\.\d+)?").all():
        return None
    try:
        return pd.to_datetime(text, errors="coerce", format="mixed")
    except (ValueError, TypeError, OverflowError):
        return None
