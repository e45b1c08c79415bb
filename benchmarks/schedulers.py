"""Scheduler benchmark: raymlx's schedulers against Tune's and Syne Tune's, on three
multi-fidelity problems.

Problems (the budget is ``training_iteration``):

- ``curves``: a synthetic learning-curve problem with a known optimum. Four hyperparameters
  x in [0, 1]^4; loss(x, t) = f(x) + a(x) * t^-b(x) with f the distance to a fixed optimum,
  so curves cross: a config that is fast early is not always best at the end. Each
  iteration sleeps ``--curve-cost`` seconds to stand for training; max_t = 27.
- ``lightgbm``: LightGBM on ``adult`` (../shared/datasets, 75/25 split, the training part
  split again 80/20 for validation); one iteration = 10 boosting rounds continued from the
  previous booster, max_t = 27 (270 rounds); the score is validation log loss.
- ``noisy``: harder synthetic curves: six hyperparameters, max_t = 81, curves that cross
  more (the configs that learn fastest end higher), and Gaussian noise on every report
  whose spread falls with the budget (sd 0.01 + 0.05 / sqrt(t)). The noise is a fixed
  function of (config, t), so every method sees the same curve for the same config.
  Schedulers see the noisy loss; a run is scored by the noise-free loss of the result it
  would pick (its lowest noisy loss), so a lucky draw does not count as progress.

The synthetic curves are computed step by step from the checkpointed state
(``curve_step``), so a PBT member whose hyperparameters mutate keeps its progress and
moves to the new config's curve over a few iterations instead of taking its loss at once.

Syne Tune's ASHA, asynchronous Hyperband, BOHB and PBT (``st_*``) run on Tune's trial
runner through ``syne_tune_schedulers.py``, with their own seeded random (or KDE) searcher.

Every trial reports a checkpoint each iteration (the pausing schedulers need it; FIFO pays
the same cost). All methods get the same searcher (raymlx's seeded ``RandomSearch``; BOHB
brings its own model; Tune's PBT refuses searchers, so both PBTs draw their population
from Tune's seeded ``BasicVariantGenerator``), 1 CPU per trial on the 2 CPUs of this
machine, and the same wall budget (``TuneConfig.time_budget_s``). PBT runs a fixed
population of 8 (``--population``) that mutates the same hyperparameters with the same
interval for Tune's and ours; Syne Tune's PBT never pauses, so its population is the
trials running at once (2 here), as on a Syne Tune backend with 2 workers.

Reported per problem, method and seed: the best validation loss seen at any budget within
the wall budget ("anytime" incumbent), the wall time until the incumbent first reached the
problem's target, and the trials started. The target is the worst final incumbent among
the FIFO runs, so FIFO always reaches it; results reported after the budget do not count,
and a run that does not reach it in time counts as the whole budget. The same target is
also counted in trial iterations (every report is one iteration of training, summed over
trials; a run that does not reach it counts as infinite work, and a method whose median
run does not reach it gets a work speed-up of 0): the speed-up in training work leaves out
Tune's per-trial and per-report overheads, so it says whether the 3x target for ASHA
against FIFO is reachable on a problem at all, or only lost to overhead. Tune's ``HyperBandForBOHB``
+ ``TuneBOHB`` need hpbandster and ConfigSpace (in the ``bench`` extra; both installed from
wheels here); they are skipped if either fails to import.

Reproduce (``make bench-schedulers`` installs the extra and runs the first line)::

    .venv/bin/pip install -c constraints.txt -e ".[bench]"
    .venv/bin/python benchmarks/schedulers.py --seeds 3 --budget 20
    .venv/bin/python benchmarks/schedulers.py --seeds 1 --budget 8 --problems curves  # smoke
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune import schedulers as tune_schedulers  # noqa: E402
from ray.tune.search import BasicVariantGenerator  # noqa: E402

from raymlx.schedulers import (  # noqa: E402
    ASHAScheduler,
    BOHBScheduler,
    HyperbandScheduler,
    PBTScheduler,
)
from raymlx.searchers import BOHBSearch, RandomSearch  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from syne_tune_schedulers import RESTORE_KEY, syne_tune_method  # noqa: E402

OPTIMUM = np.array([0.2, 0.7, 0.4, 0.55])
NOISY_OPTIMUM = np.array([0.2, 0.7, 0.4, 0.55, 0.3, 0.8])


# ---------------------------------------------------------------- problems
def is_noisy(config: dict) -> bool:
    """Whether ``config`` belongs to the ``noisy`` problem (6 hyperparameters, not 4)."""
    return "x5" in config


def curve_terms(config: dict) -> tuple[float, float, float]:
    """(final loss, early scale, rate) of a config: loss(t) = final + scale * t^-rate."""
    if not is_noisy(config):  # curves
        x = np.array([config[f"x{i}"] for i in range(4)])
        # large x0: high early loss; large x1: falls fast
        return float(np.sum((x - OPTIMUM) ** 2)), 0.5 + x[0], 0.3 + 1.2 * x[1]
    x = np.array([config[f"x{i}"] for i in range(6)])
    final = float(np.sum((x - NOISY_OPTIMUM) ** 2)) + 0.1 * x[1]  # fast learners end higher
    return final, 0.5 + x[0], 0.2 + 1.3 * x[1]


def curve_step(config: dict, state: dict | None) -> dict:
    """One iteration of synthetic training: the state after ``state`` (None: before the
    first). Kept as a path, not a closed form, so a PBT member whose config changes does
    not jump to the new config's curve: the excess ``scale * t^-rate`` shrinks at the
    current config's rate, and the level moves 30 % of the way to the current config's
    final loss each iteration. A config that never changes follows
    ``final + scale * t^-rate`` exactly."""
    final, scale, rate = curve_terms(config)
    if state is None:
        return {"t": 1, "level": final, "excess": scale}
    t = state["t"]
    return {"t": t + 1, "level": state["level"] + 0.3 * (final - state["level"]),
            "excess": state["excess"] * ((t + 1) / t) ** -rate}


def observed(config: dict, state: dict) -> tuple[float, float]:
    """(loss reported, noise-free loss) at ``state``; ``noisy`` adds Gaussian noise of
    sd 0.01 + 0.05/sqrt(t), a fixed function of (config, t)."""
    true = state["level"] + state["excess"]
    if not is_noisy(config):
        return true, true
    seed = [int(config[f"x{i}"] * 1e9) for i in range(6)] + [state["t"]]
    noise = np.random.default_rng(seed).normal(0.0, 0.01 + 0.05 / math.sqrt(state["t"]))
    return true + float(noise), true


def restored_state(config: dict, read) -> object:
    """What ``read(folder)`` gives for the checkpoint this trial starts from: the trial's
    own Tune checkpoint (a paused or restarted trial), else a Syne Tune PBT clone's copy
    of its donor's checkpoint (``RESTORE_KEY``), else None."""
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            return read(Path(folder))
    if config.get(RESTORE_KEY):
        return read(Path(config[RESTORE_KEY]))
    return None


