"""Sharing prepared files among workers and reading them (raymlx.tabular.distributed.shards)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raymlx.tabular.distributed.shards import file_rows, read_matrix, share_files


def test_files_are_shared_out_by_rows_and_keep_their_order():
    files = [f"f{i}" for i in range(7)]
    rows = [100, 100, 100, 100, 100, 100, 40]
    groups = share_files(files, rows, 3)
    assert sorted(f for g in groups for f in g) == files
    loads = [sum(rows[files.index(f)] for f in g) for g in groups]
    assert max(loads) - min(loads) <= 100
    assert all(g == sorted(g, key=files.index) for g in groups)
    assert share_files(files[:1], rows[:1], 2) == [["f0"], []]


def test_read_matrix_stacks_the_files_in_order_as_float32(tmp_path):
    frames = []
    for i in range(3):
        df = pd.DataFrame({"a": np.arange(5) + 10 * i, "b": np.linspace(0, 1, 5),
                           "__label__": np.arange(5) % 2}).astype("float64")
        df.to_parquet(tmp_path / f"p{i}.parquet")
        frames.append(df)
    files = [str(tmp_path / f"p{i}.parquet") for i in range(3)]
    assert file_rows(files) == [5, 5, 5]
    X, y = read_matrix(files, ["b", "a"], "__label__")
    whole = pd.concat(frames)
    assert X.dtype == np.float32 and X.shape == (15, 2)
    np.testing.assert_allclose(X, whole[["b", "a"]].to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(y, whole["__label__"].to_numpy())
