"""Hostile tables for property-based tests of raymlx's input handling (hypothesis).

:func:`tables` draws a training table and a prediction table that drifts from it, with
the kinds of input that break data pipelines: numbers stored as text, NaN, infinities and
empty strings, several types in one column, unicode, duplicate, empty and non-string
column names, very many or a single distinct value, columns with no value at all, one to
a few rows, and labels with a rare class, a single class or missing values. Each drawn
example lists the kinds it holds, so a run can report which kinds each outcome covered
(``tests/tabular/test_fuzz_inputs.py``, ``benchmarks/fuzz_inputs.py``).

:func:`prepare_only` runs ``AutoML.fit`` on a drawn table up to the point where it would
start Ray (settings, routing, loading, checks, label, preprocessing) and returns what
predicting needs; the property the tests hold is that this, and preparing the drifted
prediction table, either works or raises ``InputError`` with one line. The values are
drawn with a seeded numpy generator rather than element by element, which keeps an example
cheap to draw at the cost of coarser shrinking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

COLUMN_KINDS = ("float", "int", "bool", "text", "numbers_as_text", "datetime", "category",
                "mixed_types", "high_cardinality", "constant", "all_missing", "with_inf",
                "empty_strings", "unicode_text", "timedelta", "object_numbers")
NAME_KINDS = ("plain", "unicode_name", "int_name", "empty_name", "duplicate_name",
              "space_name")
LABEL_KINDS = ("binary", "multiclass_rare", "regression", "one_class", "label_with_nan",
               "text_label", "bool_label", "all_missing_label")
DRIFT_KINDS = ("same", "missing_column", "extra_column", "reordered", "type_changed",
               "unseen_categories", "all_nan_rows", "one_row", "empty")


@dataclass
class Example:
    """One drawn training table, its label column, a drifted prediction table, and the
    kinds of input they hold."""

    train: pd.DataFrame
    label: str
    predict: pd.DataFrame
    kinds: set[str] = field(default_factory=set)


def _column(kind: str, n: int, rng: np.random.Generator) -> pd.Series:
    miss = rng.random(n) < 0.2
    if kind == "float":
        return pd.Series(np.where(miss, np.nan, rng.normal(size=n)))
    if kind == "int":
        return pd.Series(rng.integers(-5, 5, size=n))
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5)
    if kind == "text":
        letters = np.array(["a", "b", "c", None], dtype=object)
        return pd.Series(letters[rng.integers(0, len(letters), size=n)], dtype=object)
    if kind == "numbers_as_text":
        return pd.Series([None if m else f"{v:.3f}" for m, v in zip(miss, rng.normal(size=n))],
                         dtype=object)
    if kind == "datetime":
        days = rng.integers(0, 2000, size=n)
        return pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(days, unit="D"))
    if kind == "category":
        return pd.Series(pd.Categorical(rng.choice(["lo", "mid", "hi"], size=n)))
    if kind == "mixed_types":
        pool: list[Any] = [1, 2.5, "x", None, True, "3", float("nan")]
        return pd.Series([pool[i] for i in rng.integers(0, len(pool), size=n)], dtype=object)
    if kind == "high_cardinality":
        return pd.Series([f"id{i}-{rng.integers(1 << 30)}" for i in range(n)], dtype=object)
    if kind == "constant":
        return pd.Series(["same"] * n, dtype=object)
    if kind == "all_missing":
        return pd.Series([np.nan] * n, dtype=float)
    if kind == "with_inf":
        values = rng.normal(size=n)
        values[rng.random(n) < 0.3] = np.inf
        return pd.Series(values)
    if kind == "empty_strings":
        return pd.Series(rng.choice(["", "u", "v"], size=n), dtype=object)
    if kind == "unicode_text":
        return pd.Series(rng.choice(["é", "列", "🙂", "ß", "\u200b"], size=n), dtype=object)
    if kind == "timedelta":
        return pd.Series(pd.to_timedelta(rng.integers(0, 100, size=n), unit="h"))
    if kind == "object_numbers":
        return pd.Series([int(v) if v > 0 else float(v) for v in rng.normal(size=n)],
                         dtype=object)
    raise ValueError(kind)


def _label(kind: str, n: int, rng: np.random.Generator) -> pd.Series:
    if kind == "binary":
        return pd.Series(rng.choice(["no", "yes"], size=n), dtype=object)
    if kind == "multiclass_rare":
        values = rng.choice([0, 1, 2], size=n)
        values[0] = 3  # a class with one row
        return pd.Series(values)
    if kind == "regression":
        return pd.Series(rng.normal(size=n))
    if kind == "one_class":
        return pd.Series(["only"] * n, dtype=object)
    if kind == "label_with_nan":
        values = rng.normal(size=n)
        values[rng.random(n) < 0.3] = np.nan
        return pd.Series(values)
    if kind == "text_label":
        return pd.Series(rng.choice(["α", "β", "γ"], size=n), dtype=object)
    if kind == "bool_label":
        return pd.Series(rng.random(n) < 0.5)
    if kind == "all_missing_label":
        return pd.Series([None] * n, dtype=object)
    raise ValueError(kind)


def _names(kinds: list[str], rng: np.random.Generator) -> tuple[list[Any], set[str]]:
    names: list[Any] = []
    seen: set[str] = set()
    for i, kind in enumerate(kinds):
        if kind == "unicode_name":
            names.append(f"größe列{i}")
        elif kind == "int_name":
            names.append(i)
        elif kind == "empty_name":
            names.append("")
        elif kind == "duplicate_name" and names:
            names.append(names[int(rng.integers(len(names)))])
        elif kind == "space_name":
            names.append(f" col {i} ")
        else:
            kind = "plain"
            names.append(f"c{i}")
        seen.add(kind)
    return names, seen


def _replace(df: pd.DataFrame, new: dict[int, pd.Series]) -> pd.DataFrame:
    """``df`` with the columns at the given positions replaced (names may repeat)."""
    if not new:
        return df
    parts = [new.get(i, df.iloc[:, i]).reset_index(drop=True) for i in range(len(df.columns))]
    out = pd.concat(parts, axis=1)
    out.columns, out.index = df.columns, df.index
    return out


def _drift(kind: str, train: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    df = train.copy()
    if kind == "missing_column" and len(df.columns) > 0:
        return df.drop(columns=df.columns[int(rng.integers(len(df.columns)))])
    if kind == "extra_column":
        df["surprise"] = rng.normal(size=len(df))
        return df
    if kind == "reordered":
        return df[list(reversed(list(df.columns)))] if df.columns.is_unique else df
    if kind == "type_changed" and len(df.columns) > 0:
        i = int(rng.integers(len(df.columns)))
        return _replace(df, {i: df.iloc[:, i].astype(str).astype(object)})
    if kind == "unseen_categories":
        return _replace(df, {i: pd.Series(["never seen"] * len(df), index=df.index,
                                          dtype=object)
                             for i in range(len(df.columns)) if df.iloc[:, i].dtype == object})
    if kind == "all_nan_rows":
        return pd.DataFrame(np.nan, index=df.index, columns=df.columns)
    if kind == "one_row":
        return df.iloc[:1]
    if kind == "empty":
        return df.iloc[:0]
    return df


def drift(kind: str, frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``frame`` drifted from its schema by one of :data:`DRIFT_KINDS` (a prediction
    table for a predictor trained on ``frame``'s columns)."""
    return _drift(kind, frame, np.random.default_rng(seed))


