"""The model-family extension point: :class:`ModelFamily` and :class:`FoldEstimator`.

A *family* (LightGBM, random forest, your own) declares its Tune search space, a short
portfolio of known-good configurations that are tried before any search (the idea that
carries AutoGluon's accuracy: strong defaults first), whether a trial can use a GPU, the
problem types it applies to, and the estimator class that fits one fold. A family is a
small stateless object; the fit sends it to every trial (pickled by Ray), so trials use the
families the fit was given, not a global table.

Call order, as a fit drives a family::

    family.search_space()        # driver, once per fit: {hyperparameter: Tune domain}
    family.portfolio             # driver: configurations tried before the searcher's
    family.gpus                  # driver: whether a trial asks Ray for one GPU
    family.cuda_usable()         # trial, when Ray granted it a GPU: can it compute there?
    est = family.make_estimator(params, problem, num_threads=1, seed=0, device="cpu")
    est.fit(X, y, X_val, y_val, deadline)     # per fold, in the trial
    est.predict(X)               # (n, n_classes) probabilities, or (n,) values
    family.refit_params(params, fold_models)  # AutoML.refit_full: one model on all rows

``make_estimator`` only stores its arguments. ``X`` is the prepared float32 matrix
(categorical columns hold codes, NaN is missing; ``problem.categorical`` names them), ``y``
the encoded labels (class indices or float values), ``X_val``/``y_val`` the fold's held-out
rows (for early stopping; they may be empty). ``deadline`` is an absolute ``time.time()``: an
iterative learner stops adding rounds, trees or epochs when it reaches it and sets
``stopped_early_by_deadline_``. A fitted estimator is pickled into the trial's checkpoint
and loaded again to predict, possibly on another machine without a GPU.

An iterative learner names the hyperparameter that sets its rounds or epochs
(``FoldEstimator.rounds_param``) and says how many its early stopping kept
(``fitted_rounds``); ``refit_params`` then trains the all-rows model for the mean of its
folds' rounds, with no held-out rows. ``raymlx.testing.FamilyTestCase`` checks all of this
for any family.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from raymlx.tabular.problem import PROBLEM_TYPES, Problem


class FoldEstimator(ABC):
    """Base class of every family's estimator; handles classes missing from a fold.

    A rare class can be absent from one fold's training rows. ``fit`` re-encodes the
    present classes to 0..m-1 (XGBoost insists on it) and ``predict`` expands the
    probabilities back to all ``problem.n_classes`` columns, zero for the unseen classes.
    Subclasses implement :meth:`_fit` and :meth:`_predict` on the re-encoded labels.
    """

    #: the hyperparameter that sets the rounds (or epochs) of an iterative learner; None
    #: for a learner without early stopping, whose refit on all rows keeps its parameters
    rounds_param: str | None = None

    def __init__(self, params: dict[str, Any], problem: Problem, num_threads: int = 1,
                 seed: int = 0, device: str = "cpu") -> None:
        self.params = params
        self.problem = problem
        self.num_threads = num_threads
        self.seed = seed
        self.device = device  # "cuda" only in a trial that Ray gave a usable GPU

    @abstractmethod
    def _fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None,
             y_val: np.ndarray | None, deadline: float) -> None:
        """Fits on re-encoded labels (classes 0..n_fit_classes-1)."""

    @abstractmethod
    def _predict(self, X: np.ndarray) -> np.ndarray:
        """Probabilities over the fit's classes (or P(class 1) for two), or values."""

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None,
            y_val: np.ndarray | None = None, deadline: float | None = None) -> FoldEstimator:
        self.stopped_early_by_deadline_ = False
        deadline = float("inf") if deadline is None else deadline
        if self.problem.is_classification:
            self.present_classes_, y = np.unique(y, return_inverse=True)
            if y_val is not None:
                keep = np.isin(y_val, self.present_classes_)
                X_val = X_val[keep] if X_val is not None else None
                y_val = np.searchsorted(self.present_classes_, y_val[keep])
        self._fit(X, y, X_val, y_val, deadline)
        return self

    @property
    def n_fit_classes(self) -> int:
        """Classes present in this fold's training rows (1 for regression)."""
        return len(self.present_classes_) if self.problem.is_classification else 1

    def predict(self, X: np.ndarray) -> np.ndarray:
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

    def fitted_rounds(self) -> int | None:
        """The rounds (or epochs) the fitted model predicts with, after early stopping;
        None for a learner without them."""
        return None

    def _out_of_time(self, deadline: float) -> bool:
        if time.time() >= deadline:
            self.stopped_early_by_deadline_ = True
            return True
        return False


