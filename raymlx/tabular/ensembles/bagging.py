"""k-fold bagging: one model per fold, out-of-fold predictions for every training row.

Each row's out-of-fold prediction comes from the fold model that never saw it, so these
predictions are honest validation scores and safe inputs for ensembling and stacking. At
predict time the bag averages its fold models (the approach of AutoGluon's bagged models:
no refit on all data, so no extra time and no unvalidated model).

Folds are computed once per fit (stratified for classification, sklearn splitters) and
shared by every trial, which is what makes their out-of-fold predictions comparable.

Repeated bagging (AutoGluon's ``num_bag_sets``): with n repeats of k folds, each repeat
splits the rows anew and the bag keeps all n*k fold models; a row's out-of-fold prediction
is the mean over the repeats of the model that did not see it in that repeat, so it stays
out-of-fold while its variance falls. Repeats after the first run only while time allows.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.problem import Problem


class OutOfTime(RuntimeError):
    """A bag could not finish all its folds before the deadline."""


def assign_folds(y: np.ndarray, num_folds: int, stratify: bool, seed: int) -> np.ndarray:
    """The fold number (0..k-1) of every row."""
    fold = np.empty(len(y), dtype=np.int8)
    rows = np.zeros(len(y))
    if stratify and np.bincount(y).max() >= num_folds:
        with warnings.catch_warnings():  # a class rarer than k cannot be in every fold
            warnings.simplefilter("ignore", UserWarning)
            splits = list(StratifiedKFold(num_folds, shuffle=True, random_state=seed)
                          .split(rows, y))
    else:
        splits = list(KFold(num_folds, shuffle=True, random_state=seed).split(rows))
    for k, (_, val) in enumerate(splits):
        fold[val] = k
    return fold


def assign_repeated_folds(y: np.ndarray, num_folds: int, stratify: bool, seed: int,
                          repeats: int) -> np.ndarray:
    """``(repeats, rows)`` fold numbers; repeat r splits with seed ``seed + r``."""
    return np.stack([assign_folds(y, num_folds, stratify, seed + r) for r in range(repeats)])


@dataclass
class Bag:
    """A fitted bag: its fold models and their out-of-fold predictions."""

    models: list[FoldEstimator]
    oof: np.ndarray
    fit_time_s: float
    predict_time_s: float
    truncated: int = 0  # folds whose learner stopped early at its share of the time
    repeats: int = 1  # repeats of k-fold bagging completed


def fit_bag(
    family: ModelFamily,
    params: dict,
    problem: Problem,
    X: np.ndarray,
    y: np.ndarray,
    fold: np.ndarray,
    deadline: float,
    num_threads: int = 1,
    seed: int = 0,
    on_fold: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
    device: str = "cpu",
) -> Bag:
    """Fits ``family`` once per fold, finishing by ``deadline``.

    Each fold gets an equal share of the time left (``(deadline - now) / folds left``);
    an iterative learner that reaches the end of its share stops adding rounds, trees or
    epochs and keeps the model it has, so a bag started late comes back smaller instead
    of failing (``Bag.truncated`` counts such folds). :class:`OutOfTime` is raised only
    when no time at all is left for a fold. ``on_fold(folds_done, oof, validated)`` is
    called after each fold of the first repeat but the last (``validated``: the rows
    predicted so far); the trial uses it to report a partial score to a scheduler, which
    may stop the bag there.

    ``fold`` is one fold number per row, or ``(repeats, rows)`` of them
    (:func:`assign_repeated_folds`). The first repeat always runs; each further one starts
    only if a repeat, timed on those done so far, fits in half the time left, so that a
    trial late in the fit leaves time for the others.
    """
    folds = np.atleast_2d(fold)
    num_folds = int(folds[0].max()) + 1
    width = problem.n_classes if problem.is_classification else None
    oof_sum = np.zeros((len(y), width) if width else len(y), dtype=np.float64)
    models: list[FoldEstimator] = []
    fit_time, predict_time, truncated, repeats = 0.0, 0.0, 0, 0
    started = time.time()
    for r, fold_r in enumerate(folds):
        if r > 0 and (time.time() - started) / r > (deadline - time.time()) / 2:
            break
        oof = np.zeros_like(oof_sum)
        for k in range(num_folds):
            left = deadline - time.time()
            if left <= 0:
                if r > 0:  # a repeat cut short is dropped; the finished ones stand
                    return Bag(models[:r * num_folds], oof_sum / r, fit_time, predict_time,
                               truncated, r)
                raise OutOfTime(f"the time limit came before fold {k + 1} of {num_folds}")
            train, val = fold_r != k, fold_r == k
            t0 = time.time()
            est = family.make_estimator(params, problem, num_threads=num_threads,
                                        seed=seed + k + r * num_folds, device=device)
            est.fit(X[train], y[train], X[val], y[val], deadline=t0 + left / (num_folds - k))
            t1 = time.time()
            truncated += bool(est.stopped_early_by_deadline_)
            oof[val] = est.predict(X[val])
            predict_time += time.time() - t1
            fit_time += t1 - t0
            models.append(est)
            if on_fold is not None and r == 0 and k + 1 < num_folds:
                on_fold(k + 1, oof, fold_r <= k)
        oof_sum += oof
        repeats += 1
    return Bag(models, oof_sum / repeats, fit_time, predict_time, truncated, repeats)


def predict_bag(models: list[FoldEstimator], X: np.ndarray) -> np.ndarray:
    """The average of the fold models' predictions."""
    if len(models) == 1:  # a model refit on all rows
        return models[0].predict(X)
    return np.mean([m.predict(X) for m in models], axis=0)
