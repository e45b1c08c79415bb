"""The one-row prediction path: a few rows look their categories up in a dict and the
dense encoder runs as numpy, and both give exactly what the pandas and sklearn routes give
for a large batch."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raymlx.errors import InputError
from raymlx.tabular.data import check_frame
from raymlx.tabular.models.encoding import compile_encoder, dense_encoder, encode_dense
from raymlx.tabular.preprocess import TablePreprocessor
from raymlx.tabular.problem import Problem
from raymlx.tabular.row_path import SMALL_FRAME

TEXT = st.sampled_from(["a", "b", "c", "d", " a", "A", "", "zz-unseen"])
CELL = st.one_of(TEXT, st.none(), st.just(float("nan")))


def _frame(rng, n):
    return pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue", None], n),
        "size": rng.choice(["s", "m", "l", "xl"], n),
        "x": rng.normal(size=n),
        "k": rng.integers(0, 5, n),
        "cat": pd.Categorical(rng.choice(["p", "q", "r"], n)),
        "nullable": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)),
                             dtype="Int64"),
        "small": rng.normal(size=n).astype(np.float32),
        "flag": rng.random(n) < 0.5,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        "as_text": rng.normal(size=n).round(2).astype(str),
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CELL, min_size=1, max_size=SMALL_FRAME))
def test_a_few_rows_get_the_codes_a_large_frame_gets(cells):
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"t": rng.choice(["a", "b", "c", "d", " a"], 200),
                          "x": rng.normal(size=200)})
    prep = TablePreprocessor().fit(train)
    few = pd.DataFrame({"t": pd.Series(cells, dtype=object),
                        "x": np.arange(len(cells), dtype=float)})
    padded = pd.concat([few] + [few.iloc[:1]] * (SMALL_FRAME + 1), ignore_index=True)
    np.testing.assert_array_equal(prep.transform(few), prep.transform(padded)[:len(few)])


def test_every_kind_of_column_gets_the_features_a_large_frame_gets():
    rng = np.random.default_rng(2)
    prep = TablePreprocessor().fit(_frame(rng, 300))
    assert {c.kind for c in prep.columns_} == {"numeric", "category", "bool", "datetime"}
    few = _frame(np.random.default_rng(5), 7)
    padded = pd.concat([few] * 20, ignore_index=True)
    np.testing.assert_array_equal(prep.transform(few), prep.transform(padded)[:7])
    for i in range(7):  # and one row at a time
        np.testing.assert_array_equal(prep.transform(few.iloc[i:i + 1])[0],
                                      prep.transform(padded)[i])


def test_python_numbers_in_an_object_column_are_read_as_pandas_reads_them():
    rng = np.random.default_rng(7)
    prep = TablePreprocessor().fit(pd.DataFrame({"x": rng.normal(size=200),
                                                 "k": rng.integers(0, 9, 200)}))
    cells = [[0.1, 3], [None, 2**60], [7, None], [float("nan"), 1.5e300], [True, "4"]]
    for i in range(len(cells)):
        few = pd.DataFrame(cells[i:i + 1], columns=["x", "k"], dtype=object)
        padded = pd.concat([few] * 70, ignore_index=True)  # the pandas route
        np.testing.assert_array_equal(prep.transform(few), prep.transform(padded)[:1])
    with pytest.raises(InputError, match="column 'x' has infinite values"):
        prep.transform(pd.DataFrame([[float("inf"), 1]], columns=["x", "k"], dtype=object))


def test_values_that_are_not_text_take_the_pandas_route():
    rng = np.random.default_rng(1)
    prep = TablePreprocessor().fit(_frame(rng, 300))
    odd = _frame(rng, 5).astype({"size": object})
    odd.loc[0, "size"] = 3  # a number in a text column: matched as "3" (unseen), as pandas does
    odd["cat"] = odd["cat"].astype(str)
    padded = pd.concat([odd] * 20, ignore_index=True)
    np.testing.assert_array_equal(prep.transform(odd), prep.transform(padded)[:5])
    assert np.isnan(prep.transform(odd)[0, prep.feature_names_.index("size")])


def test_check_frame_finds_infinities_in_a_few_rows():
    df = pd.DataFrame({"a": [1.0, np.inf], "b": ["x", "y"]})
    try:
        check_frame(df, "prediction data")
    except Exception as exc:
        assert "column 'a' of the prediction data has 1 infinite values" in str(exc)
    else:
        raise AssertionError("no error for an infinite value")


def _encoded_problem(rng, n=400):
    """A matrix like the preprocessor's: numeric columns (one with missing values, one all
    missing, one constant) and categorical codes, one with 40 codes (rare ones grouped)."""
    X = np.column_stack([
        rng.normal(size=n),
        np.where(rng.random(n) < 0.2, np.nan, rng.normal(5, 3, n)),
        np.full(n, np.nan),
        np.ones(n),
        np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 4, n)),
        rng.zipf(1.5, n).clip(1, 40) - 1.0,
    ])
    return X, Problem("binary", (0, 1), n_features=6, categorical={4: 4, 5: 40})


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_the_compiled_encoder_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    X, problem = _encoded_problem(rng)
    encoder = dense_encoder(problem).fit(X)
    compiled = compile_encoder(encoder, problem)
    assert compiled is not None
    Z, _ = _encoded_problem(np.random.default_rng(seed + 1), n=17)
    np.testing.assert_allclose(compiled.transform(Z), encoder.transform(Z),
                               rtol=1e-12, atol=1e-12)


def test_a_code_outside_the_probed_ones_is_left_to_sklearn():
    rng = np.random.default_rng(3)
    X, problem = _encoded_problem(rng)
    encoder = dense_encoder(problem).fit(X)
    Z = X[:3].copy()
    Z[0, 4] = 9.0  # never a code of that column: the compiled form declines
    assert compile_encoder(encoder, problem).transform(Z) is None

    class Owner:
        pass

    np.testing.assert_allclose(encode_dense(Owner(), encoder, problem, Z), encoder.transform(Z))


def test_a_pipeline_of_another_shape_is_not_compiled():
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(4)
    X, problem = _encoded_problem(rng)
    encoder = dense_encoder(problem)
    numeric = encoder[-1].transformers[0][1]
    numeric.steps[-1] = ("minmaxscaler", MinMaxScaler())  # no mean_ or scale_ to replay
    encoder.fit(X)
    assert compile_encoder(encoder, problem) is None

    class Owner:
        pass

    np.testing.assert_allclose(encode_dense(Owner(), encoder, problem, X[:5]),
                               encoder.transform(X[:5]))


def test_the_linear_family_predicts_what_sklearn_predicts():
    from raymlx.tabular.models.sklearn import LinearEstimator

    rng = np.random.default_rng(6)
    X, _ = _encoded_problem(rng)
    targets = {"binary": (X[:, 0] > 0).astype(int), "multiclass": rng.integers(0, 4, len(X)),
               "regression": X[:, 0] * 2 + rng.normal(size=len(X))}
    for kind, y in targets.items():
        classes = tuple(np.unique(y)) if kind != "regression" else ()
        problem = Problem(kind, classes, n_features=6, categorical={4: 4, 5: 40})
        est = LinearEstimator({}, problem).fit(X, y)
        theirs = est.model_.predict(X[:9]) if kind == "regression" else \
            est.model_.predict_proba(X[:9])
        np.testing.assert_allclose(est.predict(X[:9]), theirs, rtol=1e-12, atol=1e-15)


def test_catboost_predicts_a_few_rows_as_it_predicts_many():
    from raymlx.tabular.models.catboost import FEW_ROWS, CatBoostEstimator

    rng = np.random.default_rng(8)
    X, problem = _encoded_problem(rng)
    X = X.astype(np.float32)
    y = (np.nan_to_num(X[:, 1]) + X[:, 4] > 4).astype(int)
    est = CatBoostEstimator({"n_estimators": 60}, problem).fit(X, y)
    few = est.predict(X[:FEW_ROWS])  # the list path
    many = est.predict(np.concatenate([X[:FEW_ROWS], X[:1]]))[:FEW_ROWS]  # the Pool path
    np.testing.assert_allclose(few, many, rtol=1e-12)
