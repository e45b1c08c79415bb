"""Greedy ensemble selection with replacement (Caruana, Niculescu-Mizil, Crew & Ksikes,
ICML 2004, "Ensemble selection from libraries of models").

Start from an empty ensemble; at each step add (with replacement) the model whose addition
gives the best score of the averaged predictions on the selection set; the weights are how
often each model was picked. As the paper advises, the ensemble returned is the best one
seen along the way (the hill-climbing curve can fall at the end). Ties go to the model that
comes first, so callers list models best first.

Written by hand because it is a dozen lines and no well-kept library exposes it on plain
arrays; the scoring itself is any :class:`raymlx.tabular.metrics.Metric` (sklearn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Selection:
    weights: np.ndarray  # one per model, summing to 1
    score: float  # score of the weighted average on the selection set
    trajectory: list[float]  # best score after each step


def greedy_ensemble_selection(
    predictions: list[np.ndarray],
    y: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    mode: str = "max",
    n_iterations: int = 25,
) -> Selection:
    """Caruana's forward selection with replacement over ``predictions`` of the same rows."""
    if not predictions:
        raise ValueError("ensemble selection needs at least one model's predictions")
    sign = 1.0 if mode == "max" else -1.0
    counts = np.zeros(len(predictions), dtype=np.int64)
    total = np.zeros_like(predictions[0], dtype=np.float64)
    trajectory: list[float] = []
    best_score, best_counts = -np.inf, None
    for step in range(1, n_iterations + 1):
        scores = [sign * score(y, (total + p) / step) for p in predictions]
        j = int(np.nanargmax(scores)) if not np.all(np.isnan(scores)) else 0
        counts[j] += 1
        total += predictions[j]
        trajectory.append(sign * scores[j])
        if scores[j] > best_score:
            best_score, best_counts = scores[j], counts.copy()
    assert best_counts is not None  # set at the first step: scores beat -inf
    weights = best_counts / best_counts.sum()
    return Selection(weights=weights, score=sign * best_score, trajectory=trajectory)
