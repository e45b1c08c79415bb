"""Column summaries merge like the concatenated blocks: a preprocessor planned from the
merged summaries of any split of a table is the one planned from the whole table."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raymlx.tabular.column_summary import (
    MAX_TRACKED,
    merge_frames,
    summarise,
    summarise_frame,
)
from raymlx.tabular.preprocess import TablePreprocessor
from tests.conftest import make_binary_frame


def rich_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Every column plan: numbers, numbers as text, booleans, categories, dates with and
    without hours, row numbers (shuffled), identifiers, a constant and an empty column."""
    rng = np.random.default_rng(seed)
    df = make_binary_frame(n=n, seed=seed).drop(columns="target")
    df["as_text"] = [f" {v:.3f}" for v in rng.normal(size=n)]
    df["when"] = (pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 10**6, n),
                                                               unit="min")).astype(str)
    df["row_number"] = rng.permutation(n) + 10
    df["constant"] = 7
    df["empty"] = np.nan
    df["level"] = pd.Categorical(rng.choice(["lo", "mid", "hi"], n, p=[0.5, 0.3, 0.2]))
    df["count"] = rng.integers(0, 5, n)
    return df


def planned(pre: TablePreprocessor) -> tuple:
    return ([vars(c) for c in pre.columns_], pre.dropped_, pre.feature_names_,
            pre.categorical_)


def merged_plan(df: pd.DataFrame, cuts: list[int]) -> TablePreprocessor:
    bounds = [0, *cuts, len(df)]
    parts = [summarise_frame(df.iloc[a:b]) for a, b in zip(bounds, bounds[1:])]
    return TablePreprocessor().fit_summaries(merge_frames(parts), list(df.columns))


def test_the_whole_frame_plans_every_kind_of_column():
    pre = TablePreprocessor().fit(rich_frame())
    kinds = {c.name: c.kind for c in pre.columns_}
    assert kinds["as_text"] == "numeric" and kinds["when"] == "datetime"
    assert kinds["level"] == "category" and kinds["flag"] == "bool"
    assert "hour" in next(c for c in pre.columns_ if c.name == "when").parts
    assert set(pre.dropped_) == {"row_id", "row_number", "constant", "empty"}


@pytest.mark.parametrize("cuts", [[200], [1, 2, 3], [50, 100, 150, 300, 399]])
def test_merged_blocks_plan_what_the_whole_frame_plans(cuts):
    df = rich_frame()
    whole = TablePreprocessor().fit(df)
    assert planned(merged_plan(df, cuts)) == planned(whole)
    np.testing.assert_array_equal(merged_plan(df, cuts).transform(df), whole.transform(df))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=2, max_size=80), st.data())
def test_row_numbers_are_found_across_any_split_as_the_sort_check_finds_them(values, data):
    col = pd.Series(values)
    v = np.sort(col.to_numpy(dtype=float))
    by_sort = bool(np.all(np.diff(v) == 1))
    cut = data.draw(st.integers(0, len(values)))
    parts = [summarise("x", col.iloc[:cut]), summarise("x", col.iloc[cut:])]
    merged = parts[0].merge(parts[1])
    assert merged.is_row_number() == by_sort == summarise("x", col).is_row_number()


def test_shuffled_row_numbers_split_over_blocks_are_still_row_numbers():
    col = pd.Series(np.random.default_rng(1).permutation(1000))
    parts = [summarise("id", col.iloc[i:i + 100]) for i in range(0, 1000, 100)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged.is_row_number()
    assert not summarise("id", col.drop(index=col.index[5])).is_row_number()  # a gap


def test_text_counts_are_capped_at_the_most_frequent_values():
    many = pd.Series([f"v{i}" for i in range(MAX_TRACKED + 10)] + ["top"] * 5)
    s = summarise("c", many)
    assert s.overflow and len(s.counts) == MAX_TRACKED and s.counts.most_common(1)[0] == ("top", 5)
    assert not s.is_identifier()  # "top" repeats


def test_a_column_whose_kind_changes_between_blocks_is_one_line():
    from raymlx.errors import InputError

    a, b = summarise("x", pd.Series([1.0, 2.0])), summarise("x", pd.Series(["a", "b"]))
    with pytest.raises(InputError, match="column 'x' holds numeric values in one part of the "
                                         "table and text values in another"):
        a.merge(b)


def test_month_names_are_categories_not_dates_of_the_current_year():
    df = pd.DataFrame({"month": ["may", "jun", "jul", "aug"] * 30,
                       "day": [f"2024-01-{i % 28 + 1:02d}" for i in range(120)]})
    kinds = {c.name: c.kind for c in TablePreprocessor().fit(df).columns_}
    assert kinds == {"month": "category", "day": "datetime"}
