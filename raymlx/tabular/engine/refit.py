"""``AutoML.refit_full``: the final model again, with one model per bag, trained on all rows.

A bagged model predicts with the mean of its k fold models, so it is k times slower to
serve than one model. The refit trains, for every bagged model the final model predicts
through (the ensemble's members, the stackers and the models they read), one model of
the same family and configuration on every training row, the dynamic-stacking holdout
included (no bagged model trained on those rows), for the mean number of rounds or
epochs its folds' early stopping kept
(:meth:`~raymlx.tabular.models.base.ModelFamily.refit_params`). This is AutoGluon's
``refit_full`` (its ``_FULL`` models; ours end in ``_full``).

A stacker's full model trains on the lower layer's *out-of-fold* predictions (and, for the
holdout rows, those models' bag predictions), as its bag did, and at predict time reads
the lower layer's full models. Training it on the full models' predictions for their own
training rows would teach it to trust overfit inputs. Since every stack feature is a
stored prediction of a bagged model, the refits do not depend on each other: they run at
once as Ray tasks, one per model, each with the fit's CPUs per trial.

Ensembles keep their weights over the full versions of their members. A full model has
no held-out rows, so no out-of-fold score: its ``score_val`` is NaN (as AutoGluon's) and
the leaderboard's note names the model it replaces.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import ray

from raymlx.cluster.inventory import read_nodes
from raymlx.cluster.policy import plan_resources
from raymlx.errors import InputError
from raymlx.tabular.engine.inputs import FitInputs, saved_inputs
from raymlx.tabular.engine.ledger import STATE_FILE, load_fit_state, trial_checkpoints
from raymlx.tabular.engine.trial import HOLDOUT_FILE, MODELS_FILE, OOF_FILE
from raymlx.tabular.ensembles.stacking import stacked_features
from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.predictor import FULL_SUFFIX, ModelRecord, ModelSet
from raymlx.tabular.problem import Problem

log = logging.getLogger("raymlx")

REFIT_FOLDER = "refit"


@dataclass
class RefitResult:
    """What :func:`refit_models` added: bagged name -> full name, and the seconds taken."""

    names: dict[str, str]
    seconds: float
    cut_short: list[str]  # full models whose training stopped at the deadline


def models_needed(models: ModelSet, name: str) -> list[str]:
    """Every model that ``name`` predicts through, itself included, inputs first."""
    order: dict[str, None] = {}

    def walk(n: str) -> None:
        rec = models.get(n)
        for m in [*rec.weights, *rec.inputs]:
            walk(m)
        order.setdefault(n, None)

    walk(name)
    return list(order)


@ray.remote
def _fit_full(family: ModelFamily, params: dict, problem: Problem, X: np.ndarray,
              y: np.ndarray, deadline: float, threads: int,
              seed: int) -> tuple[FoldEstimator, float]:
    """One model on all rows (no held-out rows: it trains for ``params``' rounds)."""
    t0 = time.time()
    est = family.make_estimator(params, problem, num_threads=threads, seed=seed)
    est.fit(X, y, None, None, deadline=deadline)
    return est, time.time() - t0


def _stored_predictions(rec: ModelRecord, checkpoints: dict[str, Path],
                        with_holdout: bool) -> np.ndarray:
    """A bagged model's predictions for every training row: out-of-fold for the rows
    its folds trained on, then its bag's for the holdout rows."""
    where = checkpoints.get(rec.trial_id or "")
    if where is None or not (where / OOF_FILE).is_file():
        raise InputError(f"refit_full needs the out-of-fold predictions of {rec.name!r}, "
                         "which are gone from the fit folder; refit before deleting it")
    parts = [np.load(where / OOF_FILE)]
    if with_holdout:
        parts.append(np.load(where / HOLDOUT_FILE))
    return np.concatenate(parts)


def fit_folder_inputs(folder: str | Path | None) -> tuple[FitInputs, Path]:
    """The prepared training arrays a fit saved in its folder."""
    if folder is None or not (Path(folder) / STATE_FILE).is_file():
        raise InputError(f"refit_full trains on the rows the fit saved in its folder "
                         f"({folder}), which is gone; refit before deleting it")
    state, path = load_fit_state(folder)
    return saved_inputs(state["inputs"]), path


def refit_models(models: ModelSet, final: str, folder: str | Path | None,
                 families: dict[str, ModelFamily], cpus_per_trial: int, seed: int,
                 deadline: float = float("inf")) -> RefitResult:
    """Adds a ``_full`` version of ``final`` and of every model it predicts through to
    ``models``; models refit before are kept. Training stops at ``deadline`` at the
    latest (the model is kept with the rounds it reached)."""
    t0 = time.time()
    needed = [n for n in models_needed(models, final) if not n.endswith(FULL_SUFFIX)]
    todo = [n for n in needed if n + FULL_SUFFIX not in models.records]
    bagged = [models.records[n] for n in todo if not models.records[n].weights]
    cut: list[str] = []
    if bagged:
        inputs, path = fit_folder_inputs(folder)
        cut = _train(models, bagged, inputs, path, families, cpus_per_trial, seed, deadline)
    for n in todo:  # ensembles, now that their members exist
        rec = models.records[n]
        if rec.weights:
            members = {m + FULL_SUFFIX: w for m, w in rec.weights.items()}
            models.records[n + FULL_SUFFIX] = ModelRecord(
                name=n + FULL_SUFFIX, family="ensemble", config={}, weights=members,
                stack_level=rec.stack_level,
                fit_time_s=sum(models.records[m].fit_time_s for m in members),
                note=f"{n} with each member refit on all rows")
    names = {n: n + FULL_SUFFIX for n in needed}
    return RefitResult(names, time.time() - t0, cut)


def _train(models: ModelSet, bagged: list[ModelRecord], inputs: FitInputs, folder: Path,
           families: dict[str, ModelFamily], cpus_per_trial: int, seed: int,
           deadline: float) -> list[str]:
    arrays, problem = inputs.arrays, inputs.problem
    has_hold = "X_hold" in arrays
    X_all = np.concatenate([arrays["X"], arrays["X_hold"]]) if has_hold else arrays["X"]
    y_all = (np.concatenate([arrays["y"], inputs.y_hold]) if has_hold
             else arrays["y"])
    checkpoints = trial_checkpoints(folder)
    # the fit's rule for a trial's CPUs (capped at the largest node's), for one refit each
    threads = int(plan_resources(read_nodes(), [], cpus_per_trial,
                                 use_gpus=False).cpus_per_trial)
    X_ref, y_ref = ray.put(X_all), ray.put(y_all)
    tasks = {}
    for rec in bagged:
        family = families.get(rec.family)
        if family is None:
            raise InputError(f"refit_full needs the model family {rec.family!r} of "
                             f"{rec.name!r}; pass it in families=")
        fold_models = models.fold_models(rec.name)
        params = family.refit_params(rec.config, fold_models)
        X, prob = X_ref, problem
        if rec.inputs:  # a stacker: the features plus the layer below's predictions
            below = [_stored_predictions(models.records[m], checkpoints, has_hold)
                     for m in rec.inputs]
            stacked = stacked_features(X_all, below, problem.problem_type)
            X, prob = ray.put(stacked), problem.with_features(stacked.shape[1])
        tasks[rec.name] = (params, _fit_full.options(num_cpus=threads).remote(
            family, params, prob, X, y_ref, deadline, threads, seed))
    cut = []
    for name, (params, task) in tasks.items():
        est, seconds = ray.get(task)
        rec = models.records[name]
        target = folder / REFIT_FOLDER / (name + FULL_SUFFIX) / MODELS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            cloudpickle.dump([est], fh)  # one "fold" model: predict_bag needs no change
        note = f"{name} refit on all {len(y_all)} rows"
        if est.stopped_early_by_deadline_:
            cut.append(name + FULL_SUFFIX)
            note += f" (stopped at the time limit after {est.fitted_rounds()} rounds)"
        models.records[name + FULL_SUFFIX] = ModelRecord(
            name=name + FULL_SUFFIX, family=rec.family, config=_jsonable(params),
            fit_time_s=seconds, models_path=str(target), stack_level=rec.stack_level,
            inputs=[m + FULL_SUFFIX for m in rec.inputs], note=note)
        log.info("refit %s on all rows in %.1f s", name, seconds)
    return cut


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}


