"""Per-row feature contributions ("SHAP values") of a predictor, from each model's own
exact attribution, combined through the bags and the ensemble weights.

Sources, per family:

- LightGBM, XGBoost, CatBoost: the boosters' native TreeSHAP (Lundberg et al. 2020,
  "From local explanations to global understanding with explainable AI for trees"):
  ``pred_contrib`` / ``pred_contribs`` / ``ShapValues``. For one booster, the contributions
  plus the base value equal its raw output (the margin: log-odds for two classes, the
  per-class score for more, the value for regression).
- Random forest and extra trees: the tree-path attribution of Saabas ("treeinterpreter"):
  along a row's path from the root to its leaf, each split's change in the node's value is
  credited to the split's feature. It is exact (root value plus contributions equals the
  tree's output) but not a Shapley value. scikit-learn has no TreeSHAP, which is why this
  one is written here: a sparse product of ``decision_path`` with the per-node changes.
- k-NN, the linear model, the MLP, stackers and families of your own have none; they are
  named in :attr:`Contributions.missing`, never silently skipped.

Combining: a bag predicts the mean of its fold models and an ensemble the weighted sum of
its members, both in the output space (values, or probabilities), so contributions combine
the same way once every model's are in that space. A booster's margin contributions for a
classifier are therefore carried onto the probabilities: with two classes, the change from
the base probability to the row's is shared among the features in proportion to their
margin contributions (signs and order within a row are the booster's own); with more, each
class's margin contributions pass through the softmax's Jacobian (averaged between the base
and the row's probabilities) and the small remainder is shared out. The result is
additive by construction: base value plus contributions equals the predictor's output for
every row and class. An ensemble with members that have no contributions is explained
through the members that have them, their weights scaled to one (the sum is then that
part's output); the note says which members and how much weight were left out.

Prepared features are summed back into the table's columns (a datetime column becomes
several features); dropped columns contribute nothing and appear with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: (n, features, outputs) contributions and (n, outputs) base values
Attribution = tuple[np.ndarray, np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _rescaled(phi: np.ndarray, p: np.ndarray, p_base: np.ndarray) -> np.ndarray:
    """One margin's contributions ``phi`` (n, d, 1) shared out over ``p - p_base`` (n, 1)
    in proportion (the sigmoid is monotonic, so signs and order stay)."""
    total = phi.sum(axis=1)  # (n, 1): the margin's change
    tiny = np.abs(total) < 1e-12
    ratio = np.where(tiny, 0.0, (p - p_base) / np.where(tiny, 1.0, total))
    return phi * ratio[:, None, :]


def _softmax_shared(phi: np.ndarray, p: np.ndarray, p_base: np.ndarray) -> np.ndarray:
    """Per-class margin contributions ``phi`` (n, d, k) onto the k probabilities: through
    the softmax's Jacobian ``diag(q) - q q^T`` averaged between the base and the row's
    probabilities (first order, bounded: no division by a small margin change), then the
    second-order remainder shared in proportion to each feature's share, so the sum is
    exact. A feature's contributions over the classes sum to zero, as the probabilities'
    changes do."""
    def jacobian(q: np.ndarray) -> np.ndarray:
        return np.einsum("nk,kc->nkc", q, np.eye(q.shape[1])) - q[:, :, None] * q[:, None, :]

    jbar = (jacobian(p_base) + jacobian(p)) / 2
    psi = np.einsum("nkc,njc->njk", jbar, phi)
    rest = (p - p_base) - psi.sum(axis=1)  # (n, k), summing to zero over the classes
    share = np.abs(psi).sum(axis=2)  # (n, d): the same share for every class keeps each
    total = share.sum(axis=1, keepdims=True)  # feature's sum over the classes at zero
    share = np.where(total > 0, share / np.where(total > 0, total, 1.0), 1.0 / phi.shape[1])
    return psi + share[:, :, None] * rest[:, None, :]


def margin_to_probability(phi: np.ndarray, base: np.ndarray) -> Attribution:
    """A classifier booster's margin attribution as one over its classes' probabilities:
    one margin (two classes, of class 1) or one per class (softmax)."""
    if phi.shape[2] == 1:
        p1, b1 = _sigmoid(base + phi.sum(axis=1)), _sigmoid(base)
        psi = _rescaled(phi, p1, b1)
        return np.concatenate([-psi, psi], axis=2), np.concatenate([1 - b1, b1], axis=1)
    p, pb = _softmax(base + phi.sum(axis=1)), _softmax(base)
    return _softmax_shared(phi, p, pb), pb


def _split(raw: np.ndarray, n_features: int, outputs: int) -> Attribution:
    """``(n, outputs * (d + 1))`` (LightGBM's layout) or ``(n, outputs, d + 1)`` into
    contributions ``(n, d, outputs)`` and base ``(n, outputs)``."""
    raw = np.asarray(raw, dtype=np.float64).reshape(len(raw), outputs, n_features + 1)
    return raw[:, :, :-1].transpose(0, 2, 1), raw[:, :, -1]


def _tree_paths(tree: Any, X: np.ndarray, n_features: int) -> Attribution:
    """Saabas attribution of one sklearn tree: (n, d, outputs), base (n, outputs)."""
    import scipy.sparse as sp

    t = tree.tree_
    value = t.value[:, 0, :].astype(np.float64)  # (nodes, outputs)
    if tree.__class__.__name__.endswith("Classifier"):
        value = value / np.clip(value.sum(axis=1, keepdims=True), 1e-300, None)
    outputs = value.shape[1]
    parent = np.full(t.node_count, -1)
    for side in (t.children_left, t.children_right):
        inner = side >= 0
        parent[side[inner]] = np.nonzero(inner)[0]
    child = np.nonzero(parent >= 0)[0]
    delta = value[child] - value[parent[child]]  # (edges, outputs)
    feature = t.feature[parent[child]]
    rows = np.repeat(child, outputs)
    cols = (feature[:, None] * outputs + np.arange(outputs)).reshape(-1)
    per_node = sp.csr_matrix((delta.reshape(-1), (rows, cols)),
                             shape=(t.node_count, n_features * outputs))
    paths = tree.decision_path(X.astype(np.float32))
    phi = np.asarray((paths @ per_node).todense()).reshape(len(X), n_features, outputs)
    return phi, np.repeat(value[:1], len(X), axis=0)


def _forest(model: Any, X: np.ndarray) -> Attribution:
    """The mean of the trees' attributions (a running sum: one tree's array at a time)."""
    d = X.shape[1]
    trees = list(model.estimators_)
    phi, base = _tree_paths(trees[0], X, d)
    for tree in trees[1:]:
        p, b = _tree_paths(tree, X, d)
        phi += p
        base += b
    return phi / len(trees), base / len(trees)


def native_attribution(est: Any, X: np.ndarray) -> tuple[Attribution, str] | None:
    """``((phi, base), space)`` of one fitted fold estimator, in its raw output space
    (``"margin"`` for boosters, ``"output"`` for trees), over the classes it was fitted on;
    None for an estimator without one."""
    kind = type(est).__name__
    classify = est.problem.is_classification
    d = X.shape[1]
    outputs = 1 if not classify or est.n_fit_classes == 2 else est.n_fit_classes
    if kind == "LightGBMEstimator":
        best = est.booster_.best_iteration or None
        raw = est.booster_.predict(X, num_iteration=best, pred_contrib=True)
        return _split(raw, d, outputs), "margin"
    if kind == "XGBoostEstimator":
        import xgboost as xgb

        types = getattr(est, "feature_types_", None) or [
            "c" if i in est.problem.categorical else "q" for i in range(d)]
        best = getattr(est.booster_, "best_iteration", None)
        limit = (0, best + 1) if best is not None else (0, 0)
        raw = est.booster_.predict(xgb.DMatrix(X, feature_types=types,
                                               enable_categorical=True),
                                   pred_contribs=True, iteration_range=limit)
        return _split(raw, d, outputs), "margin"
    if kind == "CatBoostEstimator":
        raw = est.model_.get_feature_importance(est._pool(X), type="ShapValues")
        return _split(raw, d, outputs), "margin"
    if kind in ("RandomForestEstimator", "ExtraTreesEstimator"):
        return _forest(est.model_, X), "output"
    return None


def estimator_attribution(est: Any, X: np.ndarray) -> Attribution | None:
    """One fold estimator's attribution of its *output* (values, or probabilities over all
    of the problem's classes), or None."""
    found = native_attribution(est, X)
    if found is None:
        return None
    (phi, base), space = found
    problem = est.problem
    if not problem.is_classification:
        return phi, base
    if space == "margin":
        phi, base = margin_to_probability(phi, base)
    full_phi = np.zeros((len(X), X.shape[1], problem.n_classes))
    full_base = np.zeros((len(X), problem.n_classes))
    full_phi[:, :, est.present_classes_] = phi
    full_base[:, est.present_classes_] = base
    return full_phi, full_base


