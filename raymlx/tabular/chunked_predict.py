"""Predicting an in-memory table in chunks of rows: the features and every model's
predictions exist for one chunk at a time, so a ten-million-row ``predict`` needs memory for
its answer and one chunk, not for the whole float32 feature matrix and each ensemble
member's outputs at once. A progress bar (tqdm, on stderr) appears when the remaining
chunks are expected to take more than a few seconds and the predictor's ``verbosity`` is
above 0.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import pandas as pd

CHUNK_ROWS = 65_536
PROGRESS_AFTER_S = 3.0  # a bar once the rest is expected to take longer than this


def predict_rows(aml: Any, df: pd.DataFrame, model: str) -> np.ndarray:
    """``model``'s probabilities (classification) or values for every row of ``df``."""
    n = len(df)
    if n <= CHUNK_ROWS:
        return aml.models_.predict(aml.preprocessor_.transform(df), model)
    out: np.ndarray | None = None
    bar = None
    t0 = time.time()
    for start in range(0, n, CHUNK_ROWS):
        part = aml.models_.predict(
            aml.preprocessor_.transform(df.iloc[start:start + CHUNK_ROWS]), model)
        if out is None:
            out = np.empty((n,) + part.shape[1:], dtype=part.dtype)
        out[start:start + len(part)] = part
        done = start + len(part)
        if bar is not None:
            bar.update(len(part))
        elif done < n and getattr(aml, "verbosity", 1) > 0 \
                and (time.time() - t0) / done * (n - done) > PROGRESS_AFTER_S:
            from tqdm import tqdm

            bar = tqdm(total=n, initial=done, unit="rows", desc="predicting", file=sys.stderr,
                       unit_scale=True)
    if bar is not None:
        bar.close()
    assert out is not None  # n > CHUNK_ROWS > 0
    return out
