"""The model-family extension point.

A *family* (LightGBM, random forest, ...) declares its Tune search space, a short portfolio
of known-good configurations that are tried before any search (the idea that carries
AutoGluon's accuracy: strong defaults first), the CPUs one trial wants, and the estimator
class that fits one fold.

Call order for an estimator, as the bagging loop drives it::

    est = Family.estimator(params, problem, num_threads=1, seed=0, device="cpu")  # stores
    est.fit(X, y, X_val, y_val, deadline)    # X float32 features, y encoded labels / values
    est.predict(X)                           # (n, n_classes) probabilities, or (n,) values

``deadline`` is an absolute ``time.time()``; iterative learners stop adding rounds, trees or
epochs when they reach it and set ``stopped_early_by_deadline_``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from raymlx.tabular.metrics import BINARY, MULTICLASS


@dataclass(frozen=True)
class Problem:
    """What a fold estimator needs to know about the task and the feature matrix."""

    problem_type: str
    n_classes: int
    n_features: int
    categorical: dict[int, int] = field(default_factory=dict)  # feature index -> n codes

    @property
    def is_classification(self) -> bool:
        return self.problem_type in (BINARY, MULTICLASS)


class FoldEstimator:
    """Base class of every family's estimator; handles classes missing from a fold.

    A rare class can be absent from one fold's training rows. ``fit`` re-encodes the
    present classes to 0..m-1 (XGBoost insists on it) and ``predict`` expands the
    probabilities back to all ``n_classes`` columns, zero for the unseen classes.
    """

    def __init__(
        self, params: dict[str, Any], problem: Problem, num_threads: int = 1, seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.params = params
        self.problem = problem
        self.num_threads = num_threads
        self.seed = seed
        self.device = device  # "cuda" only in a trial that Ray gave a usable GPU

    # subclasses implement these two on the re-encoded labels
    def _fit(self, X, y, X_val, y_val, deadline: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, X) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def fit(self, X, y, X_val=None, y_val=None, deadline: float | None = None) -> FoldEstimator:
        self.stopped_early_by_deadline_ = False
        deadline = float("inf") if deadline is None else deadline
        if self.problem.is_classification:
            self.present_classes_, y = np.unique(y, return_inverse=True)
            if y_val is not None:
                keep = np.isin(y_val, self.present_classes_)
                X_val = X_val[keep]
                y_val = np.searchsorted(self.present_classes_, y_val[keep])
        self._fit(X, y, X_val, y_val, deadline)
        return self

    @property
    def n_fit_classes(self) -> int:
        """Classes present in this fold's training rows (1 for regression)."""
        return len(self.present_classes_) if self.problem.is_classification else 1

    def predict(self, X) -> np.ndarray:
        out = np.asarray(self._predict(X))
        if not self.problem.is_classification:
            return out.reshape(-1).astype(np.float64)
        if out.ndim == 1:  # a binary learner's P(class 1)
            out = np.column_stack([1.0 - out, out])
        full = np.zeros((out.shape[0], self.problem.n_classes), dtype=np.float64)
        full[:, self.present_classes_] = out
        # float32 learners' rows drift from 1 by ~1e-7; metrics such as log_loss check it
        full /= np.clip(full.sum(axis=1, keepdims=True), 1e-12, None)
        return full

    def _out_of_time(self, deadline: float) -> bool:
        if time.time() >= deadline:
            self.stopped_early_by_deadline_ = True
            return True
        return False


@dataclass(frozen=True)
class Family:
    """A model family: its estimator, Tune search space, portfolio and resources."""

    name: str
    estimator: type[FoldEstimator]
    search_space: dict[str, Any]
    portfolio: tuple[dict[str, Any], ...]
    cpus: int = 1
    gpus: bool = False  # can use one GPU per trial (XGBoost, the torch MLP)
    applies_to: tuple[str, ...] = ("binary", "multiclass", "regression")