def search_share(num_folds: int) -> float:
    """The share of ``time_limit`` the search keeps with ``AutoML(refit_full=True)``.

    A bag of k folds spends about 1/k of its time per fold, on (k-1)/k of the rows; its
    full model, on all rows, costs about one fold's time times k/(k-1), and the full
    models train side by side. The refit keeps ``1 / (k + 1)`` of the limit (a sixth
    with 5 folds); a full model that would overrun stops boosting at the limit."""
    return num_folds / (num_folds + 1)


def refit_predictor(aml: Any, model: str | None, time_limit: float | None,
                    set_best: bool) -> dict[str, str]:
    """``AutoML.refit_full`` (see that method for the arguments)."""
    from raymlx._internal.ray_session import ensure_ray
    from raymlx.tabular.settings import CONSTRAINTS, resolve_settings

    aml._fitted()
    CONSTRAINTS["time_limit"].check("time_limit", time_limit)
    if (getattr(aml, "data_path_", None) or {}).get("path") == "distributed":
        log.info("refit_full: the large-data path trains one model per trial on the whole "
                 "training split; nothing to refit")
        return {}
    settings = resolve_settings(aml.get_params())
    ensure_ray(settings.address)
    before = getattr(aml, "refit_full_", {})
    start = model or aml.best_model_
    aml.models_.get(start)  # a one-line error for an unknown or failed model
    start = next((b for b, f in before.items() if f == start), start)  # already refit
    done = refit_models(aml.models_, start, getattr(aml, "experiment_path_", None),
                        {f.name: f for f in settings.families}, settings.cpus_per_trial,
                        settings.seed,
                        time.time() + time_limit if time_limit else float("inf"))
    aml.refit_full_ = {**before, **done.names}
    log.info("refit_full: %d models refit on all rows in %.1f s%s", len(done.names),
             done.seconds, f"; {len(done.cut_short)} stopped at the time limit"
             if done.cut_short else "")
    if set_best and start == aml.best_model_ and start in done.names:
        aml.best_model_ = done.names[start]
    return done.names
