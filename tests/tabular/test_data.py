"""Validation, problem-type inference and preprocessing; every bad input is one clear line,
raised by ``fit`` before Ray starts."""

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML, InputError
from raymlx.tabular.data import check_frame, load_table, split_label
from raymlx.tabular.label import LabelFacts, infer_problem_type, prepare_label
from raymlx.tabular.preprocess import TablePreprocessor


@pytest.mark.parametrize("values, expected", [
    (["a", "b", "a"], "binary"),
    ([0, 1, 1], "binary"),
    (["a", "b", "c"], "multiclass"),
    ([3, 4, 5, 6, 7], "multiclass"),
    ([0.5, 1.25, 3.0], "regression"),
    (list(range(50)), "regression"),
])
def test_problem_type_inference(values, expected):
    assert infer_problem_type(LabelFacts.of(pd.Series(values))) == expected


def test_preprocessing_handles_every_column_kind(binary_frame):
    X = binary_frame.drop(columns="target")
    pre = TablePreprocessor().fit(X)
    assert "row_id" in pre.dropped_ and "identifier" in pre.dropped_["row_id"]
    names = pre.feature_names_
    assert {"x1", "x2", "color", "flag", "day.year", "day.month", "day.days"} <= set(names)
    assert list(pre.categorical_) == [names.index("color")]
    M = pre.transform(X)
    assert M.dtype == np.float32 and M.shape == (len(X), len(names))
    assert np.isnan(M[:, names.index("x2")]).any()  # missing numeric stays missing
    assert set(np.unique(M[:, names.index("flag")])) == {0.0, 1.0}


def test_unseen_and_missing_categories_become_missing(binary_frame):
    pre = TablePreprocessor().fit(binary_frame.drop(columns="target"))
    new = binary_frame.head(2).copy()
    new["color"] = ["purple", None]
    codes = pre.transform(new)[:, pre.feature_names_.index("color")]
    assert np.isnan(codes).all()


def test_numbers_stored_as_text_are_numeric():
    df = pd.DataFrame({"charges": [" "] + ["1.5", "2.0", "3.25"] * 40, "x": range(121)})
    pre = TablePreprocessor().fit(df)
    col = pre.transform(df)[:, pre.feature_names_.index("charges")]
    assert np.isnan(col[0]) and col[1] == pytest.approx(1.5)


def test_predict_frame_missing_training_columns(binary_frame):
    pre = TablePreprocessor().fit(binary_frame.drop(columns="target"))
    with pytest.raises(InputError, match=r"lacks columns the model was trained on: \['x1'\]"):
        pre.transform(binary_frame.drop(columns=["x1"]))


# --- bad inputs: each is an InputError (a ValueError) with one line, before training ---

def _fit(df, **kw):
    return AutoML(label=kw.pop("label", "target"), **kw).fit(df)


def test_missing_label_column(binary_frame):
    with pytest.raises(InputError, match="label column 'nope' not found"):
        _fit(binary_frame, label="nope")


def test_empty_frame():
    with pytest.raises(InputError, match="is empty"):
        _fit(pd.DataFrame({"target": [], "x": []}))


def test_label_all_missing():
    df = pd.DataFrame({"target": [np.nan] * 20, "x": range(20)})
    with pytest.raises(InputError, match="has no values"):
        _fit(df)


def test_single_class():
    df = pd.DataFrame({"target": ["a"] * 20, "x": range(20)})
    with pytest.raises(InputError, match="has one class"):
        _fit(df, problem_type="binary")


def test_too_few_rows_name_the_count():
    df = pd.DataFrame({"target": [1.0], "x": [2.0]})
    with pytest.raises(InputError, match=r"1 labelled row \(n_samples = 1\); 5-fold bagging"):
        _fit(df, problem_type="regression")


def test_infinite_values():
    df = pd.DataFrame({"target": [0, 1] * 10, "x": [1.0] * 19 + [np.inf]})
    with pytest.raises(InputError, match="column 'x' of the training table has 1 infinite"):
        _fit(df)


def test_duplicate_column_names():
    df = pd.DataFrame([[1, 2, 0], [3, 4, 1]] * 10, columns=["a", "a", "target"])
    with pytest.raises(InputError, match=r"duplicate column names: \['a'\]"):
        _fit(df)


def test_wrong_path(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        _fit(tmp_path / "missing.csv")


def test_unreadable_file(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(InputError, match="could not read the training table file"):
        _fit(bad)


def test_unknown_metric_rejected_when_the_fit_starts(binary_frame):
    aml = AutoML(label="target", metric="accuracyy")  # __init__ only stores it
    with pytest.raises(InputError, match="unknown metric 'accuracyy'"):
        aml.fit(binary_frame)


def test_bad_constructor_arguments_quote_the_value(tmp_path):
    missing = tmp_path / "never-read.csv"  # the arguments are checked before the table
    with pytest.raises(InputError, match=r"num_folds=1 is invalid; it must be an integer from 2"):
        AutoML(label="y", num_folds=1).fit(missing)
    with pytest.raises(InputError, match=r"time_limit=-5 is invalid"):
        AutoML(label="y", time_limit=-5).fit(missing)
    with pytest.raises(InputError, match=r"searcher='bayes' is invalid; choose one of: random"):
        AutoML(label="y", searcher="bayes").fit(missing)


def test_regression_label_must_be_numeric(binary_frame):
    with pytest.raises(InputError, match="cannot be a regression target"):
        _fit(binary_frame, problem_type="regression")


def test_rows_with_missing_label_are_dropped():
    df = pd.DataFrame({"target": [1.0, np.nan, 2.0], "x": [1, 2, 3]})
    X, y = split_label(df, "target")
    out, y, ptype, _ = prepare_label(X, y, "target", "regression")
    assert len(out) == 2 and len(y) == 2 and ptype == "regression"


def test_csv_separator_is_detected(tmp_path, wine_red):
    from tests.conftest import WINE_RED

    df = load_table(WINE_RED)
    assert df.shape == wine_red.shape and "quality" in df.columns
    check_frame(df)
