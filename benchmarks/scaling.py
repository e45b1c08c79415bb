"""Scaling benchmark: raymlx's trial path against plain Ray Tune, and a fit on 1 vs 2 CPUs
and on a simulated 3-node cluster.

Parts (each runs in its own Python process with its own Ray instance):

- ``overhead``: wall time per trial of ``--trials`` tiny trials (a linear model bagged over
  2 folds of 200 rows, so the model costs milliseconds), 2 at a time, for
  1. a plain Tune function trainable that fits the same bag and reports its score, with
     ``reuse_actors`` off and on (the hand-rolled Ray Tune script);
  2. the same, also saving the fold models as a Tune checkpoint (what a script must do to
     keep its models);
  3. raymlx's trial path: ``raymlx.tabular.engine.search.run_search`` with its trainable
     (fold models and out-of-fold predictions checkpointed, predictions sent to the
     object-store actor, the resource manager told where the trial runs, the ledger and
     progress callbacks).
  Rounds alternate the variants (reuse off, seconds per trial, runs once); medians over
  the rounds are reported. Two figures per variant: the wall time per trial (the whole
  ``Tuner.fit`` over the trials: starting the trial actors and the experiment's start and
  end are spread over them), and the time per trial at full speed: between the completions
  (seen by the driver) of the trials at 20% and at 90% of the run. raymlx's overhead is its
  figure minus the plain trainable's (reuse on). Target: under 20 ms.
- ``cpus``: the same ``AutoML`` fit (wine-white quality as regression, LightGBM, XGBoost
  and the linear model, random search, 3 folds, ``--time-limit`` seconds) with Ray given
  1 CPU and then 2 CPUs: trials finished per minute of search, and the time until the
  best out-of-fold RMSE first reached the target (the best the 1-CPU run reached).
  Target: at least 1.8x the trials per minute.
- ``cluster``: the same fit on ``ray.cluster_utils.Cluster`` with a 1-CPU head and two
  1-CPU workers declaring one GPU each (3 logical CPUs on this machine's 2 cores): trials
  per minute, CPU utilisation per node from the resource manager, and where the XGBoost
  (GPU-family) trials ran.

Reproduce::

    .venv/bin/python benchmarks/scaling.py                      # all parts, about 12 min
    .venv/bin/python benchmarks/scaling.py --parts overhead --trials 60 --rounds 5

Results go to ``benchmarks/results/scaling.json``; a table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local instance per part
RESULTS = REPO / "benchmarks" / "results" / "scaling.json"
WINE = REPO / "examples" / "data"


# --------------------------------------------------------------------------- overhead
def _tiny_data():
    import numpy as np
    import pandas as pd

    df = pd.read_csv(WINE / "winequality-red.csv", sep=";").head(200)
    X = df.drop(columns=["quality"]).to_numpy(np.float32)
    y = df["quality"].to_numpy(np.float64)
    fold = np.arange(len(y)) % 2
    return {"X": X, "y": y, "fold": fold}


def _plain_trainable(checkpoint: bool):
    """A hand-written Tune trainable: fit the bag, report the score (and save models)."""
    from ray import tune

    def trainable(config, data_ref=None):
        import pickle
        import tempfile as tf

        import ray

        from raymlx.tabular.ensembles.bagging import fit_bag
        from raymlx.tabular.metrics import get_metric
        from raymlx.tabular.models import FAMILIES
        from raymlx.tabular.problem import Problem

        arrays = ray.get(data_ref[0])
        problem = Problem("regression", n_features=arrays["X"].shape[1])
        bag = fit_bag(FAMILIES["linear"], {}, problem, arrays["X"], arrays["y"],
                      arrays["fold"], float("inf"))
        score = get_metric("rmse", "regression").score(arrays["y"], bag.oof, "regression")
        if not checkpoint:
            tune.report({"score": score})
            return
        with tf.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "models.pkl"), "wb") as fh:
                pickle.dump(bag.models, fh)
            tune.report({"score": score}, checkpoint=tune.Checkpoint.from_directory(tmp))

    return trainable


def _completions_recorder():
    """A Tune callback noting when the driver sees each trial complete (raymlx's ledger
    notes the same moment, in the same callback hook)."""
    from ray.tune import Callback

    class Completions(Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            self.times.append(time.time())

    return Completions()


def _time_plain(data_ref, trials: int, reuse: bool, checkpoint: bool,
                storage: str) -> tuple[float, list[float]]:
    """Wall seconds per trial, and the times the trials completed."""
    from ray import tune

    trainable = tune.with_resources(
        tune.with_parameters(_plain_trainable(checkpoint), data_ref=[data_ref]), {"cpu": 1})
    done = _completions_recorder()
    tuner = tune.Tuner(trainable, param_space={"i": tune.grid_search(list(range(trials)))},
                       tune_config=tune.TuneConfig(max_concurrent_trials=2, reuse_actors=reuse),
                       run_config=tune.RunConfig(storage_path=storage, verbose=0,
                                                 callbacks=[done]))
    t0 = time.perf_counter()
    tuner.fit()
    return (time.perf_counter() - t0) / trials, done.times


def _time_raymlx(arrays, data_ref, trials: int, storage: Path) -> tuple[float, list[float]]:
    """Wall seconds per trial of ``run_search``, and the times the trials completed (from
    the fit's ledger)."""
    import ray

    from raymlx.cluster.inventory import read_nodes
    from raymlx.cluster.manager import start_manager
    from raymlx.cluster.policy import plan_resources
    from raymlx.searchers import RandomSearch
    from raymlx.tabular.engine.ledger import LEDGER_FILE
    from raymlx.tabular.engine.oof_store import start_store
    from raymlx.tabular.engine.search import Phase, SearchContext, run_search
    from raymlx.tabular.engine.trial import TrialSetup
    from raymlx.tabular.metrics import get_metric
    from raymlx.tabular.models import FAMILIES, search_space
    from raymlx.tabular.problem import Problem

    families = [FAMILIES["linear"]]
    plan = plan_resources(read_nodes(), families)
    name = f"overhead-{time.time_ns()}"
    manager = start_manager(name, plan.to_dict(), float("inf"))
    store, store_name = start_store(name)
    setup = TrialSetup(problem=Problem("regression", n_features=arrays["X"].shape[1]),
                       metric="rmse", deadline=float("inf"), num_threads=1, seed=0,
                       fit_name=name, store_name=store_name, requests=plan.requests,
                       families={f.name: f for f in families})
    points = [{"model": {"family": "linear", "params": {}}}] * trials
    metric = get_metric("rmse", "regression")
    ctx = SearchContext(folder=storage / name, setup=setup, metric=metric, plan=plan,
                        store=store, data_ref=data_ref,
                        num_folds=int(arrays["fold"].max()) + 1)
    # the two actors start once per fit, not per trial: wait for them before timing
    ray.get([manager.get_plan.remote(), store.refs.remote()])
    t0 = time.perf_counter()
    records = run_search(ctx, Phase(
        phase="search", experiment=name, param_space=search_space(families),
        searcher=RandomSearch(seed=0, points_to_evaluate=points), deadline=float("inf"),
        max_models=trials))
    per_trial = (time.perf_counter() - t0) / trials
    assert sum(r.ok for r in records) == trials, [r.error for r in records if not r.ok]
    ray.kill(manager)
    ray.kill(store)
    ledger = (storage / name / LEDGER_FILE).read_text().splitlines()
    return per_trial, sorted(json.loads(line)["time"] for line in ledger)


def _steady(times: list[float]) -> float:
    """Seconds per trial while the search runs at full speed: between the completions of
    the trial at 20% and at 90% of the run (actor start-up and the experiment's start and
    end left out)."""
    times = sorted(times)
    lo, hi = len(times) // 5, (9 * len(times)) // 10
    return (times[hi] - times[lo]) / (hi - lo)


def part_overhead(args) -> dict:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    arrays = _tiny_data()
    data_ref = ray.put(arrays)
    storage = Path(tempfile.mkdtemp(prefix="raymlx-overhead-"))
    # reuse off costs seconds per trial (a new worker process each): one round is enough
    reuse_off, off_times = _time_plain(data_ref, args.trials, False, False, str(storage))
    print(f"  tune_plain_reuse_off {1000 * reuse_off:7.1f} ms/trial", flush=True)
    variants = {
        "tune_plain_reuse_on": lambda: _time_plain(data_ref, args.trials, True, False,
                                                   str(storage)),
        "tune_checkpoint_reuse_on": lambda: _time_plain(data_ref, args.trials, True, True,
                                                        str(storage)),
        "raymlx": lambda: _time_raymlx(arrays, data_ref, args.trials, storage),
    }
    _time_plain(data_ref, 4, True, False, str(storage))  # warm the workers' imports once
    wall: dict[str, list[float]] = {k: [] for k in variants}
    steady: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(args.rounds):
        for key, run in variants.items():
            per_trial, times = run()
            wall[key].append(per_trial)
            steady[key].append(_steady(times))
            print(f"  round {r + 1}: {key:26s} {1000 * per_trial:7.1f} ms/trial, "
                  f"{1000 * steady[key][-1]:6.1f} ms/trial at full speed", flush=True)
    ray.shutdown()
    wall["tune_plain_reuse_off"] = [reuse_off]
    steady["tune_plain_reuse_off"] = [_steady(off_times)]
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_steady = {k: statistics.median(v) for k, v in steady.items()}
    return {"trials": args.trials, "rounds": args.rounds,
            "ms_per_trial_rounds": {k: [1000 * x for x in v] for k, v in wall.items()},
            "ms_per_trial_median": {k: 1000 * v for k, v in med.items()},
            "steady_ms_per_trial_rounds": {k: [1000 * x for x in v]
                                           for k, v in steady.items()},
            "steady_ms_per_trial_median": {k: 1000 * v for k, v in med_steady.items()},
            "raymlx_overhead_ms_vs_plain_reuse_on":
                1000 * (med["raymlx"] - med["tune_plain_reuse_on"]),
            "raymlx_overhead_ms_vs_checkpoint_reuse_on":
                1000 * (med["raymlx"] - med["tune_checkpoint_reuse_on"]),
            "raymlx_steady_overhead_ms_vs_plain_reuse_on":
                1000 * (med_steady["raymlx"] - med_steady["tune_plain_reuse_on"]),
            "raymlx_steady_overhead_ms_vs_checkpoint_reuse_on":
                1000 * (med_steady["raymlx"] - med_steady["tune_checkpoint_reuse_on"]),
            "target_ms": 20.0}


# --------------------------------------------------------------------------- fits
def _fit(args, storage: Path) -> dict:
    import pandas as pd

    from raymlx import AutoML
    from raymlx.tabular.engine.ledger import read_ledger

    df = pd.read_csv(WINE / "winequality-white.csv", sep=";")
    aml = AutoML(label="quality", problem_type="regression", metric="rmse",
                 time_limit=args.time_limit, families=["lightgbm", "xgboost", "linear"],
                 num_folds=3, searcher="random", seed=0, path=storage, verbosity=0)
    aml.fit(df)
    folder = Path(aml.experiment_path_)
    with open(folder / "fit_state.pkl", "rb") as fh:
        started = pickle.load(fh)["started"]
    entries = read_ledger(folder).get("search", [])
    curve, best = [], float("inf")
    for e in sorted(entries, key=lambda e: e["time"]):
        score = e["metrics"].get("score")
        if score is not None and not e["metrics"].get("error") and score == score:
            best = min(best, float(score))
        curve.append([e["time"] - started, best])
    span = (max(e["time"] for e in entries) - started) if entries else float("nan")
    # finish time of each trial, by creation order (the same configurations in every run:
    # the portfolio, then the seeded random search)
    by_creation = [e["time"] - started for e in entries]
    report = aml.cluster_report_
    return {"trials": len(entries), "search_s": span,
            "trials_per_min": 60 * len(entries) / span if entries else 0.0,
            "best_rmse": best, "curve": curve, "finish_by_creation": by_creation,
            "nodes": [{"node": r["node_id"][:8], "cpus": r["cpus"], "gpus": r["gpus"],
                       "cpu_utilisation": r.get("cpu_utilisation"),
                       "trials_run": r.get("trials_run")} for r in report["nodes"]],
            "gpu_family_nodes": sorted({a["node_id"][:8] for t in report["trials"].values()
                                        if t["family"] == "xgboost"
                                        for a in t["attempts"]}),
            "gpu_nodes": sorted(r["node_id"][:8] for r in report["nodes"] if r["gpus"]),
            "retries": report["retries"]}


def part_cpus(args) -> dict:
    import ray

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    out = _fit(args, Path(tempfile.mkdtemp(prefix="raymlx-scaling-")))
    ray.shutdown()
    return out


def part_cluster(args) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    for _ in range(2):
        cluster.add_node(num_cpus=1, num_gpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    out = _fit(args, Path(tempfile.mkdtemp(prefix="raymlx-scaling-")))
    ray.shutdown()
    cluster.shutdown()
    return out


# --------------------------------------------------------------------------- driver
def _run_part(part: str, args, extra: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    cmd = [sys.executable, __file__, "--worker", part, "--out", out,
           "--trials", str(args.trials), "--rounds", str(args.rounds),
           "--time-limit", str(args.time_limit), *extra]
    subprocess.run(cmd, check=True)
    return json.loads(Path(out).read_text())


def _time_to(curve: list, target: float) -> float | None:
    return next((t for t, best in curve if best <= target + 1e-12), None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="overhead,cpus,cluster")
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--time-limit", type=float, default=90)
    p.add_argument("--worker", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--cpus", type=int, default=2)
    args = p.parse_args()
    if args.worker:
        fn = {"overhead": part_overhead, "cpus": part_cpus, "cluster": part_cluster}
        result = fn[args.worker](args)
        Path(args.out).write_text(json.dumps(result))
        return

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    parts = args.parts.split(",")
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform()}
    if "overhead" in parts:
        results["overhead"] = _run_part("overhead", args, [])
    if "cpus" in parts:
        one = _run_part("cpus", args, ["--cpus", "1"])
        two = _run_part("cpus", args, ["--cpus", "2"])
        target = one["best_rmse"]
        k = min(one["trials"], two["trials"])
        first_k = {key: max(run["finish_by_creation"][:k]) for key, run in
                   (("one_cpu", one), ("two_cpus", two))}
        results["cpus"] = {
            "time_limit_s": args.time_limit, "one_cpu": one, "two_cpus": two,
            "speedup_trials_per_min": two["trials_per_min"] / one["trials_per_min"],
            "same_trials": k, "time_to_finish_same_trials_s": first_k,
            "speedup_same_trials": first_k["one_cpu"] / first_k["two_cpus"],
            "target_rmse": target, "time_to_target_s": {
                "one_cpu": _time_to(one["curve"], target),
                "two_cpus": _time_to(two["curve"], target)},
            "target_speedup": 1.8}
    if "cluster" in parts:
        results["cluster"] = _run_part("cluster", args, [])
        results["cluster"]["time_limit_s"] = args.time_limit
    results["command"] = " ".join(["python", "benchmarks/scaling.py", *sys.argv[1:]])
    for part in parts:  # each part keeps the command that measured it
        if part in results:
            results[part]["command"] = results["command"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    _print(results)


def _print(results: dict) -> None:
    if "overhead" in results:
        o = results["overhead"]
        print(f"\n(a) per-trial wall time, {o['trials']} tiny trials, 2 at a time, median "
              f"of {o['rounds']} rounds")
        print(f"  {'':28s} {'wall ms/trial':>14s} {'at full speed':>14s}")
        for k, v in o["ms_per_trial_median"].items():
            steady = o.get("steady_ms_per_trial_median", {}).get(k)
            print(f"  {k:28s} {v:14.1f} " + (f"{steady:14.1f}" if steady else ""))
        print(f"  raymlx overhead per trial, wall: "
              f"{o['raymlx_overhead_ms_vs_plain_reuse_on']:+.1f} ms vs plain Tune (reuse on), "
              f"{o['raymlx_overhead_ms_vs_checkpoint_reuse_on']:+.1f} ms vs Tune + checkpoint "
              f"(target < 20 ms)")
        if "raymlx_steady_overhead_ms_vs_plain_reuse_on" in o:
            print(f"  at full speed: "
                  f"{o['raymlx_steady_overhead_ms_vs_plain_reuse_on']:+.1f} ms vs plain, "
                  f"{o['raymlx_steady_overhead_ms_vs_checkpoint_reuse_on']:+.1f} ms vs "
                  f"checkpoint")
    if "cpus" in results:
        c = results["cpus"]
        print(f"\n(b) AutoML fit, {c['time_limit_s']:.0f} s, wine-white regression")
        for key in ("one_cpu", "two_cpus"):
            r, t = c[key], c["time_to_target_s"][key]
            print(f"  {key:9s} trials {r['trials']:4d}  {r['trials_per_min']:6.1f}/min  "
                  f"best RMSE {r['best_rmse']:.4f}  time to target RMSE "
                  f"{c['target_rmse']:.4f}: " + ("never" if t is None else f"{t:.1f} s"))
        print(f"  speed-up in trials/min: {c['speedup_trials_per_min']:.2f}x (target 1.8x); "
              f"time to finish the same first {c['same_trials']} trials: "
              f"{c['time_to_finish_same_trials_s']['one_cpu']:.1f} s vs "
              f"{c['time_to_finish_same_trials_s']['two_cpus']:.1f} s = "
              f"{c['speedup_same_trials']:.2f}x")
    if "cluster" in results:
        r = results["cluster"]
        print(f"\n(c) simulated 3-node cluster: trials {r['trials']}, "
              f"{r['trials_per_min']:.1f}/min, best RMSE {r['best_rmse']:.4f}")
        for n in r["nodes"]:
            util = n["cpu_utilisation"]
            print(f"  node {n['node']} CPUs {n['cpus']:g} GPUs {n['gpus']:g} trials "
                  f"{n['trials_run']} CPU busy {100 * util:.0f}%" if util is not None else "")
        print(f"  XGBoost trials ran on {r['gpu_family_nodes']}; GPU nodes {r['gpu_nodes']}")


if __name__ == "__main__":
    main()
