"""A seeded holdout split of a table streamed block by block, stratified by class.

Each row gets a uniform number from a keyed hash of its values
(``pandas.util.hash_pandas_object`` with a key made from the seed): the same row gets the
same number in any block, on any worker, in any run, so the split needs no row ids and no
shuffle, and duplicate rows land on the same side. A row is held out when its number is
at or under its class's threshold.

Stratification: a class with at least :data:`EXACT_BELOW` rows has the threshold
``fraction``, so it is held out in that proportion up to binomial noise (under 1.5% of the
holdout count at that size). A smaller class has an exact threshold: each block keeps the
:data:`KEEP` smallest numbers of each of its classes (a class of fewer than
``EXACT_BELOW`` rows needs at most ``fraction * EXACT_BELOW`` of them), the blocks' lists
are merged, and the threshold is the ``round(fraction * n)``-th smallest (at least one row
of every class with two or more rows). Regression uses ``fraction`` for every row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from raymlx.tabular.problem import label_values

EXACT_BELOW = 20_000
MAX_FRACTION = 0.1
KEEP = int(math.ceil(MAX_FRACTION * EXACT_BELOW)) + 1
HOLDOUT_ROWS = 200_000


def holdout_fraction(rows: int) -> float:
    """The share held out: enough for about :data:`HOLDOUT_ROWS` rows, between 1% and
    10% of the table."""
    return float(min(MAX_FRACTION, max(0.01, HOLDOUT_ROWS / max(rows, 1))))


def row_uniforms(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """A number in [0, 1) per row, fixed by the row's values and the seed."""
    key = f"raymlx-{seed % 10**9:09d}"  # pandas wants a 16-character key
    h = pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy()
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def smallest_by_class(labels: pd.Series, u: np.ndarray) -> dict:
    """Each present class's :data:`KEEP` smallest numbers, sorted (one block's part)."""
    present = labels.notna().to_numpy()
    values = pd.Series(label_values(labels[present]), dtype=object)
    out = {}
    for cls, idx in values.groupby(values, sort=False).indices.items():
        part = u[present][idx]
        out[cls] = np.sort(part)[:KEEP] if len(part) > KEEP else np.sort(part)
    return out


def merge_smallest(parts: list[Mapping]) -> dict:
    """The blocks' lists merged: the :data:`KEEP` smallest numbers of each class."""
    merged: dict = {}
    for part in parts:
        for cls, arr in part.items():
            both = np.concatenate([merged[cls], arr]) if cls in merged else arr
            merged[cls] = np.sort(both)[:KEEP]
    return merged


def class_thresholds(counts: Mapping, smallest: Mapping, fraction: float) -> dict:
    """The holdout threshold of each class (see the module's docstring)."""
    out = {}
    for cls, n in counts.items():
        if n >= EXACT_BELOW or cls not in smallest:
            out[cls] = fraction
            continue
        m = 0 if n < 2 else max(1, int(round(fraction * n)))
        out[cls] = -1.0 if m == 0 else float(smallest[cls][m - 1])
    return out


def holdout_mask(labels: pd.Series, u: np.ndarray, thresholds: Mapping | None,
                 fraction: float) -> np.ndarray:
    """Which rows are held out; ``thresholds`` None is regression."""
    if thresholds is None:
        return u < fraction
    limit = np.array([thresholds.get(v, fraction) for v in label_values(labels)])
    return u <= limit