@st.composite
def tables(draw: Any) -> Example:
    """A hypothesis strategy of :class:`Example`."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([1, 2, 3, 6, 12, 40, 40, 120, 120]))
    # most examples are tables a fit can take, so that the later stages are reached too
    width = draw(st.sampled_from([0, 1, 2, 2, 3, 3, 4, 5]))
    col_kinds = [draw(st.sampled_from(COLUMN_KINDS)) for _ in range(width)]
    name_kinds = [draw(st.sampled_from(("plain",) * 12 + NAME_KINDS)) for _ in col_kinds]
    label_kind = draw(st.sampled_from(LABEL_KINDS))
    drift_kind = draw(st.sampled_from(DRIFT_KINDS))
    names, name_seen = _names(name_kinds, rng)
    columns = [_column(k, n, rng) for k in col_kinds]
    train = pd.concat(columns, axis=1) if columns else pd.DataFrame(index=range(n))
    train.columns = pd.Index(names, dtype=object)
    label = "target" if "target" not in names else "target_"
    train[label] = _label(label_kind, n, rng).to_numpy()
    predict = _drift(drift_kind, train.drop(columns=[label]), rng)
    kinds = set(col_kinds) | name_seen | {label_kind, f"drift:{drift_kind}",
                                           "tiny_rows" if n <= 3 else f"rows:{n}"}
    if not col_kinds:
        kinds.add("no_features")
    return Example(train, label, predict, kinds)


def one_line(err: BaseException) -> bool:
    """Whether an error's message is one non-empty line (of at most 500 characters)."""
    text = str(err)
    return bool(text.strip()) and "\n" not in text.strip() and len(text) <= 500


