"""Predictions and the leaderboard of a fitted (or loaded) raymlx predictor.

A bagged model predicts the average of its fold models; a stacker first predicts with the
lower-layer models it reads and appends those predictions to the features; an ensemble
predicts the weighted average of its members' predictions. Fold models are read from their
pickle on first use (checked against a loaded folder's manifest) and cached. Nothing here
imports Ray: a loaded predictor predicts without it.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raymlx._internal.moved import load_pickle
from raymlx.errors import InputError
from raymlx.tabular.ensembles.bagging import predict_bag
from raymlx.tabular.ensembles.calibration import Calibration, labels_at
from raymlx.tabular.ensembles.stacking import stacked_features
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.problem import Problem
from raymlx.tabular.signing import read_checked


@dataclass
class ModelRecord:
    """One leaderboard row: a bagged trial or an ensemble."""

    name: str
    family: str
    config: dict[str, Any]
    score_val: float = float("nan")
    fit_time_s: float = float("nan")
    predict_time_s: float = float("nan")
    error: str | None = None
    models_path: str | None = None  # the fold models' pickle (trial checkpoint or saved copy)
    trial_id: str | None = None  # key of the out-of-fold predictions in the store
    folds_cut_short: int = 0  # folds whose learner stopped at its share of the time limit
    weights: dict[str, float] = field(default_factory=dict)  # ensembles only
    stack_level: int = 1  # 1: trained on the features; L >= 2: also on layer L-1's predictions
    inputs: list[str] = field(default_factory=list)  # stackers: the models they read
    repeats: int = 1  # repeats of k-fold bagging done
    note: str | None = None  # shown in the leaderboard's note column
    infer_s_per_row: float = float("nan")  # measured by infer_limit (seconds per row)
    finished_at: float = float("nan")  # time.time() when its trial reported its last result
    calibration: Calibration | None = None  # the final model's (engine/calibrate.py)

    def add_note(self, text: str) -> None:
        """Appends ``text`` to the leaderboard note."""
        self.note = f"{self.note}; {text}" if self.note else text

    @property
    def ok(self) -> bool:
        return self.error is None and (self.models_path is not None or bool(self.weights))


FULL_SUFFIX = "_full"  # the name of refit_full's model for a bag (engine/refit.py)

LEADERBOARD_COLUMNS = ["model", "family", "score_val", "score_test", "stack_level",
                       "fit_time_s", "predict_time_s", "config", "error", "note"]


class ModelSet:
    """The records of a fit and the way to predict with any of them."""

    def __init__(self, problem: Problem, records: list[ModelRecord],
                 digests: dict[str, str | None] | None = None) -> None:
        self.problem = problem
        self.records = {r.name: r for r in records}
        self._fold_models: dict[str, list] = {}
        self.digests = digests or {}  # a loaded folder's {fold models' path: sha256}

    @property
    def metric(self):
        return get_metric(self.problem.metric, self.problem.problem_type)

    def __getstate__(self) -> dict[str, Any]:
        """A pickled model set carries every fold model, so it predicts without the files
        it was loaded from (``save`` writes a folder instead; this is for ``pickle`` and
        ``joblib`` users, such as scikit-learn's model persistence)."""
        for rec in self.usable():
            if not rec.weights:
                self.fold_models(rec.name)
        return self.__dict__.copy()

    def usable(self) -> list[ModelRecord]:
        return [r for r in self.records.values() if r.ok]

    def best_name(self) -> str:
        return self.metric.best_first(self.usable())[0].name

    def get(self, name: str) -> ModelRecord:
        if name not in self.records:
            raise InputError(f"no model named {name!r}; see the leaderboard's model column")
        rec = self.records[name]
        if not rec.ok:
            raise InputError(f"model {name!r} failed during fit: {rec.error}")
        return rec

    def fold_models(self, name: str) -> list:
        if name not in self._fold_models:
            path = self.get(name).models_path
            assert path is not None  # a usable bagged model has its fold models' file
            data = read_checked(Path(path), getattr(self, "digests", {}).get(path))
            self._fold_models[name] = load_pickle(io.BytesIO(data))
        return self._fold_models[name]

    def predict(self, X: np.ndarray, name: str, cache: dict | None = None) -> np.ndarray:
        """Probabilities (classification) or values for the feature matrix ``X``, with the
        model's calibration applied (the models it predicts through see raw predictions)."""
        out = self._raw(X, name, {} if cache is None else cache)
        cal = self._calibration(name)
        return out if cal is None else cal.apply(out)

    def decide(self, proba: np.ndarray, name: str) -> np.ndarray:
        """Class codes for ``name``'s probabilities ``proba``: its decision threshold where
        it has one, else the most probable class."""
        return labels_at(proba, self.threshold(name))

    def threshold(self, name: str) -> float | None:
        cal = self._calibration(name)
        return None if cal is None else cal.threshold

    def _calibration(self, name: str) -> Calibration | None:
        return getattr(self.records[name], "calibration", None)  # None in older saves

    def _raw(self, X: np.ndarray, name: str, cache: dict) -> np.ndarray:
        """Uncalibrated predictions of ``name``, each model's kept in ``cache``."""
        if name in cache:
            return cache[name]
        rec = self.get(name)
        out: np.ndarray
        if rec.weights:
            out = np.asarray(sum(w * self._raw(X, m, cache)
                                 for m, w in rec.weights.items()))
        elif rec.inputs:
            below = [self._raw(X, m, cache) for m in rec.inputs]
            out = predict_bag(self.fold_models(name),
                              stacked_features(X, below, self.problem.problem_type))
        else:
            out = predict_bag(self.fold_models(name), X)
        cache[name] = out
        return out

    def leaderboard(self, X: np.ndarray | None = None, y: np.ndarray | None = None,
                    extra_metrics: list[str] | None = None,
                    extra_info: bool = False) -> pd.DataFrame:
        """One row per model, best first (by test score when test data is given); with
        test data, ``extra_metrics`` adds a test-score column per named metric;
        ``extra_info`` adds the columns of :meth:`extra_columns`."""
        metric = self.metric
        rows: list[dict[str, Any]] = []
        cache: dict[str, np.ndarray] = {}
        extras = [get_metric(m, self.problem.problem_type) for m in extra_metrics or []]
        for rec in self.records.values():
            row = {"model": rec.name, "family": rec.family, "score_val": rec.score_val,
                   "score_test": np.nan, "stack_level": rec.stack_level,
                   "fit_time_s": rec.fit_time_s,
                   "predict_time_s": rec.predict_time_s,
                   "config": dict(rec.weights) if rec.weights else dict(rec.config),
                   "error": rec.error,
                   "note": (f"{rec.folds_cut_short} of its folds stopped early at the time "
                            "limit") if rec.folds_cut_short else rec.note}
            if X is not None and y is not None and rec.ok:
                t0 = time.time()
                pred = self.predict(X, rec.name, cache)
                own = time.time() - t0
                if rec.weights:  # an ensemble's predict time includes its members'
                    own += sum(float(r["predict_time_s"]) for r in rows
                               if r["model"] in rec.weights)
                row["predict_time_s"] = own
                cut = self.threshold(rec.name)
                row["score_test"] = metric.score(y, pred, self.problem.problem_type, cut)
                for m in extras:
                    row[m.name] = m.score(y, pred, self.problem.problem_type, cut)
            rows.append(row)
            if not np.isnan(rec.infer_s_per_row):
                row["infer_s_per_row"] = rec.infer_s_per_row
        extra_cols = [m.name for m in extras if X is not None]
        timed = ["infer_s_per_row"] if any("infer_s_per_row" in r for r in rows) else []
        board = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS[:4] + extra_cols
                             + LEADERBOARD_COLUMNS[4:7] + timed + LEADERBOARD_COLUMNS[7:])
        if X is None:
            board = board.drop(columns="score_test")
        key = "score_test" if X is not None else "score_val"
        if extra_info:
            board = board.join(self.extra_columns(), on="model")
            if X is not None and len(X):  # measured just now, on the test rows
                board["predict_s_per_row"] = board["predict_time_s"] / len(X)
        board["_rank"] = -metric.sign() * board[key]
        board = board.sort_values("_rank", na_position="last", kind="stable")
        return board.drop(columns="_rank").reset_index(drop=True)

    def extra_columns(self) -> pd.DataFrame:
        """Per model (the index): ``fit_order`` (1 = trained first), ``depends_on`` (the
        models it predicts through directly: an ensemble's members, a stacker's inputs),
        ``size_bytes`` (its own fold models on disk) and ``size_with_dependencies_bytes``
        (every file a prediction with it reads), and ``predict_s_per_row``: ``infer_limit``'s
        measure, else NaN (the leaderboard measures it on test rows when given some)."""
        def size(name: str) -> int:
            path = self.records[name].models_path
            return os.path.getsize(path) if path and os.path.exists(path) else 0

        def closure(name: str, seen: set[str]) -> set[str]:
            for m in [*self.records[name].weights, *self.records[name].inputs]:
                if m not in seen and m in self.records:
                    seen.add(m)
                    closure(m, seen)
            return seen

        rows = {}
        for order, rec in enumerate(self.records.values(), start=1):
            rows[rec.name] = {
                "fit_order": order, "depends_on": [*rec.weights, *rec.inputs],
                "size_bytes": size(rec.name),
                "size_with_dependencies_bytes": size(rec.name) + sum(
                    size(m) for m in closure(rec.name, set())),
                "_infer": rec.infer_s_per_row}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out["predict_s_per_row"] = out.pop("_infer")
        return out
