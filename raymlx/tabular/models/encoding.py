"""Dense, scaled inputs for the families that need them (k-NN, linear models, the MLP).

Tree learners read the preprocessor's matrix directly (categorical codes, NaN for missing).
Distance- and gradient-based learners get, fitted on each fold's training rows only:
median imputation with missing-value indicators and standard scaling for numeric features,
and one-hot encoding (at most 32 columns per feature, rarer codes grouped) for categorical
codes. All of it is sklearn, in float64: the float32 matrix is widened first, so that a
row's prediction does not depend on the rows predicted with it (float32 matrix products
round differently with the batch's layout).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from raymlx.tabular.problem import Problem


def to_float64(X: np.ndarray) -> np.ndarray:
    return np.asarray(X, dtype=np.float64)


def dense_encoder(problem: Problem) -> Pipeline:
    """An unfitted transformer from the preprocessor's matrix to dense scaled features."""
    cat = sorted(problem.categorical)
    num = [i for i in range(problem.n_features) if i not in problem.categorical]
    parts = []
    if num:
        parts.append((
            "numeric",
            make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                StandardScaler(),
            ),
            num,
        ))
    if cat:
        parts.append((
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value=-1, keep_empty_features=True),
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", max_categories=32, sparse_output=False
                ),
            ),
            cat,
        ))
    return make_pipeline(FunctionTransformer(to_float64),
                         ColumnTransformer(parts, sparse_threshold=0.0))


ROWS_PER_GATHER = 256


class CompiledEncoder:
    """The numpy form of a fitted :func:`dense_encoder`, for prediction.

    sklearn's ColumnTransformer costs milliseconds per call whatever the batch (input
    validation, a DataFrame-aware dispatch per part), which dominates a one-row prediction
    of every k-NN, linear and MLP fold model. Written by hand because sklearn has no
    compiled form of a fitted pipeline: it replays the fitted state directly (the medians,
    the missing-value indicators, the scaler's mean and scale) and one-hot encodes each
    categorical feature by table lookup. The tables are read off the fitted encoder itself
    by probing it with every code the feature can take (-1 for missing, 0..n-1), so grouping
    of rare codes and unknown handling stay sklearn's. :func:`compile_encoder` checks the
    result against sklearn before anything uses it.
    """

    def __init__(self, pipeline: Pipeline, categorical: Mapping[int, int]) -> None:
        columns = pipeline[-1]
        self.parts: list[tuple[str, np.ndarray, tuple]] = []
        for name, part, cols in columns.transformers_:
            cols = np.asarray(cols, dtype=np.int64)
            if name == "numeric":
                imputer, scaler = part[0], part[1]
                fill = np.nan_to_num(np.asarray(imputer.statistics_, dtype=np.float64))
                flagged = (np.asarray(imputer.indicator_.features_, dtype=np.int64)
                           if imputer.indicator_ is not None else np.zeros(0, np.int64))
                self.parts.append((name, cols, (fill, flagged, scaler.mean_, scaler.scale_)))
            elif name == "categorical":
                tables = self._one_hot_tables(part, cols, categorical)
                # block-diagonal: feature j's rows start at offsets[j] and fill only its own
                # output columns, so a row's one-hot is the sum of one row per feature
                heights = np.array([len(t) for t in tables], dtype=np.int64)
                stacked = np.zeros((int(heights.sum()), sum(t.shape[1] for t in tables)))
                r = c = 0
                for t in tables:
                    stacked[r:r + len(t), c:c + t.shape[1]] = t
                    r, c = r + len(t), c + t.shape[1]
                offsets = np.concatenate([[0], np.cumsum(heights)[:-1]])
                self.parts.append((name, cols, (stacked, offsets, heights)))

    @staticmethod
    def _one_hot_tables(part: Pipeline, cols: np.ndarray,
                        categorical: Mapping[int, int]) -> list[np.ndarray]:
        """Per feature, the rows its one-hot block takes for codes -1, 0, ..., n-1."""
        sizes = [int(categorical.get(int(c), 0)) for c in cols]
        probe = np.full((max(sizes) + 1, len(cols)), -1.0)
        for j, n in enumerate(sizes):
            probe[1:n + 1, j] = np.arange(n)
        encoded = np.asarray(part.transform(probe), dtype=np.float64)
        names = part[-1].get_feature_names_out([f"f{j}" for j in range(len(cols))])
        tables, start = [], 0
        for j, n in enumerate(sizes):
            width = sum(1 for s in names if s.startswith(f"f{j}_"))
            tables.append(np.ascontiguousarray(encoded[:n + 1, start:start + width]))
            start += width
        return tables

    def transform(self, X: np.ndarray) -> np.ndarray | None:
        """The encoded rows of ``X``, or None when a categorical value lies outside the
        probed codes (the caller then asks sklearn)."""
        X = np.asarray(X, dtype=np.float64)
        blocks = []
        for name, cols, state in self.parts:
            if name == "numeric":
                fill, flagged, mean, scale = state
                Z = X[:, cols]
                missing = np.isnan(Z)
                Z = np.where(missing, fill, Z)
                Z = np.hstack([Z, missing[:, flagged].astype(np.float64)])
                Z -= mean
                Z /= scale
                blocks.append(Z)
                continue
            stacked, offsets, heights = state
            codes = np.where(np.isnan(X[:, cols]), -1.0, X[:, cols])
            idx = codes.astype(np.int64) + 1
            if np.any(idx != codes + 1) or np.any(idx < 0) or np.any(idx >= heights):
                return None
            rows = idx + offsets
            out = np.empty((len(X), stacked.shape[1]))
            for start in range(0, len(X), ROWS_PER_GATHER):  # bounded (rows, features, width)
                out[start:start + ROWS_PER_GATHER] = stacked[
                    rows[start:start + ROWS_PER_GATHER]].sum(axis=1)
            blocks.append(out)
        return np.hstack(blocks) if blocks else np.zeros((len(X), 0))


