"""A plot of the architecture weights over the epochs of a search: one panel per decision
(a DARTS edge, a chain block, an MLP layer), softmax(alpha) of each candidate per epoch."""

from __future__ import annotations

import math
import os
from pathlib import Path

from raymlx.nas.ops import DARTS_OPS


def _series(history: list[dict]) -> dict[str, list[list[float]]]:
    """decision name -> per epoch, the candidates' probabilities."""
    out: dict[str, list[list[float]]] = {}
    for record in history:
        for key, probs in record["probabilities"].items():
            rows = probs if isinstance(probs[0], list) else [probs]
            for r, row in enumerate(rows):
                name = f"{key}[{r}]" if len(rows) > 1 else key
                out.setdefault(name, []).append(row)
    return out


def plot_architecture_weights(history: list[dict], path: str | os.PathLike,
                              max_panels: int = 28) -> Path:
    """Writes a PNG grid of softmax(alpha) per decision over epochs; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("the search history is empty")
    series = _series(history)
    names = list(series)[:max_panels]
    cols = min(7, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 1.9 * rows + 0.8),
                             squeeze=False, sharex=True)
    epochs = [r["epoch"] for r in history]
    width = len(next(iter(series.values()))[0])
    labels = list(DARTS_OPS) if width == len(DARTS_OPS) and "normal[0]" in series else None
    for ax, name in zip(axes.flat, names):
        data = series[name]
        for j in range(len(data[0])):
            ax.plot(epochs, [row[j] for row in data], lw=1,
                    label=labels[j] if labels else None)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    if labels:
        fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="lower center",
                   ncol=4, fontsize=7)
    fig.suptitle("architecture weights softmax(alpha) per epoch", fontsize=10)
    fig.tight_layout(rect=(0, 0.06 if labels else 0, 1, 0.96))
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
