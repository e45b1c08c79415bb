"""Small data and supernets shared by the NAS tests."""

from __future__ import annotations

import numpy as np
import torch

from raymlx.nas.datasets import load_digits_images
from raymlx.nas.spaces import build_supernet
from raymlx.nas.standardize import input_statistics


def digits(n: int | None = None, flat: bool = False):
    X, y = load_digits_images()
    if n is not None:
        X, y = X[:n], y[:n]
    if flat:
        X = X.reshape(len(X), -1)
    return X, y


def supernet(space: str, X: np.ndarray, n_classes: int = 10, seed: int = 0, **options):
    mean, std = input_statistics(X)
    return build_supernet(space, tuple(X.shape[1:]), n_classes, mean, std, seed=seed,
                          options=options or None)


def tensors(X, y):
    return torch.from_numpy(np.asarray(X, dtype=np.float32)), torch.from_numpy(
        np.asarray(y, dtype=np.int64))
