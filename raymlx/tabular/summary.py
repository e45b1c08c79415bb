"""``AutoML.fit_summary``: what a fit did, as one dictionary, printed, and as plots.

The summary holds the problem, the path the fit took and why, the time each phase used,
the trials per family (finished, failed or stopped, and the best score), every error, the
stacking decision and the final model's ensemble weights. With ``plot=`` (a folder) it also
draws the leaderboard's out-of-fold scores, the search history (each trial's score against
the time it finished, coloured by family, with the best so far) and the weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raymlx.tabular.explain import plots as _plots
from raymlx.tabular.predictor import FULL_SUFFIX

COLOURS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb",
           "#000000")  # Paul Tol's bright scheme: distinct for colour-blind readers too


def _families(models: Any) -> dict[str, dict[str, Any]]:
    metric = models.metric
    out: dict[str, dict[str, Any]] = {}
    for rec in models.records.values():
        # ensembles are no trials, nor are refit_full's models
        if rec.weights or rec.family == "ensemble" or rec.name.endswith(FULL_SUFFIX):
            continue
        f = out.setdefault(rec.family, {"trials": 0, "finished": 0, "failed_or_stopped": 0,
                                        "best_score_val": None, "best_model": None})
        f["trials"] += 1
        if rec.ok:
            f["finished"] += 1
            if f["best_score_val"] is None or metric.better(rec.score_val, f["best_score_val"]):
                f["best_score_val"], f["best_model"] = float(rec.score_val), rec.name
        else:
            f["failed_or_stopped"] += 1
    return out


def summarise(aml: Any) -> dict[str, Any]:
    """The summary of a fitted predictor as plain data (JSON-able but the leaderboard)."""
    models, problem = aml.models_, aml.problem_
    best = models.records[aml.best_model_]
    settings = getattr(aml, "settings_", None)
    return {
        "problem": {"type": problem.problem_type, "label": problem.label,
                    "classes": list(problem.classes), "metric": problem.metric,
                    "features": problem.n_features},
        "data_path": getattr(aml, "data_path_", None),
        "time_limit_s": getattr(settings, "time_limit", getattr(aml, "time_limit", None)),
        "fit_time_s": getattr(aml, "fit_time_s_", None),
        "phase_times_s": dict(getattr(aml, "phase_times_", {})),
        "trials_per_family": _families(models),
        "errors": [{"model": r.name, "family": r.family, "error": r.error}
                   for r in models.records.values() if r.error],
        "best_model": aml.best_model_,
        "best_score_val": float(best.score_val),
        "ensemble_weights": dict(best.weights),
        "stacking": dict(getattr(aml, "stacking_", {}) or {}),
        "leaderboard": aml.leaderboard(),
    }


def summary_text(summary: dict[str, Any]) -> str:
    """The summary as the lines ``fit_summary`` prints."""
    p = summary["problem"]
    lines = [f"raymlx fit: {p['type']} on {p['label']!r} "
             + (f"({len(p['classes'])} classes) " if p["classes"] else "")
             + f"with {p['features']} prepared features, metric {p['metric']}"]
    if summary["data_path"]:
        lines.append(f"path: {summary['data_path']['path']} ({summary['data_path']['reason']})")
    limit = summary["time_limit_s"]
    if summary["fit_time_s"] is not None:
        lines.append(f"time: {summary['fit_time_s']:.1f} s"
                     + (f" of a {limit:g} s limit" if limit else " (no limit)"))
    for phase, seconds in summary["phase_times_s"].items():
        lines.append(f"  {phase:<32} {seconds:8.1f} s")
    lines.append("trials per family:")
    for fam, f in summary["trials_per_family"].items():
        best = (f"best {f['best_model']} ({f['best_score_val']:.5g})"
                if f["best_model"] else "none finished")
        lines.append(f"  {fam:<14} {f['trials']:3d} trials, {f['finished']:3d} finished, "
                     f"{f['failed_or_stopped']:3d} failed or stopped; {best}")
    score = summary["best_score_val"]
    lines.append(f"final model: {summary['best_model']} " + (
        f"(score_val {score:.5g})" if np.isfinite(score) else "(refit on all rows: no "
        "out-of-fold score; its bagged version's is on the leaderboard)"))
    for member, w in sorted(summary["ensemble_weights"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {w:6.3f}  {member}")
    reason = summary["stacking"].get("reason")
    if reason:
        lines.append(f"stacking: {reason}")
    if summary["errors"]:
        lines.append(f"errors ({len(summary['errors'])}):")
        lines += [f"  {e['model']}: {e['error']}" for e in summary["errors"][:20]]
    return "\n".join(lines)


def _colour_of(families: list[str]) -> dict[str, str]:
    """One colour per family, the same in every plot (families in name order; ensembles
    grey)."""
    names = sorted({f for f in families if f != "ensemble"})
    out = {f: COLOURS[i % (len(COLOURS) - 2)] for i, f in enumerate(names)}
    if "ensemble" in families:
        out["ensemble"] = "#777777"
    return out


def plot_leaderboard(board: pd.DataFrame, metric: str, path: Path, best: str) -> Path:
    """Out-of-fold score of every model that finished, best on top, by family's colour."""
    plt = _plots.pyplot()
    rows = board.dropna(subset=["score_val"]).head(30).iloc[::-1]
    colours = _colour_of(list(board["family"]))
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.6))
    if rows.empty:
        ax.text(0.5, 0.5, "no model has an out-of-fold score", ha="center",
                transform=ax.transAxes)
        ax.set_title("Leaderboard")
        return _plots.save_figure(fig, path)
    ax.barh(rows["model"], rows["score_val"], color=[colours[f] for f in rows["family"]])
    low, high = rows["score_val"].min(), rows["score_val"].max()
    pad = (high - low) * 0.15 or abs(high) * 0.05 or 0.01
    ax.set_xlim(low - pad, high + pad)
    for label in ax.get_yticklabels():
        if label.get_text() == best:
            label.set_fontweight("bold")
    ax.set_xlabel(f"{metric} on the out-of-fold predictions")
    ax.set_title(f"Leaderboard (final model in bold: {best})")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    ax.legend(handles, list(colours), fontsize=7, loc="lower right")
    return _plots.save_figure(fig, path)


