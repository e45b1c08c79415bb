"""``AutoML.explain`` and ``AutoML.explain_row``: every kind of explanation of a predictor,
as tables and PNGs (the set H2O's ``explain()`` gives, on raymlx's models).

Kinds (:data:`KINDS`): ``importance`` (permutation, with p-values), ``shap`` (per-row
contributions, :mod:`.contributions`), ``pdp`` and ``ice`` for the most important columns
(:mod:`.dependence`), ``residuals`` (regression) or ``confusion`` (classification),
``model_correlation`` and ``importance_heatmap`` across the leaderboard's models
(:mod:`.diagnostics`, :mod:`.importance`). Kinds that score need the label column in the
data; the others explain unlabelled rows too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.explain import plots
from raymlx.tabular.explain.contributions import Contributions, contributions
from raymlx.tabular.explain.dependence import dependence, grid, training_grid
from raymlx.tabular.explain.diagnostics import confusion, model_correlation, residuals
from raymlx.tabular.explain.importance import importance_by_model, permutation_importances

KINDS = ("importance", "shap", "pdp", "ice", "residuals", "confusion", "model_correlation",
         "importance_heatmap")
LABELLED = {"importance", "residuals", "confusion", "importance_heatmap"}
DEPENDENCE_ROWS = 200  # rows whose ICE lines are computed (each costs a prediction per grid value)
HEATMAP_MODELS = 6


@dataclass
class Explanation:
    """What :meth:`AutoML.explain` found: ``tables[kind]`` (also ``explanation[kind]``),
    ``plots[kind]`` (PNG paths, with ``plot_dir``), ``notes[kind]`` (how a kind was computed
    or why a model is left out) and ``contributions`` (the ``shap`` kind's details)."""

    model: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    contributions: Contributions | None = None

    def __getitem__(self, kind: str) -> pd.DataFrame:
        if kind not in self.tables:
            raise KeyError(f"{kind!r} was not computed; kinds here: {sorted(self.tables)}")
        return self.tables[kind]

    def write_tables(self, folder: str | Path) -> dict[str, Path]:
        """Writes every table as ``<kind>.csv`` into ``folder``; returns {kind: path}."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for kind, table in self.tables.items():
            out[kind] = folder / f"{kind}.csv"
            table.to_csv(out[kind], index=kind not in ("importance", "pdp", "ice"))
        return out

    def __repr__(self) -> str:
        lines = [f"Explanation of {self.model}:"]
        for kind, table in self.tables.items():
            lines.append(f"  {kind}: {table.shape[0]} x {table.shape[1]} table"
                         + (f", plot {self.plots[kind]}" if kind in self.plots else ""))
        lines += [f"  note ({k}): {v}" for k, v in self.notes.items()]
        return "\n".join(lines)


@dataclass
class RowExplanation:
    """One row: ``contributions`` (per column, largest first; None when the model has
    none, see ``note``), ``base_value`` + their sum = ``prediction`` (of ``output``; when
    ``note`` names ensemble members left out, the sum is that of the members explained),
    and ``ice``: the row's prediction as each top column moves over its grid."""

    output: str
    prediction: float
    base_value: float | None
    contributions: pd.Series | None
    ice: pd.DataFrame
    note: str | None = None
    plot: Path | None = None


def _kinds(aml: Any, kinds: list[str] | tuple[str, ...] | None, labelled: bool) -> list[str]:
    classify = aml.problem_.is_classification
    if kinds is None:
        chosen = [k for k in KINDS if k != ("residuals" if classify else "confusion")]
        return [k for k in chosen if labelled or k not in LABELLED]
    if isinstance(kinds, str):
        kinds = [kinds]
    for k in kinds:
        if k not in KINDS:
            raise InputError(f"unknown explanation kind {k!r}; choose from {', '.join(KINDS)}")
    if classify and "residuals" in kinds:
        raise InputError("residuals are for regression; a classifier's errors are in the "
                         "'confusion' kind")
    if not classify and "confusion" in kinds:
        raise InputError("confusion is for classification; a regressor's errors are in the "
                         "'residuals' kind")
    need = [k for k in kinds if k in LABELLED]
    if need and not labelled:
        raise InputError(f"{', '.join(need)} score the predictor, so the data needs the "
                         f"label column {aml.problem_.label!r}")
    return list(dict.fromkeys(kinds))


def _output_name(aml: Any) -> str:
    p = aml.problem_
    if not p.is_classification:
        return f"predicted {p.label}"
    return f"P({p.label}={p.classes[1]})" if len(p.classes) == 2 else "probability"


def _score_for(aml: Any, label: str):
    """``score_for(model)``: model's score of (features, label) frames, higher is better."""
    sign = aml.models_.metric.sign()

    def score_for(name: str | None):
        def score(frame: pd.DataFrame, y: pd.Series) -> float:
            return sign * aml.score(frame.assign(**{label: y.to_numpy()}), model=name)
        return score
    return score_for


def _top_features(aml: Any, tables: dict[str, pd.DataFrame], contrib: Contributions | None,
                  frame: pd.DataFrame, n: int) -> list[str]:
    """The ``n`` most important columns with a grid: neither dropped by the fit nor dates."""
    if "importance" in tables:
        ranked = list(tables["importance"]["feature"])
    elif contrib is not None:
        ranked = list(contrib.values.abs().mean().sort_values(ascending=False).index)
    else:
        ranked = list(frame.columns)
    kinds = {c.name: c.kind for c in getattr(aml.preprocessor_, "columns_", [])}
    usable = [c for c in ranked if kinds.get(c, "datetime") != "datetime" and c in frame]
    return [c for c in usable if grid(frame[c]) is not None][:n]


def explain_predictor(aml: Any, data: Any, kinds: list[str] | None, plot_dir: Any,
                      model: str | None, n_repeats: int, max_rows: int,
                      top_features: int) -> Explanation:
    """The body of :meth:`AutoML.explain`."""
    from raymlx.tabular.data import load_table

    aml._fitted()
    name = model or aml.best_model_
    aml.models_.get(name)  # an unknown or failed model is a one-line error here
    label = str(aml.problem_.label)
    raw = load_table(data, "explanation data")
    labelled = label in raw.columns and bool(raw[label].notna().any())
    if label in raw.columns and not labelled:  # a placeholder label column with no value
        raw = raw.drop(columns=[label])
    chosen = _kinds(aml, kinds, labelled)
    if labelled:
        df, X, y = aml._labelled(raw, "explanation data")
    else:
        df, X = aml._features(raw, "explanation data")
    if len(df) > max_rows:
        keep = np.sort(np.random.default_rng(aml.seed).choice(len(df), max_rows, replace=False))
        df, X = df.iloc[keep], X[keep]
        y = y[keep] if labelled else None
    features = df.drop(columns=[label]) if labelled else df
    out = Explanation(name)
    folder = Path(plot_dir) if plot_dir is not None else None
    title, metric, score_for = name, aml.models_.metric, _score_for(aml, label)
    if "importance" in chosen:
        out.tables["importance"] = permutation_importances(score_for(name), features,
                                                           df[label], n_repeats, aml.seed)
        if folder:
            out.plots["importance"] = plots.importance(
                out.tables["importance"], folder / "importance.png", metric.name,
                f"Permutation importance, {title} (grey: p ≥ 0.05)")
    c = None
    if "shap" in chosen:
        try:
            c = contributions(aml, features, X, name)
        except InputError as e:
            if kinds is not None:  # asked for by name: say so; among all kinds: a note
                raise
            out.notes["shap"] = str(e)
    if c is not None:
        out.contributions, out.tables["shap"] = c, c.values
        if c.note:
            out.notes["shap"] = c.note
        if folder:
            shown = c.values
            if aml.problem_.is_classification:
                k, cols = len(aml.problem_.classes), c.values.columns
                vals = c.values.to_numpy().reshape(len(features), k, len(cols))  # row order
                # two classes: the positive one's; more: |contribution| summed over classes
                shown = pd.DataFrame(vals[:, 1, :] if k == 2 else np.abs(vals).sum(axis=1),
                                     index=features.index, columns=cols)
            many = aml.problem_.is_classification and len(aml.problem_.classes) > 2
            out.plots["shap"] = plots.contributions(
                shown, features, folder / "shap.png",
                f"Contributions to {'the class probabilities' if many else _output_name(aml)}"
                f", {title}", "|contribution| summed over the classes" if many
                else "contribution to the prediction")
    if "pdp" in chosen or "ice" in chosen:
        top = _top_features(aml, out.tables, out.contributions, features, top_features)
        rows = features.sample(min(len(features), DEPENDENCE_ROWS), random_state=aml.seed)
        pdp, ice = dependence(aml, rows, top, name)
        for kind, table in (("pdp", pdp), ("ice", ice)):
            if kind in chosen:
                out.tables[kind] = table
                if folder and len(pdp):
                    out.plots[kind] = plots.dependence(
                        pdp, ice if kind == "ice" else ice.iloc[:0], folder / f"{kind}.png",
                        f"{'Partial dependence' if kind == 'pdp' else 'ICE and PD'}, {title}",
                        _output_name(aml))
    if "residuals" in chosen:
        out.tables["residuals"] = residuals(y, aml.models_.predict(X, name), df.index)
        if folder:
            out.plots["residuals"] = plots.residuals(out.tables["residuals"],
                                                     folder / "residuals.png",
                                                     f"Residuals, {title}")
    if "confusion" in chosen:
        proba = aml.models_.predict(X, name)
        out.tables["confusion"] = confusion(y, aml.models_.decide(proba, name),
                                            list(aml.problem_.classes))
        if folder:
            out.plots["confusion"] = plots.heatmap(
                out.tables["confusion"], folder / "confusion.png",
                f"Confusion matrix, {title}", "share of the true class", fmt="{:.0f}",
                cmap="Blues", row_share=True)
    if "model_correlation" in chosen:
        matrix, source = model_correlation(aml, X)
        out.tables["model_correlation"] = matrix
        out.notes["model_correlation"] = f"correlation of the models' predictions ({source})"
        if folder:
            out.plots["model_correlation"] = plots.heatmap(
                matrix, folder / "model_correlation.png",
                f"Correlation of the models' predictions ({source})", "Pearson correlation")
    if "importance_heatmap" in chosen:
        ranked = aml.models_.metric.best_first(aml.models_.usable())
        names = [r.name for r in ranked[:HEATMAP_MODELS]]
        heat = importance_by_model(score_for, features, df[label], names,
                                   max(2, min(n_repeats, 3)), aml.seed)
        heat.columns.name, heat.index.name = "model", "column"
        out.tables["importance_heatmap"] = heat
        if folder:
            out.plots["importance_heatmap"] = plots.heatmap(
                heat, folder / "importance_heatmap.png",
                "Permutation importance by model", f"drop in {metric.name}", fmt="{:.3f}")
    return out


def _one_row(row: Any) -> pd.DataFrame:
    if isinstance(row, pd.Series):
        return row.to_frame().T.infer_objects()
    if isinstance(row, dict):
        return pd.DataFrame([row])
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise InputError(f"explain_row explains one row; this frame has {len(row)}")
        return row
    raise InputError(f"explain_row needs a one-row DataFrame, a Series or a dict, not "
                     f"{type(row).__name__}")


def explain_row(aml: Any, row: Any, data: Any, model: str | None, top_features: int,
                plot: Any) -> RowExplanation:
    """The body of :meth:`AutoML.explain_row`."""
    from raymlx.tabular.data import load_table

    aml._fitted()
    name = model or aml.best_model_
    aml.models_.get(name)
    label = str(aml.problem_.label)
    frame = _one_row(row).drop(columns=[label], errors="ignore")
    frame, X = aml._features(frame, "the row")
    problem = aml.problem_
    pred = aml.models_.predict(X, name)[0]
    klass = (problem.classes[int(aml.models_.decide(pred[None, :], name)[0])]
             if problem.is_classification else None)
    output = f"P({label}={klass})" if klass is not None else f"predicted {label}"
    prediction = float(pred[list(problem.classes).index(klass)] if klass is not None
                       else pred)
    series = base = note = None
    try:
        c = contributions(aml, frame, X, name)
        values = c.values.xs(klass, level="class") if klass is not None else c.values
        base_s = c.base_value.xs(klass, level="class") if klass is not None else c.base_value
        series, base, note = values.iloc[0], float(base_s.iloc[0]), c.note
        series = series.reindex(series.abs().sort_values(ascending=False).index)
        ranked = list(series.index)
    except InputError as e:
        note, ranked = str(e), list(frame.columns)
    background = load_table(data, "background data") if data is not None else None
    grids = {}
    kinds = {c.name: c.kind for c in getattr(aml.preprocessor_, "columns_", [])}
    for col in [c for c in ranked if kinds.get(c, "datetime") != "datetime"]:
        g = grid(background[col]) if background is not None and col in background \
            else training_grid(aml.preprocessor_, col)
        if g is not None and col in frame:
            grids[col] = g
    top = [c for c in ranked if c in grids][:top_features]
    _, ice = dependence(aml, frame, top, name, grids)
    if klass is not None and len(ice) and "class" in ice:
        if (ice["class"] == klass).any():
            ice = ice[ice["class"] == klass]
        else:  # two classes: sklearn gives the positive one's; the row's class is the other
            ice = ice.assign(prediction=1.0 - ice["prediction"], **{"class": klass})
    result = RowExplanation(output, prediction, base, series, ice, note)
    if plot is not None and series is not None and base is not None:
        explained = base + float(series.sum())  # the prediction, unless members are left out
        result.plot = plots.row_contributions(series, base, explained, plot,
                                              f"Why {output} = {explained:.4g} ({name})")
    return result


__all__ = ["KINDS", "Explanation", "RowExplanation", "explain_predictor", "explain_row"]
