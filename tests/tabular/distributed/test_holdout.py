"""The streaming, seeded, stratified holdout split (raymlx.tabular.distributed.holdout)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from raymlx.tabular.distributed.holdout import (
    EXACT_BELOW,
    class_thresholds,
    holdout_fraction,
    holdout_mask,
    merge_smallest,
    row_uniforms,
    smallest_by_class,
)


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n),
                         "c": rng.choice(["x", "y", None], n)})


def test_a_rows_number_depends_on_its_values_and_the_seed_not_on_its_block():
    df = _frame(1000)
    whole = row_uniforms(df, 7)
    parts = np.concatenate([row_uniforms(df.iloc[:313], 7), row_uniforms(df.iloc[313:], 7)])
    np.testing.assert_array_equal(whole, parts)
    assert np.all((whole >= 0) & (whole < 1))
    assert not np.array_equal(whole, row_uniforms(df, 8))


def test_the_holdout_fraction_aims_at_200k_rows_between_1_and_10_percent():
    assert holdout_fraction(1_000) == 0.1
    assert holdout_fraction(4_000_000) == 0.05
    assert holdout_fraction(100_000_000) == 0.01


def _split(labels: pd.Series, df: pd.DataFrame, cuts: list[int], fraction: float, seed: int):
    """The module's streaming protocol over blocks cut at ``cuts``."""
    bounds = [0, *sorted(set(cuts)), len(df)]
    blocks = [(df.iloc[a:b], labels.iloc[a:b]) for a, b in zip(bounds, bounds[1:]) if b > a]
    parts = [smallest_by_class(y, row_uniforms(x, seed)) for x, y in blocks]
    thresholds = class_thresholds(labels.value_counts().to_dict(), merge_smallest(parts),
                                  fraction)
    return np.concatenate([holdout_mask(y, row_uniforms(x, seed), thresholds, fraction)
                           for x, y in blocks])


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 300), min_size=2, max_size=5),
       cuts=st.lists(st.integers(0, 1500), max_size=6), seed=st.integers(0, 1000),
       fraction=st.sampled_from([0.05, 0.1]))
def test_small_classes_are_held_out_exactly_in_proportion_however_the_blocks_fall(
        sizes, cuts, seed, fraction):
    labels = pd.Series(np.repeat([f"c{i}" for i in range(len(sizes))], sizes))
    df = _frame(len(labels), seed).assign(y=labels.to_numpy())
    held = _split(labels, df, [c for c in cuts if c < len(df)], fraction, seed)
    for i, n in enumerate(sizes):
        got = int(held[(labels == f"c{i}").to_numpy()].sum())
        assert got == (0 if n < 2 else max(1, round(fraction * n)))
    # the same seed gives the same split, whatever the blocks
    np.testing.assert_array_equal(held, _split(labels, df, [], fraction, seed))


def test_a_large_class_is_held_out_at_the_fraction_up_to_binomial_noise():
    n = 3 * (EXACT_BELOW - 1)
    labels = pd.Series(np.where(np.arange(n) % 3 == 0, "rare", "common"))
    df = _frame(n, 1).assign(y=labels.to_numpy())
    held = _split(labels, df, [n // 2], 0.1, 3)
    common = held[(labels == "common").to_numpy()]
    assert abs(common.mean() - 0.1) < 4 * np.sqrt(0.09 / len(common))
    assert held[(labels == "rare").to_numpy()].sum() == 2000  # exact: 19999 rows, under EXACT_BELOW


def test_regression_holds_out_by_the_fraction():
    u = np.linspace(0, 1, 1000, endpoint=False)
    assert holdout_mask(pd.Series(np.zeros(1000)), u, None, 0.1).sum() == 100
