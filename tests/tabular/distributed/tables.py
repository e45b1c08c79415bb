"""Tables the large-data tests write as Parquet folders."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd


def write_table(folder, n_files: int = 4, rows: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """A binary table with a nonlinear signal, a text column and missing values, as
    ``n_files`` Parquet files; returns all of it."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    frames = []
    for i in range(n_files):
        X = rng.normal(size=(rows, 6))
        df = pd.DataFrame(X, columns=[f"x{j}" for j in range(6)])
        df["colour"] = rng.choice(["red", "green", "blue"], rows)
        df.loc[rng.random(rows) < 0.05, "x3"] = np.nan
        signal = X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + (df["colour"] == "red") - 0.3
        df["y"] = np.where(signal + 0.3 * rng.normal(size=rows) > 0, "yes", "no")
        df.to_parquet(os.path.join(folder, f"part-{i}.parquet"))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def write_bad_folder(folder, case: str, write_good) -> str:
    """A folder of Parquet files with one bad in the way ``case`` names ("missing
    column", "corrupt file", "empty folder"), its good files written by
    ``write_good(folder)``; returns the pattern the one-line error must match."""
    if case == "empty folder":
        folder.mkdir()
        return "no CSV or Parquet files"
    write_good(folder)
    bad = folder / "part-9.parquet"
    if case == "missing column":
        pd.read_parquet(folder / "part-0.parquet").drop(columns="x2").to_parquet(bad)
        return r"part-9\.parquet.*x2"
    bad.write_bytes(b"not parquet at all")
    return r"part-9\.parquet"