class _Prepared(Exception):
    """Raised (and caught) to stop ``AutoML.fit`` once its inputs are prepared."""


@dataclass
class PreparedFit:
    """A fit's prepared inputs, and the preprocessing a prediction table gets."""

    inputs: Any

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """What ``AutoML.predict`` does to a table before its models see it."""
        from raymlx.tabular.data import check_frame, load_table

        df = load_table(df, "prediction data")
        check_frame(df, "prediction data")
        return self.inputs.preprocessor.transform(df)


def prepare_only(example: Example, train: Any = None, **automl_args: Any) -> PreparedFit:
    """``AutoML(label=example.label, **automl_args).fit(train or example.train)`` up to the
    start of Ray: the real fit code runs, and ``prepare_inputs``' result is taken as it
    returns (its module attribute is wrapped for the call, so no Ray and no trial is
    needed). ``train`` may be a path (:mod:`raymlx.testing.files` writes hostile files)."""
    from raymlx import AutoML
    from raymlx.tabular.engine import inputs as inputs_module

    real = inputs_module.prepare_inputs

    def capture(*args: Any, **kwargs: Any) -> Any:
        raise _Prepared(real(*args, **kwargs))

    args = {"families": ["linear"], "num_folds": 2, "max_models": 1, "verbosity": 0,
            "data_path": "memory", **automl_args}
    inputs_module.prepare_inputs = capture
    try:
        AutoML(label=example.label, **args).fit(example.train if train is None else train)
    except _Prepared as done:
        return PreparedFit(done.args[0])
    finally:
        inputs_module.prepare_inputs = real
    raise AssertionError("AutoML.fit no longer calls prepare_inputs before Ray starts")


def prepare_streamed(example: Example, train: Any = None, **automl_args: Any) -> Any:
    """``AutoML(label=example.label, data_path="distributed", **automl_args).fit(...)`` up
    to the first trial: the large-data path's routing, its streaming pass over the blocks
    (:func:`~raymlx.tabular.streaming_prep.prepare_dataset`) and the pass that writes the
    prepared, split Parquet into the fit folder all run on Ray, and the
    :class:`~raymlx.tabular.distributed.prepare.LargeInputs` are taken as
    ``prepare_large`` returns them. ``train`` may be a folder of Parquet files."""
    from raymlx import AutoML
    from raymlx.tabular.distributed import prepare as prepare_module

    real = prepare_module.prepare_large

    def capture(*args: Any, **kwargs: Any) -> Any:
        raise _Prepared(real(*args, **kwargs))

    args = {"families": ["xgboost"], "max_models": 1, "verbosity": 0,
            "data_path": "distributed", **automl_args}
    prepare_module.prepare_large = capture
    try:
        AutoML(label=example.label, **args).fit(example.train if train is None else train)
    except _Prepared as done:
        return done.args[0]
    finally:
        prepare_module.prepare_large = real
    raise AssertionError("AutoML.fit no longer calls prepare_large on the large-data path")


def parquet_folder(frame: pd.DataFrame, folder: Any) -> Any:
    """``frame`` written as a folder of two Parquet files, or None when Arrow cannot store
    it (mixed types in a column, non-text names: a user could not have written it)."""
    import pyarrow as pa

    folder.mkdir(parents=True, exist_ok=True)
    half = max(1, len(frame) // 2)
    try:
        for j, part in enumerate((frame.iloc[:half], frame.iloc[half:])):
            part.to_parquet(folder / f"part-{j}.parquet", index=False)
    except (pa.ArrowException, ValueError, TypeError):
        return None
    return folder