@dataclass
class Contributions:
    """Per-row contributions to the explained model's output, in the table's columns.

    ``values`` has one row per explained row (and, for classification, per class: a
    ``(row, class)`` index) and one column per input column; ``base_value`` the output with
    no feature known (per class for classification); base value plus the row's
    contributions equals ``prediction``. ``missing`` names the models whose predictions
    are not explained (no native contributions) with their ensemble weight."""

    model: str
    values: pd.DataFrame
    base_value: pd.Series
    prediction: pd.Series
    missing: dict[str, float] = field(default_factory=dict)

    @property
    def note(self) -> str | None:
        if not self.missing:
            return None
        names = ", ".join(f"{m} (weight {w:.2f})" for m, w in self.missing.items())
        return (f"explained through the members with native contributions; left out: "
                f"{names}")


def _model_attribution(models: Any, name: str, X: np.ndarray,
                       missing: dict[str, float], weight: float) -> Attribution | None:
    rec = models.get(name)
    if rec.weights:
        parts = [(w, _model_attribution(models, m, X, missing, weight * w))
                 for m, w in rec.weights.items()]
        kept = [(w, a) for w, a in parts if a is not None]
        if not kept:
            return None
        # the weighted sum, as ModelSet.predict; with members left out, their weights are
        # scaled to one, so the explained part is a whole model's output
        total = sum(w for w, _ in kept) if len(kept) < len(parts) else 1.0
        return (sum(w * a[0] for w, a in kept) / total, sum(w * a[1] for w, a in kept) / total)
    if rec.inputs:  # a stacker reads the layer below's predictions, not only the features
        missing[name] = weight
        return None
    found = [estimator_attribution(est, X) for est in models.fold_models(name)]
    folds = [f for f in found if f is not None]
    if len(folds) < len(found) or not folds:
        missing[name] = weight
        return None
    return (np.mean([f[0] for f in folds], axis=0), np.mean([f[1] for f in folds], axis=0))