def curves_trainable(config: dict) -> None:
    state = restored_state(config, lambda f: json.loads(Path(f, "state.json").read_text()))

    def report(state: dict) -> None:
        loss, true = observed(config, state)
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "state.json").write_text(json.dumps(state))
            tune.report({"loss": loss, "true_loss": true, "step": state["t"]},
                        checkpoint=tune.Checkpoint.from_directory(folder))

    if state and state["t"] >= config["max_t"]:  # a clone of a finished donor: no training
        report(state)
    while state is None or state["t"] < config["max_t"]:
        time.sleep(config["cost"])
        state = curve_step(config, state)
        report(state)


def unit_cube(dims: int) -> dict:
    """x0..x{dims-1}, each uniform on [0, 1]: the synthetic problems' hyperparameters."""
    return {f"x{i}": tune.uniform(0, 1) for i in range(dims)}


def curves_space(cost: float) -> dict:
    return {**unit_cube(4), "max_t": 27, "cost": cost}


def noisy_space(cost: float) -> dict:
    return {**unit_cube(6), "max_t": 81, "cost": cost}


def load_adult():
    from sklearn.model_selection import train_test_split

    from benchmarks.tabular import DATASETS_DIR, load_datasets, split

    (ds,) = [d for d in load_datasets(DATASETS_DIR) if d.name == "adult"]
    part = split(ds)
    X = part.train.drop(columns=[ds.label])
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):
            X[col] = X[col].astype("category")
    return train_test_split(X, part.y_train, test_size=0.2, random_state=0,
                            stratify=part.y_train)


