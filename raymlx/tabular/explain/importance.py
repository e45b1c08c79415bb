"""Permutation feature importance (Breiman 2001; scikit-learn's ``permutation_importance``),
with a significance test, and the same measure across the leaderboard's models.

Each input column of the raw table is shuffled ``n_repeats`` times and the drop in the
predictor's score is recorded: the larger the drop, the more the model relies on that
column. Scores are in the metric's units; positive means the column helps. As AutoGluon's
``feature_importance`` does, each column also gets a one-sided t-test over its repeats
(null hypothesis: the importance is at most zero; ``p_value``) and 99% confidence bounds
of the mean (``p99_low``, ``p99_high``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance


class _Scorer:
    """Adapts a predictor to sklearn's (estimator, X, y) scoring protocol."""

    def __init__(self, score_frame) -> None:
        self.score_frame = score_frame

    def fit(self, X, y):  # pragma: no cover - sklearn never fits it here
        return self

    def __call__(self, estimator, X, y) -> float:
        return self.score_frame(X, y)


def significance(drops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p_value, p99_low, p99_high)`` per row of ``drops`` (features x repeats): the
    one-sided t-test of a mean above zero and the 99% two-sided bounds of the mean. With
    one repeat, or no spread, the p-value is 0 for a positive mean and 1 otherwise."""
    from scipy import stats

    n = drops.shape[1]
    mean = drops.mean(axis=1)
    if n < 2:
        p = np.where(mean > 0, 0.0, 1.0)
        return p, mean, mean
    se = drops.std(axis=1, ddof=1) / np.sqrt(n)
    spread = se > 0
    t = np.divide(mean, se, out=np.zeros_like(mean), where=spread)
    p = np.where(spread, stats.t.sf(t, n - 1), np.where(mean > 0, 0.0, 1.0))
    half = stats.t.ppf(0.995, n - 1) * se
    return p, mean - half, mean + half


def permutation_importances(score_frame: Callable[[pd.DataFrame, pd.Series], float],
                            X: pd.DataFrame, y: pd.Series, n_repeats: int,
                            seed: int) -> pd.DataFrame:
    """Importance of every column of ``X`` for ``score_frame(X, y)`` (higher is better):
    feature, importance, stddev, p_value, p99_low, p99_high; best first."""
    scorer = _Scorer(score_frame)
    res = permutation_importance(scorer, X, y, scoring=scorer, n_repeats=n_repeats,
                                 random_state=seed, n_jobs=1)
    p, low, high = significance(np.asarray(res.importances))
    out = pd.DataFrame({"feature": list(X.columns), "importance": res.importances_mean,
                        "stddev": res.importances_std, "p_value": p, "p99_low": low,
                        "p99_high": high})
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def importance_by_model(score_for: Callable[[str], Callable], X: pd.DataFrame,
                        y: pd.Series, models: list[str], n_repeats: int,
                        seed: int) -> pd.DataFrame:
    """Permutation importance of every column (rows) for each model in ``models``
    (columns); ``score_for(name)`` is that model's ``score_frame``."""
    table = {m: permutation_importances(score_for(m), X, y, n_repeats, seed)
             .set_index("feature")["importance"] for m in models}
    out = pd.DataFrame(table).reindex(list(X.columns))
    order = out.mean(axis=1).sort_values(ascending=False, kind="stable").index
    return out.loc[order]


__all__ = ["importance_by_model", "permutation_importances", "significance"]
