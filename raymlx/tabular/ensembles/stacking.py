"""Multi-layer stack ensembling over bagged models (Wolpert 1992, "Stacked generalization";
the layered, bagged form of Erickson et al. 2020, "AutoGluon-Tabular").

Layer 1 is the model search. Each layer above trains *stackers* on the original features
plus the out-of-fold predictions of the best models of the layer below, bagged over the same
folds, so no stacker ever sees a prediction made by a model that trained on that row. The
stackers reuse the families and the best configuration of each family found in layer 1. A
final greedy ensemble selection runs over the top layer.

The out-of-fold arrays are the ones layer 1's trials put in the
:class:`~raymlx.tabular.engine.oof_store.OutOfFoldStore`: a stacker trial receives their
ObjectRefs and reads them zero-copy, so each array is held once however many stackers read
it. At predict time the lower layer's *bag averages* take the place of its out-of-fold
predictions.

Stacked overfitting: with the same folds at every layer, a stacker's training features for
fold k were made by lower models that saw fold k's rows, so its out-of-fold score is a little
optimistic and stacking can hurt on some tables. :func:`holdout_rows` sets aside rows that no
layer trains on; the fit keeps the stack only when it beats layer 1 there (AutoGluon's
"dynamic stacking" check, done once here, without refitting afterwards).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from raymlx.tabular.metrics import Metric
from raymlx.tabular.problem import BINARY

STACK_INPUTS = 10  # best models of the layer below whose predictions a stacker reads
STACKERS = 6  # families (best configuration each) trained per stacking layer
HOLDOUT_FRACTION = 1 / 9  # AutoGluon's default for its dynamic-stacking check
MIN_HOLDOUT_ROWS = 50  # below this the check is too noisy to trust; stacking is kept


def stack_columns(predictions: Sequence[np.ndarray], problem_type: str) -> np.ndarray:
    """The lower layer's predictions as float32 feature columns: P(class 1) for binary
    (the other column is redundant), every class column for multiclass, the value for
    regression."""
    cols = []
    for p in predictions:
        p = np.asarray(p)
        if problem_type == BINARY:
            cols.append(p[:, 1:2])
        elif p.ndim == 2:
            cols.append(p)
        else:
            cols.append(p.reshape(-1, 1))
    return np.hstack(cols).astype(np.float32)


def stacked_features(X: np.ndarray, predictions: Sequence[np.ndarray],
                     problem_type: str) -> np.ndarray:
    """The original features followed by the stack columns of ``predictions``."""
    return np.hstack([X, stack_columns(predictions, problem_type)])


def stack_width(n_inputs: int, problem_type: str, n_classes: int) -> int:
    """How many columns :func:`stack_columns` adds for ``n_inputs`` models."""
    return n_inputs * (n_classes if problem_type == "multiclass" else 1)


def _ranked(records: Sequence[Any], metric: Metric) -> list[Any]:
    return metric.best_first(r for r in records if r.ok and not r.weights and r.trial_id)


def choose_inputs(records: Sequence[Any], metric: Metric,
                  k: int = STACK_INPUTS) -> list[Any]:
    """The ``k`` best bagged models of a layer (by out-of-fold score): the stackers' inputs."""
    return _ranked(records, metric)[:k]


def choose_stackers(records: Sequence[Any], metric: Metric,
                    k: int = STACKERS) -> list[dict[str, Any]]:
    """The best configuration of each family in ``records``, best family first, at most
    ``k``: what the next layer trains, as Tune configurations."""
    out, seen = [], set()
    for rec in _ranked(records, metric):
        if rec.family not in seen:
            seen.add(rec.family)
            out.append({"model": {"family": rec.family, "params": dict(rec.config)}})
    return out[:k]


def holdout_rows(y: np.ndarray, stratify: bool, seed: int,
                 fraction: float = HOLDOUT_FRACTION) -> np.ndarray | None:
    """A boolean mask of the rows held out for the stacking check, or None when the table
    is too small for a holdout of :data:`MIN_HOLDOUT_ROWS` rows."""
    n_hold = int(round(len(y) * fraction))
    if n_hold < MIN_HOLDOUT_ROWS:
        return None
    strat = y if stratify and np.bincount(y).min() >= 2 else None
    _, held = train_test_split(np.arange(len(y)), test_size=n_hold, random_state=seed,
                               stratify=strat)
    mask = np.zeros(len(y), dtype=bool)
    mask[held] = True
    return mask


def keep_stack(layer1_score: float, top_score: float, metric: Metric) -> bool:
    """Whether the stack's holdout score beats layer 1's; a tie keeps the simpler layer 1."""
    return metric.sign() * top_score > metric.sign() * layer1_score


def layer_share(levels: int) -> float:
    """Layer 1's share of the search time when ``levels`` stacking layers follow: each
    stacking layer trains a handful of fixed configurations, so it gets 0.4 of layer 1's
    time (layer 1 keeps 71% with one stacking layer)."""
    return 1.0 / (1.0 + 0.4 * levels)
