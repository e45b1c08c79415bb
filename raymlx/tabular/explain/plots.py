"""The explanation plots, one PNG per kind, drawn with matplotlib (Agg, no display).

Each figure has a title naming the model and what is shown, labelled axes, and sizes that
grow with the number of rows or panels, so labels do not overlap; long model names are
shortened in tick labels only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BLUE, RED, GREY = "#4477aa", "#cc6677", "#999999"
TOP = 15  # features shown in the importance and contribution plots


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path) -> Path:
    """Lays ``fig`` out, writes it as PNG at ``path`` (making its folder) and closes it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


def importance(table: pd.DataFrame, path: str | Path, metric: str,
               title: str | None = None) -> Path:
    """Horizontal bars of permutation importance with their standard deviation, best on
    top; columns whose p-value is under 0.05 are drawn dark."""
    plt = pyplot()
    t = table.head(TOP).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(t) + 1.5))
    sig = t["p_value"] < 0.05 if "p_value" in t else pd.Series(True, index=t.index)
    ax.barh(t["feature"].astype(str), t["importance"], xerr=t["stddev"],
            color=[BLUE if s else GREY for s in sig])
    ax.set_xlabel(f"drop in {metric} when the column is shuffled")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_title(title or "Permutation importance (grey: p ≥ 0.05)")
    return save_figure(fig, path)


def contributions(values: pd.DataFrame, frame: pd.DataFrame, path: str | Path,
                  title: str, xlabel: str = "contribution to the prediction") -> Path:
    """The summary of per-row contributions: one strip of dots per column (most important
    on top), each dot a row, coloured by the column's value (numbers; grey otherwise)."""
    plt = pyplot()
    order = values.abs().mean().sort_values(ascending=False).index[:TOP][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(order) + 1.6))
    rng = np.random.default_rng(0)
    points = None
    for k, col in enumerate(order):
        x = values[col].to_numpy()
        y = k + rng.uniform(-0.3, 0.3, len(x))
        raw = frame[col] if col in frame else None
        if raw is not None and pd.api.types.is_numeric_dtype(raw) \
                and not pd.api.types.is_bool_dtype(raw):
            v = raw.to_numpy(dtype=float)
            lo, hi = np.nanpercentile(v, [5, 95]) if np.isfinite(v).any() else (0, 1)
            c = np.clip((v - lo) / ((hi - lo) or 1.0), 0, 1)
            points = ax.scatter(x, y, c=c, cmap="coolwarm", s=9, vmin=0, vmax=1)
        else:
            ax.scatter(x, y, color=GREY, s=9)
    ax.set_yticks(range(len(order)), [str(c) for c in order])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if points is not None:
        bar = fig.colorbar(points, ax=ax, ticks=[0, 1], pad=0.01)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("column value")
    return save_figure(fig, path)


def dependence(pdp: pd.DataFrame, ice: pd.DataFrame, path: str | Path, title: str,
               output: str, max_lines: int = 50) -> Path:
    """One panel per column: thin ICE lines (up to ``max_lines`` rows) under the thick
    partial dependence line; one line per class for more than two classes."""
    plt = pyplot()
    features = list(dict.fromkeys(pdp["feature"]))
    cols = min(3, len(features)) or 1
    rows = (len(features) + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows + 0.6), squeeze=False)
    multi = "class" in pdp and pdp["class"].nunique() > 1
    for ax, name in zip(axes.flat, features):
        part = pdp[pdp["feature"] == name]
        numeric = bool(pd.to_numeric(part["value"], errors="coerce").notna().all())
        x_of = (lambda v: pd.to_numeric(v).to_numpy()) if numeric else \
            (lambda v: [str(x) for x in v])
        if not multi and len(ice):
            lines = ice[ice["feature"] == name]
            for _, one in list(lines.groupby("row"))[:max_lines]:
                ax.plot(x_of(one["value"]), one["prediction"], color=GREY, lw=0.6, alpha=0.5)
        if multi:
            for label, one in part.groupby("class"):
                ax.plot(x_of(one["value"]), one["average"], lw=2, label=str(label))
            ax.legend(fontsize=7, title="class", title_fontsize=7)
        else:
            ax.plot(x_of(part["value"]), part["average"], color=BLUE, lw=2.5)
        ax.set_xlabel(str(name))
        ax.set_ylabel(output)
        if not numeric:
            ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    for ax in list(axes.flat)[len(features):]:
        ax.set_visible(False)
    fig.suptitle(title)
    return save_figure(fig, path)


def residuals(table: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Residual against prediction, and the residuals' histogram."""
    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.scatter(table["prediction"], table["residual"], s=8, color=BLUE, alpha=0.6)
    a.axhline(0, color="black", lw=0.8)
    a.set_xlabel("prediction")
    a.set_ylabel("residual (label − prediction)")
    b.hist(table["residual"], bins=40, color=BLUE)
    b.set_xlabel("residual")
    b.set_ylabel("rows")
    fig.suptitle(title)
    return save_figure(fig, path)


def heatmap(matrix: pd.DataFrame, path: str | Path, title: str, label: str,
            fmt: str = "{:.2f}", cmap: str = "viridis", row_share: bool = False) -> Path:
    """A matrix with every cell's number written in it; ``row_share`` colours each row by
    its share of the row's total (a confusion matrix's recall per class)."""
    plt = pyplot()
    data = matrix.to_numpy(dtype=float)
    colour = data / np.clip(data.sum(axis=1, keepdims=True), 1e-12, None) if row_share \
        else data
    n_rows, n_cols = data.shape
    fig, ax = plt.subplots(figsize=(max(5.5, 0.75 * n_cols + 3), max(4.0, 0.5 * n_rows + 2)))
    image = ax.imshow(colour, cmap=cmap, aspect="auto")
    ax.set_xticks(range(n_cols), [_short(str(c)) for c in matrix.columns], rotation=45,
                  ha="right", fontsize=8)
    ax.set_yticks(range(n_rows), [_short(str(r)) for r in matrix.index], fontsize=8)
    for i in range(n_rows):
        for j in range(n_cols):
            if np.isfinite(data[i, j]):
                r, g, b, _ = image.cmap(image.norm(colour[i, j]))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # the cell's luminance
                ax.text(j, i, fmt.format(data[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    if matrix.columns.name:
        ax.set_xlabel(str(matrix.columns.name))
    if matrix.index.name:
        ax.set_ylabel(str(matrix.index.name))
    fig.colorbar(image, ax=ax, label=label)
    ax.set_title(title)
    return save_figure(fig, path)


def row_contributions(contrib: pd.Series, base: float, prediction: float,
                      path: str | Path, title: str) -> Path:
    """One row: its largest contributions as bars from the base value to the prediction."""
    plt = pyplot()
    top = contrib.reindex(contrib.abs().sort_values(ascending=False).index[:TOP])[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(top) + 1.6))
    ax.barh([str(i) for i in top.index], top.to_numpy(),
            color=[BLUE if v >= 0 else RED for v in top.to_numpy()])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"contribution (base {base:.4g} → prediction {prediction:.4g})")
    ax.set_title(title)
    return save_figure(fig, path)


__all__ = ["contributions", "dependence", "heatmap", "importance", "pyplot", "residuals",
           "row_contributions", "save_figure"]