def lightgbm_trainable(config: dict, data=None) -> None:
    import lightgbm as lgb
    from sklearn.metrics import log_loss

    X_tr, X_va, y_tr, y_va = data
    params = {"objective": "binary", "learning_rate": config["learning_rate"],
              "num_leaves": int(config["num_leaves"]),
              "min_child_samples": int(config["min_child_samples"]),
              "feature_fraction": config["feature_fraction"],
              "lambda_l2": config["lambda_l2"], "num_threads": 1, "verbose": -1,
              "seed": 0}
    def read(folder: Path) -> tuple:
        t = json.loads(Path(folder, "state.json").read_text())["t"]
        return lgb.Booster(model_str=Path(folder, "model.txt").read_text()), t

    def report(booster, t: int) -> None:
        loss = float(log_loss(y_va, booster.predict(X_va), labels=[0, 1]))
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "state.json").write_text(json.dumps({"t": t}))
            Path(folder, "model.txt").write_text(booster.model_to_string())
            tune.report({"loss": loss, "true_loss": loss, "step": t},
                        checkpoint=tune.Checkpoint.from_directory(folder))

    booster, t = restored_state(config, read) or (None, 0)
    if t >= config["max_t"]:  # a clone of a donor that has finished: one result, no training
        report(booster, t)
    train = lgb.Dataset(X_tr, y_tr, free_raw_data=False)
    while t < config["max_t"]:
        t += 1
        booster = lgb.train(params, train, num_boost_round=10, init_model=booster,
                            keep_training_booster=True)
        report(booster, t)


def lightgbm_space() -> dict:
    return {"learning_rate": tune.loguniform(0.01, 0.3), "num_leaves": tune.randint(4, 256),
            "min_child_samples": tune.randint(2, 100),
            "feature_fraction": tune.uniform(0.4, 1.0),
            "lambda_l2": tune.loguniform(1e-3, 10.0), "max_t": 27}


# ---------------------------------------------------------------- methods
def tune_bohb_available() -> bool:
    try:
        import ConfigSpace  # noqa: F401
        import hpbandster  # noqa: F401
    except ImportError:
        return False
    return True


def mutations(problem: str) -> dict:
    if problem in ("curves", "noisy"):
        return unit_cube(4 if problem == "curves" else 6)
    return {"learning_rate": tune.loguniform(0.01, 0.3), "lambda_l2": tune.loguniform(1e-3, 10)}


