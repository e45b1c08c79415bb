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
