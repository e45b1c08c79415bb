"""HPO on the field's own suite: the 24 noiseless BBOB functions of COCO (Hansen et al.,
"COCO: a platform for comparing continuous optimizers in a black-box setting", 2021),
through the ``coco-experiment`` package (``cocoex``), for raymlx's searchers and the peers.

Every function runs in dimensions 2, 5 and 10 on instances 1 to 3 (COCO's replicates: each
instance shifts and rotates the function and moves its optimum), over the box [-5, 5]^d, at
1 and 4 concurrent trials (``hpo_drivers.run``: pending trials shown to each searcher as
Tune shows them). One run per searcher, problem, concurrency and seed records the best value
found after 20, 50 and 100 evaluations, as the regret f - f_opt (f_opt is f at the optimum
COCO reports for the instance).

Reported, per budget and concurrency:
- the mean rank of each searcher (1 = best): on every problem and seed the searchers are
  ranked by regret, ties shared, and the ranks averaged;
- the same per BBOB function group (separable f1-5, low or moderate conditioning f6-9, high
  conditioning unimodal f10-14, multimodal with adequate global structure f15-19, multimodal
  with weak global structure f20-24);
- one-sided Mann-Whitney U tests, per group, of each raymlx model-based searcher against the
  best peer of the cell and against the peers of its own kind (TPE: Optuna's and hyperopt's).
  The samples are scale-free: on each problem every run of every searcher is ranked with
  the others and the rank is divided by the number of runs, so values from different
  functions can be pooled. p < 0.05 means ours is significantly worse.

The searchers that cost tens of milliseconds a suggestion (the GPs, Tune's BOHB) run on
instance 1 only, and are ranked with every other searcher on that instance in tables of
their own. Syne Tune's BORE (0.3 s a suggestion here) is left out by default.

Reproduce (both cores, about 30 minutes)::

    make bench-bbob
    .venv/bin/python benchmarks/bbob.py --jobs 2
    .venv/bin/python benchmarks/bbob.py --dims 2 --functions 1-24:6 --evals 50   # smoke
"""

from __future__ import annotations

import os

# one BLAS thread per process: the runs go in parallel (--jobs), and a GP's small solves
# gain nothing from threads that fight over the same cores
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from functools import cache  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ray import tune  # noqa: E402
from scipy.stats import mannwhitneyu, rankdata  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import hpo_drivers  # noqa: E402

GROUPS = {"separable": range(1, 6), "low_conditioning": range(6, 10),
          "high_conditioning": range(10, 15), "multimodal_global": range(15, 20),
          "multimodal_weak": range(20, 25)}
SAME_KIND = {"raymlx_tpe": ("optuna_tpe", "tune_hyperopt"), "raymlx_gp": ("optuna_gp",),
             "raymlx_bohb": ("tune_bohb", "synetune_kde")}
MODEL_BASED = ("raymlx_tpe", "raymlx_gp", "raymlx_bohb")
DEFAULT_SEARCHERS = ("raymlx_random,raymlx_tpe,raymlx_gp,raymlx_bohb,tune_random,"
                     "tune_hyperopt,tune_bohb,optuna_tpe,optuna_gp,synetune_kde")
# searchers that cost tens of milliseconds a suggestion or more run on instance 1 only, and
# get their own tables there (Syne Tune's BORE, 0.3 s a suggestion, is left out by default)
COSTLY = {"raymlx_gp", "optuna_gp", "tune_bohb", "synetune_bore"}


def group_of(function: int) -> str:
    return next(g for g, fs in GROUPS.items() if function in fs)


@cache
def _suite():
    import cocoex

    return cocoex.Suite("bbob", "", "dimensions:2,3,5,10,20,40 instance_indices:1-15")


@cache
def problem(function: int, dim: int, instance: int):
    """(the cocoex problem, its f_opt)."""
    p = _suite().get_problem_by_function_dimension_instance(function, dim, instance)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # cocoex writes the optimum to a file in the working directory
        try:
            p._best_parameter("print")
            x_opt = np.atleast_1d(np.loadtxt("._bbob_problem_best_parameter.txt"))
        finally:
            os.chdir(here)
    return p, float(p(x_opt))


def space(dim: int) -> dict:
    return {f"x{i}": tune.uniform(-5.0, 5.0) for i in range(dim)}


def one_run(task: tuple) -> dict:
    name, function, dim, instance, concurrency, seed, evals, budgets = task
    p, f_opt = problem(function, dim, instance)

    def f(config: dict) -> float:
        return float(p(np.array([config[f"x{i}"] for i in range(dim)])))

    # one seed per problem and replicate, the same for every searcher: with one seed for
    # all problems, every random start-up would try the same points on every function
    run_seed = ((seed * 101 + function) * 101 + instance) * 101 + dim
    t0 = time.perf_counter()
    losses, times = hpo_drivers.run(name, space(dim), f, run_seed, evals, concurrency)
    best = np.minimum.accumulate(losses) - f_opt
    return {"searcher": name, "function": function, "dim": dim, "instance": instance,
            "concurrency": concurrency, "seed": seed,
            "regret": {str(b): float(max(best[b - 1], 0.0)) for b in budgets},
            "ms_per_suggestion": 1000 * float(np.mean(times)),
            "seconds": time.perf_counter() - t0}