def compile_encoder(pipeline: Pipeline, problem: Problem) -> CompiledEncoder | None:
    """A :class:`CompiledEncoder` for a fitted dense encoder, or None when its output on a
    check batch (every code, missing values, the numeric statistics) differs from
    sklearn's, e.g. under an sklearn whose fitted attributes mean something else."""
    try:
        compiled = CompiledEncoder(pipeline, problem.categorical)
        rng = np.random.default_rng(0)
        check = rng.normal(size=(8, problem.n_features))
        check[rng.random(check.shape) < 0.3] = np.nan
        for c, n in problem.categorical.items():
            check[:, c] = np.where(np.isnan(check[:, c]), np.nan, rng.integers(0, max(n, 1), 8))
        mine = compiled.transform(check)
        theirs = np.asarray(pipeline.transform(check), dtype=np.float64)
    except Exception:  # an encoder this code does not know: sklearn predicts
        return None
    if mine is None or mine.shape != theirs.shape or not np.allclose(
            mine, theirs, rtol=1e-12, atol=1e-12, equal_nan=True):
        return None
    return compiled


def encode_dense(owner: object, pipeline: Pipeline, problem: Problem,
                 X: np.ndarray) -> np.ndarray:
    """``pipeline.transform(X)`` through the pipeline's compiled form, compiled on first
    use and kept on ``owner`` (a fold estimator; those pickled before it existed compile
    when loaded)."""
    compiled = owner.__dict__.get("compiled_encoder_", False)
    if compiled is False:
        compiled = compile_encoder(pipeline, problem)
        owner.__dict__["compiled_encoder_"] = compiled
    out = compiled.transform(X) if compiled is not None else None
    return np.asarray(pipeline.transform(X), dtype=np.float64) if out is None else out
