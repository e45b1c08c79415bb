"""``AutoML``'s arguments: their constraints, declared once as data and checked when a fit
starts; the presets; and :class:`FitSettings`, what the fit runs with once a preset has
filled the arguments left at None and the families, searcher and scheduler are resolved.

The same table checks the scikit-learn estimators' arguments (:mod:`raymlx.tabular.sklearn`),
which are ``AutoML``'s without ``label`` and ``problem_type``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raymlx._internal.validation import (
    NONE,
    Boolean,
    Checked,
    Constraint,
    InstanceOf,
    Integer,
    Options,
    Real,
    Text,
    validate,
)
from raymlx.cluster.policy import parse_bytes
from raymlx.errors import InputError
from raymlx.tabular.distributed.path_choice import DATA_PATHS
from raymlx.tabular.metrics import check_metric_name
from raymlx.tabular.models import ModelFamily, resolve_families
from raymlx.tabular.problem import PROBLEM_TYPES

# what each preset sets when the argument is left at None (AutoGluon's names)
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {"num_folds": 3, "num_stack_levels": 0, "num_bag_sets": 1,
             "dynamic_stacking": False, "families": ["lightgbm", "xgboost", "linear"]},
    "medium_quality": {"num_folds": 5, "num_stack_levels": 0, "num_bag_sets": 1,
                       "dynamic_stacking": False},
    "best_quality": {"num_folds": 8, "num_stack_levels": 1, "num_bag_sets": 2,
                     "dynamic_stacking": True},
}
DEFAULT_PRESET = "medium_quality"

# "auto": TPE (joint kernels). benchmarks/hpo.py: significantly better than random on all
# five problems (LightGBM's validation loss p=0.0001), level with Optuna's TPE, 1-3 ms per
# suggestion. The GP ends lower there; it costs 75 ms per suggestion at 100 trials in
# AutoML's 72-dimension space (benchmarks/gp_cost.py, was 4.7 s), but it has not been
# measured against TPE inside AutoML, so "auto" stays TPE. Inside AutoML (60 s, benchmarks/results/
# tabular_searchers.json) TPE beat random on 3 tables, lost on 1 and tied on 4
# (docs/benchmarks/index.md, "Searchers inside AutoML").
SEARCHER_CLASSES = {"random": "RandomSearch", "tpe": "TPESearch", "gp": "GPSearch",
                    "evolution": "EvolutionSearch", "rl": "RLSearch", "auto": "TPESearch"}
SCHEDULER_NAMES = ("asha",)


def _check_families(value: Any) -> None:
    if value is not None:
        resolve_families(value)


def _check_hyperparameters(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not value or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(c, dict) for c in v)
            for k, v in value.items()):
        raise InputError("hyperparameters must map family names to lists of config dicts, "
                         "e.g. {'lightgbm': [{'learning_rate': 0.05}]}")


def _check_callbacks(value: Any) -> None:
    from ray.tune import Callback

    if value is None:
        return
    if not isinstance(value, (list, tuple)) or not all(isinstance(c, Callback) for c in value):
        raise InputError("callbacks must be a list of ray.tune.Callback instances, e.g. "
                         "[MLflowLoggerCallback(tracking_uri=...)]")


def _check_metric(value: Any) -> None:
    if value is not None:
        check_metric_name(value)


DEFAULT_INFER_BATCH = 10_000  # rows per call for infer_limit, as AutoGluon measures it

# One entry per argument of AutoML (tests/tabular/test_settings.py checks that they match).
CONSTRAINTS: dict[str, Constraint] = {
    "label": Text("the label column's name"),
    "problem_type": Options((None, *PROBLEM_TYPES)),
    "metric": Checked(_check_metric),
    "time_limit": Real(0, low_open=True) | NONE,
    "max_models": Integer(1) | NONE,
    "presets": Options((None, *PRESETS)),
    "num_folds": Integer(2, 20) | NONE,
    "num_stack_levels": Integer(0, 3) | NONE,
    "num_bag_sets": Integer(1, 20) | NONE,
    "dynamic_stacking": Boolean() | NONE,
    "seed": Integer(0),
    "path": InstanceOf(("builtins.str", "pathlib.PurePath"), "a folder path") | NONE,
    "address": Text("a Ray address such as 'auto' or 'host:6379'") | NONE,
    "families": Checked(_check_families),
    "hyperparameters": Checked(_check_hyperparameters),
    "searcher": Options(tuple(SEARCHER_CLASSES)) | InstanceOf(
        ("ray.tune.search.Searcher",), "a ray.tune.search.Searcher instance"),
    "scheduler": Options((None, *SCHEDULER_NAMES)) | InstanceOf(
        ("ray.tune.schedulers.TrialScheduler",), "a ray.tune.schedulers.TrialScheduler instance"),
    "cpus_per_trial": Integer(1),
    "use_gpus": Options((None, True, False)),
    "memory_per_trial": Checked(parse_bytes),
    "max_retries": Integer(0, 100),
    "data_path": Options(DATA_PATHS),
    "max_in_memory_bytes": Checked(lambda v: parse_bytes(v, "max_in_memory_bytes")),
    "workers_per_trial": Integer(1) | NONE,
    "refit_full": Boolean(),
    "infer_limit": Real(0, low_open=True) | NONE,
    "infer_limit_batch_size": Integer(1) | NONE,
    "calibrate": Options(("auto", True, False)),
    "callbacks": Checked(_check_callbacks),
    "verbosity": Integer(0, 2),
}


@dataclass(frozen=True)
class FitSettings:
    """The arguments a fit runs with: checked, presets applied, families resolved."""

    label: str
    problem_type: str | None
    metric: str | None
    time_limit: float | None
    max_models: int | None
    num_folds: int
    num_stack_levels: int
    num_bag_sets: int
    dynamic_stacking: bool
    seed: int
    path: Path
    address: str | None
    families: tuple[ModelFamily, ...]
    hyperparameters: dict[str, list[dict[str, Any]]] | None
    searcher: Any  # a name of SEARCHER_CLASSES or a Tune Searcher (copied per fit)
    scheduler: Any  # None, "asha" or a Tune TrialScheduler (copied per fit)
    cpus_per_trial: int
    use_gpus: bool | None
    memory_per_trial: float | None  # bytes
    max_retries: int
    data_path: str  # "auto", "memory" or "distributed"
    max_in_memory_bytes: float | None
    workers_per_trial: int | None  # the large-data path's Ray Train workers
    refit_full: bool  # one model on all rows per bag of the final model, after the fit
    infer_limit: float | None  # seconds per row the final model may take to predict
    infer_limit_batch_size: int  # the rows per call that latency is measured on
    calibrate: bool | str  # "auto", True or False (ensembles/calibration.py)
    callbacks: tuple[Any, ...]  # the user's ray.tune Callbacks, given to every Tune run
    verbosity: int
    budget_folds: bool = False  # num_folds came from the preset: fewer when time needs it


def resolve_settings(params: Mapping[str, Any]) -> FitSettings:
    """Checks ``params`` (``AutoML.get_params()``) against :data:`CONSTRAINTS` and fills
    what the preset decides; the first bad argument raises a one-line ``InputError``."""
    validate(params, CONSTRAINTS)
    preset = PRESETS[params["presets"] or DEFAULT_PRESET]

    def pick(name: str) -> Any:
        return preset[name] if params[name] is None else params[name]

    hp = params["hyperparameters"]
    given = params["families"]
    if given is None and hp is None:
        given = preset.get("families")
    if hp:  # hyperparameters name the families to search (instances may come from families)
        instances = {f.name: f for f in resolve_families(given)} if given else {}
        families = resolve_families([instances.get(name, name) for name in hp])
    else:
        families = resolve_families(given)
    return FitSettings(
        label=params["label"], problem_type=params["problem_type"], metric=params["metric"],
        time_limit=params["time_limit"], max_models=params["max_models"],
        num_folds=pick("num_folds"), num_stack_levels=pick("num_stack_levels"),
        num_bag_sets=pick("num_bag_sets"), dynamic_stacking=pick("dynamic_stacking"),
        seed=params["seed"],
        path=Path(params["path"] or "raymlx_runs").expanduser().resolve(),
        address=params["address"], families=tuple(families),
        hyperparameters=copy.deepcopy(hp), searcher=params["searcher"],
        scheduler=params["scheduler"], cpus_per_trial=params["cpus_per_trial"],
        use_gpus=params["use_gpus"], memory_per_trial=parse_bytes(params["memory_per_trial"]),
        max_retries=params["max_retries"], data_path=params["data_path"],
        max_in_memory_bytes=parse_bytes(params["max_in_memory_bytes"], "max_in_memory_bytes"),
        workers_per_trial=params["workers_per_trial"], refit_full=params["refit_full"],
        infer_limit=params["infer_limit"],
        infer_limit_batch_size=params["infer_limit_batch_size"] or DEFAULT_INFER_BATCH,
        calibrate=params["calibrate"], budget_folds=params["num_folds"] is None,
        callbacks=tuple(params["callbacks"] or ()), verbosity=params["verbosity"])


def make_searcher(spec: Any, seed: int, points: list[dict[str, Any]]):
    """The searcher of one fit: a raymlx searcher by name, seeded, with the portfolio as its
    points to evaluate; or a copy of the user's Tune ``Searcher``, behind
    :class:`~raymlx.searchers.PointsFirst` so that the portfolio still runs first."""
    import raymlx.searchers as searchers

    if isinstance(spec, str):
        return getattr(searchers, SEARCHER_CLASSES[spec])(seed=seed, points_to_evaluate=points)
    return searchers.PointsFirst(copy.deepcopy(spec), points)