def _ints(text: str) -> list[int]:
    """'1-24' -> 1..24, '1-24:6' -> every 6th, '2,5,10' -> those."""
    out: list[int] = []
    for part in text.split(","):
        step = 1
        if ":" in part:
            part, s = part.split(":")
            step = int(s)
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1, step))
    return out


def summarise(runs: list[dict], budgets: list[int], concurrencies: list[int]) -> dict:
    """Cells ``c{concurrency}_n{budget}`` over the searchers that ran every instance, and
    ``..._instance1`` cells over every searcher on the first instance, the one the costly
    searchers ran."""
    limited = {r["searcher"] for r in runs} & COSTLY
    views = {"": [r for r in runs if r["searcher"] not in limited]}
    if limited:
        first = min(r["instance"] for r in runs)
        views["_instance1"] = [r for r in runs if r["instance"] == first]
    out: dict = {}
    for suffix, chosen in views.items():
        searchers = sorted({r["searcher"] for r in chosen})
        peers = [s for s in searchers if not s.startswith("raymlx_")]
        for c in concurrencies:
            for b in budgets:
                out[f"c{c}_n{b}{suffix}"] = _cell(
                    [r for r in chosen if r["concurrency"] == c], str(b), searchers, peers)
                out[f"c{c}_n{b}{suffix}"]["instances"] = sorted({r["instance"]
                                                                  for r in chosen})
    return out


def _cell(runs: list[dict], budget: str, searchers: list[str], peers: list[str]) -> dict:
    by_problem: dict[tuple, dict[str, dict[int, float]]] = {}
    for r in runs:
        key = (r["function"], r["dim"], r["instance"])
        by_problem.setdefault(key, {}).setdefault(r["searcher"], {})[r["seed"]] = \
            r["regret"][budget]
    ranks: dict[str, dict[str, list[float]]] = {s: {g: [] for g in GROUPS} for s in searchers}
    scores: dict[str, dict[str, list[float]]] = {s: {g: [] for g in GROUPS} for s in searchers}
    for (function, _, _), per in by_problem.items():
        g = group_of(function)
        present = sorted(per)
        seeds = sorted(set.intersection(*(set(v) for v in per.values())))
        for seed in seeds:  # ranks among the searchers that ran this problem
            for s, rk in zip(present, rankdata([per[s][seed] for s in present])):
                ranks[s][g].append(float(rk))
        pooled = [(s, v) for s in present for v in per[s].values()]
        normalised = rankdata([v for _, v in pooled]) / len(pooled)
        for (s, _), v in zip(pooled, normalised):
            scores[s][g].append(float(v))
    cell: dict = {"mean_rank": {}, "mean_rank_by_group": {}, "tests": {}}
    for s in searchers:
        every = [x for g in GROUPS for x in ranks[s][g]]
        cell["mean_rank"][s] = float(np.mean(every)) if every else None
        cell["mean_rank_by_group"][s] = {g: float(np.mean(v)) if v else None
                                         for g, v in ranks[s].items()}
    rated = [p for p in peers if cell["mean_rank"].get(p) is not None]
    best_peer = min(rated, key=lambda p: cell["mean_rank"][p]) if rated else None
    cell["best_peer"] = best_peer
    for s in MODEL_BASED:
        if s not in searchers:
            continue
        against = ([best_peer] if best_peer else []) + [
            p for p in SAME_KIND.get(s, ()) if p in searchers and p != best_peer]
        cell["tests"][s] = {p: {g: _p_worse(scores[s][g], scores[p][g]) for g in GROUPS}
                            for p in against}
    return cell


def _p_worse(ours: list[float], theirs: list[float]) -> float | None:
    if len(ours) < 3 or len(theirs) < 3:
        return None
    return float(mannwhitneyu(ours, theirs, alternative="greater").pvalue)