def plot_history(models: Any, started: float | None, path: Path) -> Path:
    """Each finished trial's score against when it finished, and the best so far."""
    plt = _plots.pyplot()
    recs = [r for r in models.records.values()
            if r.ok and not r.weights and np.isfinite(getattr(r, "finished_at", np.nan))]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    metric = models.metric
    if recs:
        recs.sort(key=lambda r: r.finished_at)
        t0 = started if started is not None else recs[0].finished_at - recs[0].fit_time_s
        colours = _colour_of([r.family for r in models.records.values()])
        for fam in dict.fromkeys(r.family for r in recs):
            for stacked in (False, True):
                mine = [r for r in recs if r.family == fam and (r.stack_level > 1) == stacked]
                if mine:
                    ax.scatter([r.finished_at - t0 for r in mine], [r.score_val for r in mine],
                               color=colours[fam], marker="^" if stacked else "o", s=30,
                               zorder=3, label=fam if not stacked else f"{fam} (stacked)")
        best, xs, ys = None, [], []
        for r in recs:
            if best is None or metric.better(r.score_val, best):
                best = r.score_val
            xs.append(r.finished_at - t0)
            ys.append(best)
        ax.step(xs, ys, where="post", color="black", lw=1.2, label="best so far")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no trial recorded when it finished", ha="center",
                transform=ax.transAxes)
    ax.set_xlabel("seconds since the fit's time limit began")
    ax.set_ylabel(f"{metric.name} (out-of-fold)")
    ax.set_title("Search history (triangles: stacking layers)")
    return _plots.save_figure(fig, path)


def plot_weights(weights: dict[str, float], name: str, path: Path) -> Path:
    """The final ensemble's weight per member (one bar for a single model)."""
    plt = _plots.pyplot()
    items = sorted(weights.items(), key=lambda kv: kv[1]) or [(name, 1.0)]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(items) + 1.6))
    ax.barh([k for k, _ in items], [v for _, v in items], color=_plots.BLUE)
    ax.set_xlabel("weight in the final model")
    ax.set_xlim(0, 1)
    ax.set_title(f"Ensemble weights of {name}" if weights else
                 f"The final model, {name}, is a single model")
    return _plots.save_figure(fig, path)


def fit_summary(aml: Any, plot: str | Path | None, show: bool) -> dict[str, Any]:
    """The body of :meth:`AutoML.fit_summary`."""
    aml._fitted()
    summary = summarise(aml)
    if plot is not None:
        folder = Path(plot)
        summary["plots"] = {
            "leaderboard": plot_leaderboard(summary["leaderboard"], aml.models_.metric.name,
                                            folder / "leaderboard.png", aml.best_model_),
            "search_history": plot_history(aml.models_, getattr(aml, "fit_started_", None),
                                           folder / "search_history.png"),
            "ensemble_weights": plot_weights(summary["ensemble_weights"], aml.best_model_,
                                             folder / "ensemble_weights.png")}
    if show:
        print(summary_text(summary))
    return summary


__all__ = ["fit_summary", "summarise", "summary_text"]