def method(name: str, problem: str, space: dict, max_t: int, seed: int,
           population_size: int):
    """(scheduler, search_alg, num_samples, Syne Tune bridge or None) for one method."""
    if name.startswith("st_"):
        scheduler, searcher, bridge = syne_tune_method(name, space, max_t, seed,
                                                       interval=max_t // 9 or 1)
        return scheduler, searcher, -1, bridge
    scheduler, search_alg, num_samples = tune_method(name, problem, max_t, seed,
                                                     population_size)
    return scheduler, search_alg, num_samples, None


def tune_method(name: str, problem: str, max_t: int, seed: int, population_size: int):
    """(scheduler, search_alg, num_samples) for one of ours or Tune's."""
    random = RandomSearch(seed=seed)
    common = {"time_attr": "training_iteration", "max_t": max_t}
    if name == "fifo":
        return None, random, -1
    if name == "tune_asha":
        return tune_schedulers.ASHAScheduler(grace_period=1, reduction_factor=3,
                                             **common), random, -1
    if name == "raymlx_asha":
        return ASHAScheduler(reduction_factor=3, **common), random, -1
    if name == "raymlx_asha_stopping":
        return ASHAScheduler(reduction_factor=3, variant="stopping", **common), random, -1
    if name == "tune_hyperband":
        return tune_schedulers.HyperBandScheduler(reduction_factor=3, **common), random, -1
    if name == "raymlx_hyperband":
        return HyperbandScheduler(reduction_factor=3, **common), random, -1
    if name == "raymlx_bohb":
        bohb = BOHBSearch(seed=seed)
        return BOHBScheduler(reduction_factor=3, searcher=bohb, **common), bohb, -1
    if name == "tune_bohb":
        from ray.tune.search.bohb import TuneBOHB

        return (tune_schedulers.HyperBandForBOHB(reduction_factor=3, **common),
                TuneBOHB(seed=seed), -1)
    # Tune's PBT refuses search algorithms: both PBTs sample the population with Tune's
    # seeded BasicVariantGenerator
    population = BasicVariantGenerator(random_state=seed)
    if name == "tune_pbt":
        return (tune_schedulers.PopulationBasedTraining(
            time_attr="training_iteration", perturbation_interval=max_t // 9 or 1,
            hyperparam_mutations=mutations(problem)), population, population_size)
    if name == "raymlx_pbt":
        return (PBTScheduler(perturbation_interval=max_t // 9 or 1, seed=seed,
                             hyperparam_mutations=mutations(problem)), population, population_size)
    raise ValueError(f"unknown method {name}")


class Trace(tune.Callback):
    """Records (seconds since start, loss seen, noise-free loss) for every result, and
    the trials started; every result is one iteration of training."""

    def __init__(self):
        self.start = time.perf_counter()
        self.points: list[tuple[float, float, float]] = []
        self.trials: set[str] = set()

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.points.append((time.perf_counter() - self.start, float(result["loss"]),
                            float(result["true_loss"])))
        self.trials.add(trial.trial_id)


def run_one(problem: str, name: str, seed: int, budget: float, data_ref, cost: float,
            population_size: int) -> dict:
    if problem == "lightgbm":
        trainable = tune.with_parameters(lightgbm_trainable, data=data_ref)
        space = lightgbm_space()
    else:
        trainable = curves_trainable
        space = curves_space(cost) if problem == "curves" else noisy_space(cost)
    max_t = space["max_t"]
    scheduler, search_alg, num_samples, bridge = method(name, problem, space, max_t, seed,
                                                        population_size)
    trace = Trace()
    with tempfile.TemporaryDirectory() as storage:
        tuner = tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=scheduler,
                                        search_alg=search_alg, num_samples=num_samples,
                                        time_budget_s=budget, reuse_actors=True,
                                        # Syne Tune decides each trial when a worker is
                                        # free (a PBT clone must not queue behind a
                                        # trial Tune suggested ahead)
                                        max_concurrent_trials=2 if bridge else None),
            run_config=tune.RunConfig(name=f"{problem}-{name}-{seed}", storage_path=storage,
                                      verbose=0, callbacks=[trace],
                                      checkpoint_config=tune.CheckpointConfig(num_to_keep=12)))
        trace.start = time.perf_counter()
        error = None
        try:
            tuner.fit()
        except Exception as exc:  # Tune's ResultGrid can fail after the run; the trace holds
            error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            if bridge is not None:
                bridge.close()
    run = {"points": trace.points, "trials": len(trace.trials),
           "wall_s": time.perf_counter() - trace.start, "error": error}
    if bridge is not None and name == "st_pbt":
        run["clones"] = bridge.clones
        run["clones_without_checkpoint"] = bridge.clones_without_checkpoint
    return run


def incumbent_at(points: list, seconds: float) -> float:
    """The noise-free loss of the result with the lowest loss seen by ``seconds``."""
    seen = [(loss, true) for t, loss, true in points if t <= seconds]
    return min(seen)[1] if seen else math.inf


def time_to(points: list, target: float, budget: float) -> tuple[float, int | None]:
    """(seconds, iterations) until the incumbent's noise-free loss first reached
    ``target`` within the budget; (budget, None) if it did not. Results reported after
    the budget (trials finishing as Tune stops) do not count."""
    best = (math.inf, math.inf)
    for i, (t, loss, true) in enumerate(points):
        if t > budget:
            break
        best = min(best, (loss, true))
        if best[1] <= target:
            return t, i + 1
    return budget, None


