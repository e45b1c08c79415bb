"""Input standardisation stored inside a network, so a saved model carries its own scaling.

Images are scaled per channel, tables per column, with the training set's mean and standard
deviation; a constant channel or column keeps a standard deviation of 1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def input_statistics(X: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation per channel (NCHW) or per column (2-D)."""
    X = np.asarray(X, dtype=np.float64)
    axes = (0, 2, 3) if X.ndim == 4 else (0,)
    mean, std = X.mean(axis=axes), X.std(axis=axes)
    std = np.where(std > 1e-8, std, 1.0)
    shape = (1, -1, 1, 1) if X.ndim == 4 else (1, -1)
    return (torch.tensor(mean, dtype=torch.float32).reshape(shape),
            torch.tensor(std, dtype=torch.float32).reshape(shape))


class Standardize(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
