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

The store survives its own loss. It is started with ``max_restarts=-1`` and
``max_task_retries=-1``: when its process dies, Ray starts it again with the same
arguments and replays the calls in flight. Everything a restarted store held came from
disk or can be sent again, so no finished trial is lost:

- an out-of-fold array the store no longer holds is read back from the trial's checkpoint
  (found through the fit's ledger) the first time someone asks for it by name;
- a phase's inputs are kept as names (the stacked models) plus the driver-owned data
  ref; the driver's :class:`StoreWatch` callback notices the store's new ``generation``
  and sends the data ref again; trials waiting for it poll until it is there;
- a trial that was reading arrays the old store owned fails with a Ray system error,
  which the trial re-raises so that Tune runs it again (``max_failures``).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.actor import ActorHandle
from ray.tune import Callback

from raymlx.cluster.manager import NAMESPACE, on_this_node

log = logging.getLogger("raymlx")

NAME_PREFIX = "oof-store:"


OOF_FILE = "oof.npy"
HOLDOUT_FILE = "holdout.npy"


@ray.remote(num_cpus=0)
class OutOfFoldStore:
    """Holds ``name -> ObjectRef`` of out-of-fold prediction arrays, and each phase's
    inputs. ``folder`` is the fit's folder: a name the store does not hold is read from
    the trial's checkpoint there (after a restart, or a resume)."""

    def __init__(self, folder: str | None = None) -> None:
        self._folder = Path(folder) if folder else None
        self._refs: dict[str, ray.ObjectRef] = {}
        self._holdout: dict[str, ray.ObjectRef] = {}
        self._inputs: dict[str, dict] = {}
        self._folds: dict[str, int] = {}  # engine/fold_budget.py: a phase's fewer folds
        self._generation = uuid.uuid4().hex  # new on every (re)start

    def generation(self) -> str:
        """Changes when Ray restarts the store: its inputs must then be sent again."""
        return self._generation

    def pid(self) -> int:
        return os.getpid()

    def warm_up(self) -> None:
        """Imports what ensemble selection and scoring use, ahead of the deadline."""
        import raymlx.tabular.ensembles.selection  # noqa: F401
        import raymlx.tabular.metrics  # noqa: F401

    def set_inputs(self, phase: str, data: list[ray.ObjectRef], stacked: list[str],
                   holdout: bool) -> str:
        """What the trials of ``phase`` read: the data ref (in a list, so Ray passes it
        as is), the names of the models whose predictions are stacked, and whether their
        holdout predictions are read too."""
        self._inputs[phase] = {"data": data, "stacked": stacked, "holdout": holdout}
        return self._generation

    def inputs(self, phase: str) -> list[list[ray.ObjectRef]] | None:
        """``[[data], [stacked oofs], [stacked holdouts]]`` for ``phase``, or None while
        the driver's ``set_inputs`` is on its way (calls from different processes are
        not ordered, and a restarted store waits for the driver to send them again)."""
        spec = self._inputs.get(phase)
        if spec is None:
            return None
        names = spec["stacked"]
        self._load(names)
        return [spec["data"], [self._refs[n] for n in names],
                [self._holdout[n] for n in names] if spec["holdout"] else []]

    def set_folds(self, phase: str, folds: int) -> None:
        self._folds[phase] = folds

    def folds(self, phase: str) -> int | None:
        """The fold count the next trials of ``phase`` bag over; None: the fit's."""
        return self._folds.get(phase)

    def put(self, name: str, array: np.ndarray, holdout: np.ndarray | None = None) -> None:
        self._refs[name] = ray.put(array)
        if holdout is not None:
            self._holdout[name] = ray.put(holdout)

    def refs(self, names: list[str] | None = None) -> dict[str, list[ray.ObjectRef]]:
        """Out-of-fold arrays by name (each ref wrapped in a list so Ray passes it as
        is): those of ``names`` (read from disk where missing), or all it holds."""
        if names is not None:
            self._load(names)
        return {k: [v] for k, v in self._refs.items() if names is None or k in names}

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

        blend = self._blend(weights, holdout=True)
        if blend is None:
            return None
        return get_metric(metric_name, problem_type).score(y, blend, problem_type)

    def _blend(self, weights: dict[str, float], holdout: bool = False) -> np.ndarray | None:
        """The weighted sum of the named models' stored predictions (out-of-fold, or for
        the held-out rows), read from disk where missing; None when one has none."""
        self._load(list(weights), missing_ok=True)
        held = self._holdout if holdout else self._refs
        if not all(n in held for n in weights):
            return None
        preds = ray.get([held[n] for n in weights])
        return np.asarray(sum(w * p for w, p in zip(weights.values(), preds)))

    def calibrate(self, weights: dict[str, float], y: np.ndarray, metric_name: str,
                  temperature: bool, threshold: bool):
        """The calibration (and its report) of the weighted average of the named models'
        stored predictions; None when one of them has none."""
        from raymlx.tabular.ensembles.calibration import fit_calibration

        blend = self._blend(weights)
        if blend is None:
            return None
        return fit_calibration(blend, y, metric_name, temperature, threshold)

    def paired_difference(self, a: dict[str, float], b: dict[str, float], y: np.ndarray,
                          metric_name: str, problem_type: str, draws: int = 100,
                          seed: int = 0) -> tuple[float, float] | None:
        """How much the weighted average ``a`` of stored predictions beats ``b`` (positive:
        better, in the metric's direction) on all rows, and that difference's standard
        deviation over ``draws`` paired bootstrap resamples of the rows; None when a
        prediction is missing."""
        from raymlx.tabular.metrics import get_metric

        pa, pb = self._blend(a), self._blend(b)
        if pa is None or pb is None:
            return None
        metric = get_metric(metric_name, problem_type)

        def diff(rows) -> float:
            return metric.sign() * (metric.score(y[rows], pa[rows], problem_type)
                                    - metric.score(y[rows], pb[rows], problem_type))

        rng = np.random.default_rng(seed)
        found = []
        for _ in range(draws):
            rows = rng.integers(0, len(y), len(y))
            try:
                found.append(diff(rows))
            except ValueError:  # a resample with one class: no AUC
                continue
        full = diff(np.arange(len(y)))
        return full, float(np.std(found)) if len(found) > 1 else float("inf")

    def select_ensemble(self, names: list[str], y: np.ndarray, metric_name: str,
                        problem_type: str, n_iterations: int):
        """Caruana selection over the stored out-of-fold arrays of ``names`` (best first)."""
        from raymlx.tabular.ensembles.selection import greedy_ensemble_selection
        from raymlx.tabular.metrics import get_metric

        self._load(names)
        metric = get_metric(metric_name, problem_type)
        oofs = ray.get([self._refs[n] for n in names])  # zero-copy views
        return greedy_ensemble_selection(
            oofs, y, lambda yt, p: metric.score(yt, p, problem_type), metric.mode,
            n_iterations)

    def _load(self, names: list[str], missing_ok: bool = False) -> None:
        """Reads the arrays of ``names`` the store does not hold from their trials'
        checkpoints (the fit's ledger says where they are)."""
        missing = [n for n in names if n not in self._refs]
        if not missing or self._folder is None:
            return
        from raymlx.tabular.engine.ledger import trial_checkpoints

        found = trial_checkpoints(self._folder)
        for name in missing:
            checkpoint = found.get(name)
            if checkpoint is None or not (checkpoint / OOF_FILE).is_file():
                if missing_ok:
                    continue
                raise KeyError(f"no out-of-fold predictions for trial {name}: the store "
                               f"does not hold them and {self._folder} has no checkpoint")
            hold = checkpoint / HOLDOUT_FILE
            self.put(name, np.load(checkpoint / OOF_FILE),
                     np.load(hold) if hold.is_file() else None)


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


def start_store(folder: Path) -> tuple[ActorHandle, str]:
    """The store of the fit in ``folder``, on this (the driver's) node, restarted by Ray
    if its process dies, and the name its trials find it by (unique to this run: a
    resumed fit may start before Ray has let go of the name of the interrupted run's
    store)."""
    name = f"{NAME_PREFIX}{folder.name}:{uuid.uuid4().hex[:8]}"
    store = OutOfFoldStore.options(  # type: ignore[attr-defined]
        name=name, namespace=NAMESPACE, scheduling_strategy=on_this_node(),
        max_restarts=-1, max_task_retries=-1).remote(str(folder))
    return store, name


def hold_store(owner: object, store: ActorHandle) -> Any:
    """Keeps ``store`` alive while ``owner`` (the predictor) is, and ends it with
    ``ray.kill`` when ``owner`` is collected, when the interpreter exits, or when the
    returned finalizer is called (a new fit replaces the store).

    Why by hand, not by letting the last handle go: Ray then ends the actor gracefully,
    and Ray 2.60's graceful exit of an actor whose objects other workers subscribe to
    can deadlock in the core worker's exit handler (gdb: ``~Publisher`` posting to the
    asio scheduler that is shutting down under its own lock). The process then outlives
    its cluster, idle, holding its memory; two stores did so in one day's runs here.
    ``ray.kill`` ends the process without running exit handlers (Ray's documented
    behaviour)."""
    import weakref

    return weakref.finalize(owner, _end_store, store)


def _end_store(store: ActorHandle) -> None:
    try:
        if ray.is_initialized():
            ray.kill(store, no_restart=True)
    except Exception as exc:  # already gone, or Ray shutting down: nothing left to end
        log.debug("store not killed: %s", exc)


def get_store(name: str) -> ActorHandle:
    return ray.get_actor(name, namespace=NAMESPACE)


def publish(store, name: str, oof: np.ndarray, holdout: np.ndarray | None = None) -> None:
    """Stores ``oof`` (and the holdout predictions) under ``name``, owned by ``store``;
    returns once they are stored."""
    ray.get(store.put.remote(name, oof, holdout))


_WATCHED: dict[str, dict] = {}  # token -> the store, a phase and its inputs, the last send


class StoreWatch(Callback):
    """A Tune callback on the driver: about once a second it asks the store for its
    generation, and after a restart sends the phase's inputs again. The inputs are kept
    in this process under a token (Tune pickles its callbacks with the experiment; an
    ObjectRef pickled there would be pinned for the driver's life)."""

    def __init__(self, store: ActorHandle, phase: str, inputs: list, every_s: float = 1.0):
        self.token = uuid.uuid4().hex
        _WATCHED[self.token] = {"store": store, "phase": phase, "inputs": inputs}
        self.every_s, self.last = every_s, time.time()
        self.generation: str | None = None  # the store's, when it last got the inputs
        self.restarts = 0
        self.send()

    def send(self) -> ray.ObjectRef:
        """Sends the inputs (at the phase's start, and after every restart); the ref
        resolves to the generation of the store that got them."""
        watched = _WATCHED[self.token]
        watched["sent"] = watched["store"].set_inputs.remote(watched["phase"],
                                                             *watched["inputs"])
        return watched["sent"]

    def sent(self) -> ray.ObjectRef:
        """The last send (``ray.get`` on it raises if the store failed for good)."""
        return _WATCHED[self.token]["sent"]

    def on_step_begin(self, iteration, trials, **info) -> None:
        if time.time() - self.last < self.every_s or self.token not in _WATCHED:
            return
        self.last = time.time()
        store = _WATCHED[self.token]["store"]
        try:
            if self.generation is None:  # what the phase's first send reached
                self.generation = ray.get(self.sent(), timeout=30)
            generation = ray.get(store.generation.remote(), timeout=30)
        except ray.exceptions.GetTimeoutError:  # restarting: asked again next time
            return
        if generation != self.generation:
            self.restarts += 1
            log.warning("the out-of-fold store restarted; its inputs are sent again and "
                        "missing predictions are read from the trials' checkpoints")
            self.generation = ray.get(self.send(), timeout=60)

    def close(self) -> None:
        _WATCHED.pop(self.token, None)