def feature_owners(preprocessor: Any) -> list[str]:
    """The table column each prepared feature comes from, in the matrix's order."""
    owners: list[str] = []
    for c in preprocessor.columns_:
        width = len(c.parts) + 1 if c.kind == "datetime" else 1
        owners += [c.name] * width
    return owners


def contributions(aml: Any, frame: pd.DataFrame, X: np.ndarray,
                  model: str | None = None) -> Contributions:
    """The contributions of every row of ``frame`` (prepared as ``X``) to ``model``'s
    output (default: the predictor's final model)."""
    from raymlx.errors import InputError

    name = model or aml.best_model_
    missing: dict[str, float] = {}
    found = _model_attribution(aml.models_, name, X, missing, 1.0)
    if found is None:
        raise InputError(f"model {name!r} has no native contributions (LightGBM, XGBoost, "
                         "CatBoost and the forests have them); pass model= one of those")
    phi, base = found
    owners = feature_owners(aml.preprocessor_)
    columns = list(aml.preprocessor_.input_columns_)
    per_column = np.zeros((len(X), len(columns), phi.shape[2]))
    for j, owner in enumerate(owners):
        per_column[:, columns.index(owner), :] += phi[:, j, :]
    problem = aml.problem_
    if not problem.is_classification:
        values = pd.DataFrame(per_column[:, :, 0], index=frame.index, columns=columns)
        return Contributions(name, values, pd.Series(base[:, 0], index=frame.index),
                             pd.Series(base[:, 0] + per_column[:, :, 0].sum(axis=1),
                                       index=frame.index), missing)
    classes = list(problem.classes)
    index = pd.MultiIndex.from_product([frame.index, classes], names=["row", "class"])
    values = pd.DataFrame(per_column.transpose(0, 2, 1).reshape(-1, len(columns)),
                          index=index, columns=columns)
    base_s = pd.Series(base.reshape(-1), index=index)
    return Contributions(name, values, base_s, base_s + values.sum(axis=1), missing)


__all__ = ["Contributions", "contributions", "estimator_attribution", "feature_owners",
           "margin_to_probability", "native_attribution"]