def print_tables(summary: dict, budgets: list[int], concurrencies: list[int],
                 suffix: str = "") -> None:
    for c in concurrencies:
        if f"c{c}_n{budgets[0]}{suffix}" not in summary:
            continue
        cells = [summary[f"c{c}_n{b}{suffix}"] for b in budgets]
        names = sorted(cells[0]["mean_rank"], key=lambda s: cells[-1]["mean_rank"][s] or 99)
        print(f"\n### mean rank, {c} concurrent trial(s), instances {cells[0]['instances']} "
              "(1 = best)\n")
        print("| searcher | " + " | ".join(f"{b} evals" for b in budgets) + " |")
        print("|---" * (len(budgets) + 1) + "|")
        for s in names:
            print(f"| {s} | " + " | ".join(f"{cell['mean_rank'][s]:.2f}" for cell in cells)
                  + " |")
        for b, cell in zip(budgets, cells):
            print(f"\n#### {b} evals, {c} concurrent: mean rank per group; p that raymlx's "
                  f"searcher is worse (best peer: {cell['best_peer']})\n")
            print("| searcher | " + " | ".join(GROUPS) + " |")
            print("|---" * (len(GROUPS) + 1) + "|")
            for s in names:
                row = cell["mean_rank_by_group"][s]
                print(f"| {s} | " + " | ".join("-" if row[g] is None else f"{row[g]:.2f}"
                                               for g in GROUPS) + " |")
            for s, tests in cell["tests"].items():
                for p, by_group in tests.items():
                    print(f"| p({s} worse than {p}) | " + " | ".join(
                        "-" if v is None else f"{v:.3g}" for v in by_group.values()) + " |")


def dump(report: dict) -> str:
    """The report as JSON, indented, with one line per run (thousands of them)."""
    runs = report["runs"]
    head = json.dumps({**report, "runs": []}, indent=1)
    lines = ",\n  ".join(json.dumps(r) for r in runs)
    return head[:head.rindex("[]")] + "[\n  " + lines + "\n ]\n}"


def _key(task_or_run) -> tuple:
    if isinstance(task_or_run, dict):
        r = task_or_run
        return (r["searcher"], r["function"], r["dim"], r["instance"], r["concurrency"],
                r["seed"])
    return tuple(task_or_run[:6])


def reusable_runs(paths: str, rerun: set[str], budgets: list[int]) -> dict[tuple, dict]:
    """Runs of earlier reports by key, for searchers not in ``rerun``, that recorded every
    budget wanted (only those budgets are kept)."""
    out: dict[tuple, dict] = {}
    for path in [p for p in paths.split(",") if p]:
        for r in json.loads(Path(path).read_text())["runs"]:
            if r["searcher"] in rerun or not all(str(b) in r["regret"] for b in budgets):
                continue
            out[_key(r)] = {**r, "regret": {str(b): r["regret"][str(b)] for b in budgets}}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", default="1-24")
    ap.add_argument("--dims", default="2,5,10")
    ap.add_argument("--instances", default="1-3")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--concurrency", default="1,4")
    ap.add_argument("--searchers", default=DEFAULT_SEARCHERS)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "hpo_bbob.json"))
    ap.add_argument("--reuse", default="",
                    help="earlier reports (comma-separated) whose runs of the same searcher, "
                         "problem, concurrency and seed are taken instead of run again "
                         "(for a change to one searcher: pass --rerun NAME too)")
    ap.add_argument("--rerun", default="", help="searchers never taken from --reuse")
    args = ap.parse_args(argv)
    budgets = [b for b in (20, 50, 100) if b <= args.evals] or [args.evals]
    concurrencies = _ints(args.concurrency)
    names = [s for s in args.searchers.split(",") if s]
    tasks = [(s, f, d, i, c, seed, args.evals, budgets)
             for s in names for d in _ints(args.dims) for f in _ints(args.functions)
             for i in _ints(args.instances)[:1 if s in COSTLY else None]
             for c in concurrencies for seed in range(args.seeds)]
    t0 = time.time()
    runs: list[dict] = []
    reused = reusable_runs(args.reuse, set(args.rerun.split(",")) - {""}, budgets)
    runs = [reused[_key(t)] for t in tasks if _key(t) in reused]
    tasks = [t for t in tasks if _key(t) not in reused]
    if runs:
        print(f"{len(runs)} runs reused from {args.reuse}", file=sys.stderr)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for k, r in enumerate(pool.map(one_run, tasks, chunksize=4), 1):
            runs.append(r)
            if k % 50 == 0 or k == len(tasks):
                print(f"{k}/{len(tasks)} runs, {time.time() - t0:.0f} s", file=sys.stderr,
                      flush=True)
    summary = summarise(runs, budgets, concurrencies)
    cost = {s: {"ms_per_suggestion": float(np.mean([r["ms_per_suggestion"] for r in runs
                                                    if r["searcher"] == s])),
                "instances": sorted({r["instance"] for r in runs
                                     if r["searcher"] == s})}
            for s in names}
    report = {"command": " ".join(["python", "benchmarks/bbob.py", *(argv or sys.argv[1:])]),
              "functions": _ints(args.functions), "dims": _ints(args.dims),
              "instances": _ints(args.instances), "seeds": args.seeds, "evals": args.evals,
              "budgets": budgets, "concurrency": concurrencies, "groups":
              {g: list(fs) for g, fs in GROUPS.items()}, "searchers": cost,
              "wall_seconds": time.time() - t0,
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
              "summary": summary, "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(dump(report))
    print_tables(summary, budgets, concurrencies)
    print_tables(summary, budgets, concurrencies, "_instance1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
