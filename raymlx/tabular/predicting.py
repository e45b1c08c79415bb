"""The prediction side of :class:`~raymlx.tabular.AutoML`: predict, predict_proba, score,
the leaderboard and the explanations, on a fitted or loaded predictor (no Ray needed
except to score a ``ray.data.Dataset``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.batch_predict import score_dataset
from raymlx.tabular.chunked_predict import predict_rows
from raymlx.tabular.data import check_frame, labelled_rows, load_table
from raymlx.tabular.explain import Explanation, RowExplanation, explain_predictor, explain_row
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.sources import is_dataset

if TYPE_CHECKING:
    import ray.data


class PredictorMethods:
    """Mixed into :class:`~raymlx.tabular.AutoML`; reads the fitted attributes
    ``models_``, ``problem_``, ``preprocessor_`` and ``best_model_``."""

    models_: Any
    problem_: Any
    preprocessor_: Any
    best_model_: str
    seed: int

    def _fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise InputError("this AutoML is not fitted yet; call fit() or AutoML.load()")

    def _features(self, data, what: str) -> tuple[pd.DataFrame, np.ndarray]:
        self._fitted()
        df = load_table(data, what)
        check_frame(df, what)
        return df, self.preprocessor_.transform(df)

    def _predict_frame(self, df: pd.DataFrame, model: str | None,
                       what: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels (or values) and, for classification, the probabilities, for a frame."""
        self._fitted()
        check_frame(df, what)
        name = model or self.best_model_
        out = predict_rows(self, df, name)  # in chunks when large
        if not self.problem_.is_classification:
            return out, None
        return self.problem_.decode(self.models_.decide(out, name)), out

    def _is_dataset(self, data: Any, keep_columns: list[str] | None) -> bool:
        self._fitted()
        if is_dataset(data):
            return True
        if keep_columns is not None:
            raise InputError("keep_columns is for a ray.data.Dataset; the predictions for a "
                             "table keep its index")
        return False

    def predict(self, data: Any, model: str | None = None,
                keep_columns: list[str] | None = None) -> pd.Series | ray.data.Dataset:
        """Predicted labels (classification) or values (regression), one per row, as a
        Series; for a ``ray.data.Dataset``, a lazy Dataset of the ``keep_columns`` and a
        ``prediction`` column, scored on the cluster (:mod:`~raymlx.tabular.batch_predict`)."""
        if self._is_dataset(data, keep_columns):
            return score_dataset(self, data, model, False, keep_columns)  # type: ignore[arg-type]
        df = load_table(data, "prediction data")
        labels, _ = self._predict_frame(df, model, "prediction data")
        return pd.Series(labels, index=df.index, name=self.problem_.label)

    def predict_proba(self, data: Any, model: str | None = None,
                      keep_columns: list[str] | None = None) -> pd.DataFrame | ray.data.Dataset:
        """Class probabilities, one column per class label (for a ``ray.data.Dataset``, a
        lazy Dataset whose probability columns are named by ``str`` of the class)."""
        dataset = self._is_dataset(data, keep_columns)
        if not self.problem_.is_classification:
            raise InputError("predict_proba is for classification; this is a regression "
                             "predictor, use predict()")
        if dataset:
            return score_dataset(self, data, model, True, keep_columns)  # type: ignore[arg-type]
        df = load_table(data, "prediction data")
        _, proba = self._predict_frame(df, model, "prediction data")
        return pd.DataFrame(proba, index=df.index, columns=list(self.problem_.classes))

    def _labelled(self, data, what: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        df, X = self._features(data, what)
        df, keep, y = labelled_rows(df, self.problem_, what)
        return df, X[keep], y

    def leaderboard(self, test: pd.DataFrame | str | Path | None = None,
                    extra_metrics: list[str] | None = None,
                    extra_info: bool = False) -> pd.DataFrame:
        """Every model and the ensemble, best first: model, family, score_val (out-of-fold),
        score_test (with ``test``), fit_time_s, predict_time_s, config, error. With ``test``,
        ``extra_metrics`` (e.g. ``["mae", "r2"]``) add one test-score column each;
        ``extra_info`` adds :meth:`~raymlx.tabular.predictor.ModelSet.extra_columns`."""
        self._fitted()
        if test is None:
            if extra_metrics:
                raise InputError("extra_metrics are scored on test data; pass test=")
            return self.models_.leaderboard(extra_info=extra_info)
        _, X, y = self._labelled(test, "test data")
        return self.models_.leaderboard(X, y, extra_metrics, extra_info)

    def score(self, test: pd.DataFrame | str | Path, metric: str | None = None,
              model: str | None = None) -> float:
        """The predictor's score on labelled ``test`` data (any metric of the problem)."""
        _, X, y = self._labelled(test, "test data")
        m = get_metric(metric or self.problem_.metric, self.problem_.problem_type)
        name = model or self.best_model_
        return m.score(y, self.models_.predict(X, name), self.problem_.problem_type,
                       self.models_.threshold(name))

    def explain(self, data: Any, kinds: list[str] | None = None,
                plot_dir: str | Path | None = None, model: str | None = None,
                n_repeats: int = 5, max_rows: int = 2000, top_features: int = 6,
                plot: str | Path | None = None) -> Explanation:
        """Explains the final model (or ``model``) on ``data``: ``kinds`` from
        :data:`~raymlx.tabular.explain.KINDS` (default: every kind that applies: those that
        score need the label column), as tables and, with ``plot_dir``, one PNG per kind.
        ``explanation["importance"]`` is permutation importance with p-values, best first;
        ``plot`` writes its bar chart to that path (as before ``plot_dir``)."""
        if plot is not None and kinds is None:
            kinds = ["importance"]
        out = explain_predictor(self, data, kinds, plot_dir, model, n_repeats, max_rows,
                                top_features)
        if plot is not None and "importance" in out.tables:
            from raymlx.tabular.explain import plots

            out.plots["importance"] = plots.importance(
                out.tables["importance"], plot, self.models_.metric.name)
        return out

    def fit_summary(self, plot: str | Path | None = None, show: bool = True) -> dict[str, Any]:
        """What the fit did: problem, path taken, time per phase, trials per family, errors,
        stacking and the final model's weights (and the leaderboard), printed unless
        ``show=False``; ``plot`` (a folder) adds the leaderboard, search history and
        weights as PNGs (:mod:`~raymlx.tabular.summary`)."""
        from raymlx.tabular.summary import fit_summary

        return fit_summary(self, plot, show)

    def explain_row(self, row: Any, data: Any = None, model: str | None = None,
                    top_features: int = 6, plot: str | Path | None = None) -> RowExplanation:
        """Why one row (a one-row DataFrame, a Series or a dict) is predicted as it is:
        each column's contribution to its predicted value (or its predicted class's
        probability) and its ICE lines for the top columns, over ``data``'s values when
        given, else over the training ranges; ``plot`` writes the contributions' chart."""
        return explain_row(self, row, data, model, top_features, plot)


__all__ = ["PredictorMethods"]