def finite(value: float) -> float | None:
    """``value``, or None (JSON null) for infinity: a target not reached."""
    return None if math.isinf(value) else float(value)


METHODS = ["fifo", "tune_asha", "st_asha", "raymlx_asha", "raymlx_asha_stopping",
           "tune_hyperband", "st_hyperband", "raymlx_hyperband", "raymlx_bohb", "tune_bohb",
           "st_bohb", "tune_pbt", "st_pbt", "raymlx_pbt"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=20.0, help="wall seconds per run")
    parser.add_argument("--problems", default="curves,lightgbm,noisy")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--curve-cost", type=float, default=0.05,
                        help="seconds per iteration of curves; noisy gets 0.4 of it")
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "schedulers.json"))
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m != "tune_bohb" or tune_bohb_available()]
    skipped = [m for m in args.methods.split(",") if m not in methods]

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    results: dict = {"budget_s": args.budget, "seeds": args.seeds, "cpus": 2,
                     "machine": platform.platform(), "skipped": skipped, "problems": {}}
    for problem in args.problems.split(","):
        data_ref = ray.put(load_adult()) if problem == "lightgbm" else None
        runs: dict = {m: [] for m in methods}
        cost = args.curve_cost * (0.4 if problem == "noisy" else 1.0)
        for seed in range(args.seeds):
            for name in methods:
                run = run_one(problem, name, seed, args.budget, data_ref, cost,
                              args.population)
                runs[name].append(run)
                print(f"{problem} {name} seed {seed}: best {incumbent_at(run['points'], 1e9):.4f}"
                      f" trials {run['trials']} wall {run['wall_s']:.1f}s", flush=True)
        fifo_final = [incumbent_at(r["points"], args.budget) for r in runs["fifo"]]
        target = max(fifo_final)
        table = {}
        for name, rs in runs.items():
            finals = [incumbent_at(r["points"], args.budget) for r in rs]
            reached = [time_to(r["points"], target, args.budget) for r in rs]
            times = [t for t, _ in reached]
            # a run that did not reach the target needed more work than any run that did:
            # infinitely many iterations (counting what it ran would favour slow runs)
            iterations = [n if n is not None else math.inf for _, n in reached]
            table[name] = {"best_loss": finals, "median_best_loss": float(np.median(finals)),
                           "time_to_target_s": times,
                           "median_time_to_target_s": float(np.median(times)),
                           "iterations_to_target": [finite(n) for n in iterations],
                           "median_iterations_to_target": finite(np.median(iterations)),
                           "reached_target": sum(n is not None for _, n in reached),
                           "median_trials": float(np.median([r["trials"] for r in rs])),
                           "errors": [r["error"] for r in rs if r["error"]]}
            if "clones" in rs[0]:
                table[name]["clones"] = [r["clones"] for r in rs]
        fifo_time = table["fifo"]["median_time_to_target_s"]
        fifo_iterations = table["fifo"]["median_iterations_to_target"]
        for row in table.values():
            row["speedup_vs_fifo"] = fifo_time / max(row["median_time_to_target_s"], 1e-9)
            needed = row["median_iterations_to_target"]  # None: most runs never reached it
            row["iteration_speedup_vs_fifo"] = (0.0 if needed is None
                                                else fifo_iterations / max(needed, 1))
        results["problems"][problem] = {"target_loss": target, "methods": table}
        print(f"\n{problem}: target loss {target:.4f} (worst FIFO final), budget {args.budget}s")
        print(f"{'method':22s} {'median best':>12s} {'t->target':>10s} {'reached':>8s} "
              f"{'x FIFO':>7s} {'iters':>6s} {'x FIFO':>7s} {'trials':>7s}")
        for name, row in table.items():
            print(f"{name:22s} {row['median_best_loss']:12.4f} "
                  f"{row['median_time_to_target_s']:10.1f} "
                  f"{row['reached_target']:>5d}/{args.seeds:<2d} {row['speedup_vs_fifo']:7.2f} "
                  f"{row['median_iterations_to_target'] or math.inf:6.0f} "
                  f"{row['iteration_speedup_vs_fifo']:7.2f} {row['median_trials']:7.0f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
