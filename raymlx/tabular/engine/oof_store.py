"""An actor that owns every trial's out-of-fold predictions in Ray's object store.

A trial runs in a Tune worker that may be reused or torn down once it finishes; an object
it ``ray.put``s is owned by that worker and dies with it (Ray 2.56 removed ``ray.put``'s
``_owner`` argument, which used to hand ownership elsewhere). So a trial sends its
out-of-fold array to this long-lived actor, which ``ray.put``s it and so becomes its owner.
The arrays then live as long as the store does, each held once, and the driver, the
ensemble task and stacking layers read them by reference (zero-copy numpy).

With dynamic stacking, each trial also sends its predictions for the held-out rows; the
holdout check is then a weighted sum of stored arrays, scored here, with no model loaded
in the driver.

Greedy ensemble selection runs as a task of this actor: it is already started, with
numpy and sklearn imported, when the search ends at the deadline, whereas a fresh task
worker would spend seconds starting up exactly when time is shortest. The imports happen
when the fit's second trial completes (:class:`WarmUpStore`): an ensemble needs two
models, and by then the trials' own processes have started, so the store does not compete
with them for the CPU at the start of a fit (one fewer second of CPU per short fit).

The store also holds each phase's inputs (the ObjectRef of the prepared arrays and, for a
stacking layer, those of the predictions it reads), and trials find the store by its name.
Nothing Ray-owned then passes through ``tune.with_parameters``, which keeps what it is
given for the life of the driver: each fit's arrays and store are freed once its predictor
is (``tests/tabular/test_automl.py`` checks that repeated fits leave no store behind).
"""

from __future__ import annotations

import uuid

import numpy as np
import ray
from ray.actor import ActorHandle
from ray.tune import Callback

from raymlx.cluster.manager import NAMESPACE, on_this_node

NAME_PREFIX = "oof-store:"


@ray.remote(num_cpus=0)
class OutOfFoldStore:
    """Holds ``name -> ObjectRef`` of out-of-fold prediction arrays, and each phase's
    inputs."""

    def __init__(self) -> None:
        self._refs: dict[str, ray.ObjectRef] = {}
        self._holdout: dict[str, ray.ObjectRef] = {}
        self._inputs: dict[str, list] = {}

    def warm_up(self) -> None:
        """Imports what ensemble selection and scoring use, ahead of the deadline."""
        import raymlx.tabular.ensembles.selection  # noqa: F401
        import raymlx.tabular.metrics  # noqa: F401

    def set_inputs(self, phase: str, inputs: list[list[ray.ObjectRef]]) -> None:
        """What the trials of ``phase`` read: ``[[arrays], [stack refs], [holdout refs]]``
        (each list keeps Ray from resolving the refs on the way in)."""
        self._inputs[phase] = inputs

    def inputs(self, phase: str) -> list[list[ray.ObjectRef]] | None:
        """``phase``'s inputs, or None while the driver's ``set_inputs`` is still on its
        way (calls from different processes are not ordered)."""
        return self._inputs.get(phase)

    def put(self, name: str, array: np.ndarray, holdout: np.ndarray | None = None) -> None:
        self._refs[name] = ray.put(array)
        if holdout is not None:
            self._holdout[name] = ray.put(holdout)

    def refs(self) -> dict[str, list[ray.ObjectRef]]:
        """Out-of-fold arrays by name (each ref wrapped in a list so Ray passes it as is)."""
        return {k: [v] for k, v in self._refs.items()}

    def holdout_refs(self) -> dict[str, list[ray.ObjectRef]]:
        """Predictions for the held-out rows by name, wrapped like :meth:`refs`."""
        return {k: [v] for k, v in self._holdout.items()}

    def drop(self, name: str) -> None:
        self._refs.pop(name, None)
        self._holdout.pop(name, None)

    def score_holdout(self, weights: dict[str, float], y: np.ndarray, metric_name: str,
                      problem_type: str) -> float | None:
        """The score on the held-out rows of the weighted average of the named models'
        holdout predictions; None when one of them has none."""
        from raymlx.tabular.metrics import get_metric

        if not all(n in self._holdout for n in weights):
            return None
        preds = ray.get([self._holdout[n] for n in weights])
        blend = sum(w * p for w, p in zip(weights.values(), preds))
        return get_metric(metric_name, problem_type).score(y, blend, problem_type)

    def select_ensemble(self, names: list[str], y: np.ndarray, metric_name: str,
                        problem_type: str, n_iterations: int):
        """Caruana selection over the stored out-of-fold arrays of ``names`` (best first)."""
        from raymlx.tabular.ensembles.selection import greedy_ensemble_selection
        from raymlx.tabular.metrics import get_metric

        metric = get_metric(metric_name, problem_type)
        oofs = ray.get([self._refs[n] for n in names])  # zero-copy views
        return greedy_ensemble_selection(
            oofs, y, lambda yt, p: metric.score(yt, p, problem_type), metric.mode,
            n_iterations)


class WarmUpStore(Callback):
    """A Tune callback: tells the store to warm up when the second trial completes. It
    keeps the store's name, not its handle: Tune pickles its callbacks with the
    experiment, and a pickled handle would keep the store alive for the driver's life."""

    def __init__(self, store_name: str) -> None:
        self.store_name, self.completed = store_name, 0

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.completed += 1
        if self.completed == 2:
            get_store(self.store_name).warm_up.remote()


def start_store(fit_name: str) -> tuple[ActorHandle, str]:
    """The fit's store, on this (the driver's) node, and the name its trials find it by
    (unique to this run: a resumed fit may start before Ray has let go of the name of the
    interrupted run's store)."""
    name = f"{NAME_PREFIX}{fit_name}:{uuid.uuid4().hex[:8]}"
    store = OutOfFoldStore.options(  # type: ignore[attr-defined]
        name=name, namespace=NAMESPACE, scheduling_strategy=on_this_node()).remote()
    return store, name


def get_store(name: str) -> ActorHandle:
    return ray.get_actor(name, namespace=NAMESPACE)


def publish(store, name: str, oof: np.ndarray, holdout: np.ndarray | None = None) -> None:
    """Stores ``oof`` (and the holdout predictions) under ``name``, owned by ``store``;
    returns once they are stored."""
    ray.get(store.put.remote(name, oof, holdout))
