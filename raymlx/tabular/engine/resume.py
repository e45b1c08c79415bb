"""Picking up an interrupted fit: the finished trials' predictions back in the store, the
portfolio entries still to run, and layers made stale by new models below them.

The ledger (:mod:`raymlx.tabular.engine.ledger`) says which trials finished, phase by
phase; these helpers turn that into the state a resumed fit starts from.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import ray

from raymlx.tabular.engine.ledger import reset_phase
from raymlx.tabular.engine.trial import HOLDOUT_FILE, MODELS_FILE, OOF_FILE

log = logging.getLogger("raymlx")


def drop_layers_above(ledger: dict[str, list], level: int, folder: Path) -> None:
    """A resumed layer that trained new models makes the stackers above it stale: they
    were trained on other inputs, so they are trained again (and the ledger says so, for
    a later resume)."""
    for phase in [p for p in ledger if p.startswith("L") and int(p[1:]) > level]:
        del ledger[phase]
        reset_phase(folder, phase)


def same_config(a: dict, b: dict) -> bool:
    """Configs compared as the ledger stores them (JSON: tuples become lists)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True,
                                                                   default=str)


def remaining(portfolio: list[dict[str, Any]], finished: list[dict]) -> list[dict[str, Any]]:
    """The portfolio entries a resumed search still runs: each finished trial crosses off
    one entry with its configuration."""
    todo = list(portfolio)
    for model in finished:
        for i, p in enumerate(todo):
            if same_config(p["model"], model):
                del todo[i]
                break
    return todo


def experiment_name(phase: str, ledger: dict[str, list]) -> str:
    """The Tune experiment's folder name: the phase, or ``<phase>-resumed-<time>`` when
    an interrupted run already wrote trials of that phase."""
    return f"{phase}-resumed-{time.strftime('%H%M%S')}" if ledger.get(phase) else phase


def reload_finished(store, ledger: dict[str, list], folder: Path) -> None:
    """Puts the out-of-fold (and holdout) predictions of the trials an interrupted run
    finished back in the store, from their checkpoints. A trial whose checkpoint is gone
    is dropped from the ledger (and so runs again)."""
    refs = []
    for phase, entries in ledger.items():
        kept = []
        for e in entries:
            if e["checkpoint"] and not e["error"] and not e["metrics"].get("error") \
                    and not e["metrics"].get("partial"):
                checkpoint = folder / e["checkpoint"]  # relative to the fit folder
                if not (checkpoint / OOF_FILE).is_file() or \
                        not (checkpoint / MODELS_FILE).is_file():
                    log.warning("trial %s of %s has no checkpoint at %s; it runs again",
                                e["trial_id"], phase, checkpoint)
                    continue
                e["checkpoint"] = str(checkpoint)
                hold = checkpoint / HOLDOUT_FILE
                refs.append(store.put.remote(e["trial_id"], np.load(checkpoint / OOF_FILE),
                                             np.load(hold) if hold.exists() else None))
            kept.append(e)
        entries[:] = kept
    ray.get(refs)


def resume_fit(cls: Any, folder: str | Path, time_limit: float | None,
               address: str | None, verbosity: int | None) -> Any:
    """``AutoML.resume``: a new ``cls`` with the interrupted fit's arguments, finishing
    the fit in ``folder`` (see that method for the arguments)."""
    from raymlx._internal.log_setup import setup_logging
    from raymlx._internal.ray_session import ensure_ray
    from raymlx.tabular.engine.inputs import saved_inputs
    from raymlx.tabular.engine.ledger import load_fit_state, read_ledger
    from raymlx.tabular.settings import CONSTRAINTS, resolve_settings

    state, path = load_fit_state(folder)
    given = {"address": address, "verbosity": verbosity}
    aml = cls(**{**state["params"], **{k: v for k, v in given.items() if v is not None}})
    settings = resolve_settings(aml.get_params())
    CONSTRAINTS["time_limit"].check("time_limit", time_limit)
    setup_logging(settings.verbosity)
    ledger = read_ledger(path)
    if time_limit is None and settings.time_limit:
        last = max((e["time"] for entries in ledger.values() for e in entries),
                   default=state["started"])
        time_limit = max(settings.time_limit - (last - state["started"]),
                         0.25 * settings.time_limit)
    t0 = time.time()
    ray_s = ensure_ray(settings.address)
    log.info("resuming %s: %d trials finished before", path,
             sum(len(v) for v in ledger.values()))
    aml.experiment_path_ = str(path)
    return aml._run(settings, saved_inputs(state["inputs"]), path, t0 + ray_s, time_limit,
                    ledger, t0)
