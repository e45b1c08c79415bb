"""Permutation feature importance (Breiman 2001; sklearn's ``permutation_importance``).

Each input column of the raw table is shuffled ``n_repeats`` times and the drop in the
predictor's score is recorded: the larger the drop, the more the model relies on that
column. Scores are in the metric's units; positive means the column helps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def permutation_importances(
    score_frame, X: pd.DataFrame, y: pd.Series, n_repeats: int, seed: int
) -> pd.DataFrame:
    """Importance of every column of ``X`` for ``score_frame(X, y)`` (higher is better)."""
    scorer = _Scorer(score_frame)
    res = permutation_importance(scorer, X, y, scoring=scorer, n_repeats=n_repeats,
                                 random_state=seed, n_jobs=1)
    out = pd.DataFrame({"feature": list(X.columns), "importance": res.importances_mean,
                        "stddev": res.importances_std})
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def plot_importances(table: pd.DataFrame, path: str | Path, metric: str) -> Path:
    """A horizontal bar chart of the importances, best on top, written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(t) + 1.2))
    ax.barh(t["feature"].astype(str), t["importance"], xerr=t["stddev"], color="#4477aa")
    ax.set_xlabel(f"drop in {metric} when the column is shuffled")
    ax.axvline(0, color="black", lw=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def explain_predictor(aml: Any, data: Any, plot: str | Path | None, n_repeats: int,
                      max_rows: int) -> pd.DataFrame:
    """``AutoML.explain``: permutation importance of each input column of labelled
    ``data`` (at most ``max_rows`` rows, sampled), best first; a bar chart at ``plot``."""
    from raymlx.tabular.metrics import get_metric

    df, _, _ = aml._labelled(data, "explanation data")
    if len(df) > max_rows:
        df = df.sample(max_rows, random_state=aml.seed)
    label = str(aml.problem_.label)
    metric = get_metric(aml.problem_.metric, aml.problem_.problem_type)
    features = df.drop(columns=[label])

    def score(frame: pd.DataFrame, y: pd.Series) -> float:
        return metric.sign() * aml.score(frame.assign(**{label: y.to_numpy()}))

    table = permutation_importances(score, features, df[label], n_repeats, aml.seed)
    if plot is not None:
        plot_importances(table, plot, metric.name)
    return table


__all__ = ["explain_predictor", "permutation_importances", "plot_importances"]