def per_class_patience(n_classes: int, patience: int = 50) -> int:
    """Early-stopping patience, in rounds, of a booster that grows one tree per class per
    round (LightGBM, XGBoost): ``patience`` for two classes, ``max(20, 100 / K)`` for
    ``K > 2``. A K-class round costs K trees, so 50 idle rounds of a 10-class booster
    are 500 trees; on benchmarks/tabular.py's 10-class table 20 rounds stopped at the same
    round on every fold as 50 did, in 12% less time."""
    return patience if n_classes <= 2 else max(20, round(100 / n_classes))


def per_class_rate(n_classes: int) -> float:
    """The factor on a portfolio configuration's learning rate for a K-class booster:
    ``min(2, 1 + (K - 2) / 8)`` (1 for two classes, 2 from ten). The portfolio runs first
    and must finish fast; a 10-class LightGBM at twice the rate ended its 5 folds in 61%
    of the time with the same out-of-fold log loss (0.0717 vs 0.0729,
    benchmarks/tabular.py's synthetic_10class)."""
    return 1.0 if n_classes <= 2 else min(2.0, 1.0 + (n_classes - 2) / 8)


class ModelFamily(ABC):
    """A model family (see the module docstring for the call order).

    Subclasses set ``name`` and ``estimator`` (class attributes will do) and implement
    :meth:`search_space`; the rest has defaults.
    """

    #: configurations tried before the searcher's, best first (JSON-able values)
    portfolio: tuple[dict[str, Any], ...] = ({},)
    #: a trial of this family can use one GPU (Ray then places it on a GPU node)
    gpus: bool = False
    #: the problem types the family can learn
    applies_to: tuple[str, ...] = PROBLEM_TYPES
    #: the learning-rate parameter of a booster with one tree per class and round: the
    #: portfolio's rate is scaled by :func:`per_class_rate` for many classes
    per_class_rate_param: str | None = None

    @property
    @abstractmethod
    def name(self) -> str:
        """Identifies the family in configurations, the leaderboard and ``families=``."""

    @property
    @abstractmethod
    def estimator(self) -> type[FoldEstimator]:
        """The :class:`FoldEstimator` subclass that fits one fold."""

    @abstractmethod
    def search_space(self) -> dict[str, Any]:
        """``{hyperparameter: Tune domain or constant}`` the searcher explores."""

    def cuda_usable(self) -> bool:
        """Whether this family's library can compute on the GPU Ray assigned to the
        calling trial (asked only when Ray assigned one)."""
        return False

    def refit_params(self, params: dict[str, Any],
                     fold_models: Sequence[FoldEstimator]) -> dict[str, Any]:
        """The parameters of one model trained on all rows in place of the bag
        ``fold_models`` fitted with ``params``: the mean of the folds' early-stopping
        points as ``rounds_param`` (the full model has no held-out rows to stop on), or
        ``params`` unchanged for a learner without rounds."""
        key = self.estimator.rounds_param
        rounds = [m.fitted_rounds() for m in fold_models]
        kept = [r for r in rounds if r is not None]
        if key is None or not rounds or len(kept) < len(rounds):
            return dict(params)
        return {**params, key: max(1, int(round(float(np.mean(kept)))))}

    def make_estimator(self, params: dict[str, Any], problem: Problem, num_threads: int = 1,
                       seed: int = 0, device: str = "cpu") -> FoldEstimator:
        """An unfitted estimator for one fold."""
        return self.estimator(params, problem, num_threads=num_threads, seed=seed,
                              device=device)

    def __repr__(self) -> str:
        return f"<model family {self.name!r}>"
