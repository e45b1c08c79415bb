"""HPO benchmark: raymlx's searchers against Tune's and Optuna's, on functions with known
optima and on a real LightGBM objective.

Every searcher is driven the same way, sequentially, through its own ask/tell interface
(no Tune runtime, so the numbers measure the search and not the trial launcher): ours and
Tune's ``HyperOptSearch`` through ``Searcher.suggest`` / ``on_trial_complete``, Tune's
random sampling through ``generate_variants`` (what ``BasicVariantGenerator`` uses), and
Optuna's ``TPESampler`` / ``GPSampler`` through ``study.ask`` / ``study.tell``, and Tune's
``TuneBOHB`` (HpBandSter's BOHB) with every result told at one budget, as raymlx's
``BOHBSearch`` is used here.

Reported per problem and searcher: the median simple regret (best loss found minus the
optimum) over the seeds after 25, 50 and 100 evaluations, a one-sided Mann-Whitney U test
of the final regrets against raymlx's random search (p < 0.05 means significantly better),
the same test against the best peer (the non-raymlx searcher with the lowest median final
regret; p < 0.05 means significantly worse) and against the best peer of the same kind
(TPE: Optuna's TPE or Tune's HyperOpt; GP: Optuna's GP; BOHB: Tune's BOHB), and the mean
milliseconds per suggestion over the last ten suggestions. For the LightGBM
objective (validation log loss on wine quality, red, as binary "quality >= 6") the optimum
is unknown: its regret is measured against the best loss any run found.

Reproduce::

    make bench-hpo      # installs the [bench] extra (optuna, hpbandster), runs the default
    .venv/bin/python benchmarks/hpo.py --seeds 10 --evals 100
    .venv/bin/python benchmarks/hpo.py --seeds 3 --evals 50 --problems branin,mixed   # smoke
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from ray import tune
from scipy.stats import mannwhitneyu

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from raymlx.searchers import (  # noqa: E402
    BOHBSearch,
    EvolutionSearch,
    GPSearch,
    RandomSearch,
    RLSearch,
    TPESearch,
)

CHECKPOINTS = (25, 50, 100)
# the peers that implement the same method as one of ours
SAME_KIND_PEERS = {"raymlx_tpe": ("optuna_tpe", "tune_hyperopt"),
                   "raymlx_tpe_independent": ("optuna_tpe", "tune_hyperopt"),
                   "raymlx_gp": ("optuna_gp",), "raymlx_bohb": ("tune_bohb",)}


# ---------------------------------------------------------------- problems
def branin(c: dict) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_HA = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_HP = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                       [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_HALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(c: dict) -> float:
    x = np.array([c[f"x{i}"] for i in range(6)])
    return float(-np.sum(_HALPHA * np.exp(-np.sum(_HA * (x - _HP) ** 2, axis=1))))


def rosenbrock4(c: dict) -> float:
    x = [c[f"x{i}"] for i in range(4)]
    return float(sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3)))


def mixed(c: dict) -> float:
    """Continuous, log, integer and categorical dimensions; optimum 0 at x=2, lr=1e-2,
    n=7, kind='b'."""
    return ((c["x"] - 2.0) ** 2 / 10 + (math.log10(c["lr"]) + 2.0) ** 2
            + {"a": 1.0, "b": 0.0, "c": 0.5}[c["kind"]] + (c["n"] - 7) ** 2 / 20)


def _lightgbm_objective() -> Callable[[dict], float]:
    import lightgbm as lgb
    import pandas as pd
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(REPO / "examples" / "data" / "winequality-red.csv", sep=";")
    X, y = df.drop(columns="quality").to_numpy(), (df["quality"] >= 6).astype(int).to_numpy()
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

    def objective(c: dict) -> float:
        model = lgb.LGBMClassifier(n_estimators=100, learning_rate=c["learning_rate"],
                                   num_leaves=c["num_leaves"], min_child_samples=c["min_child"],
                                   colsample_bytree=c["colsample"], reg_lambda=c["lambda"],
                                   verbose=-1, n_jobs=1, random_state=0)
        model.fit(Xtr, ytr)
        return float(log_loss(yva, model.predict_proba(Xva)))

    return objective


def problems() -> dict[str, tuple[dict, Callable, float | None]]:
    u = tune.uniform
    return {
        "branin": ({"x1": u(-5, 10), "x2": u(0, 15)}, branin, 0.397887),
        "hartmann6": ({f"x{i}": u(0, 1) for i in range(6)}, hartmann6, -3.32237),
        "rosenbrock4": ({f"x{i}": u(-5, 10) for i in range(4)}, rosenbrock4, 0.0),
        "mixed": ({"x": u(-5, 10), "lr": tune.loguniform(1e-5, 1.0),
                   "kind": tune.choice(["a", "b", "c"]), "n": tune.randint(1, 20)}, mixed, 0.0),
        "lightgbm": ({"learning_rate": tune.loguniform(1e-3, 0.5),
                      "num_leaves": tune.lograndint(4, 256), "min_child": tune.lograndint(2, 100),
                      "colsample": u(0.3, 1.0), "lambda": tune.loguniform(1e-3, 10.0)},
                     None, None),
    }


# ---------------------------------------------------------------- drivers
def _drive(searcher, space: dict, f: Callable, n: int,
           budget_info: bool = False) -> tuple[list, list]:
    """Runs ``n`` sequential suggest/complete rounds of a Tune ``Searcher``; with
    ``budget_info`` each result is first reported with ``hyperband_info`` at budget 1, as
    Tune's ``HyperBandForBOHB`` would with ``max_t=1`` (``TuneBOHB`` learns only from that)."""
    searcher.set_search_properties("loss", "min", space)
    losses, times = [], []
    for i in range(n):
        t0 = time.perf_counter()
        cfg = searcher.suggest(str(i))
        times.append(time.perf_counter() - t0)
        losses.append(f(cfg))
        if budget_info:
            searcher.on_trial_result(str(i), {"loss": losses[-1],
                                              "hyperband_info": {"budget": 1.0}})
        searcher.on_trial_complete(str(i), result={"loss": losses[-1]})
    return losses, times


def _ours(cls, **kw):
    def run(space, f, seed, n):
        return _drive(cls(metric="loss", mode="min", seed=seed, **kw), space, f, n)
    return run


def _tune_random(space, f, seed, n):
    from ray.tune.search.variant_generator import generate_variants

    rs = np.random.RandomState(seed)
    losses, times = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        _, cfg = next(generate_variants(space, random_state=rs))
        times.append(time.perf_counter() - t0)
        losses.append(f(cfg))
    return losses, times


def _tune_hyperopt(space, f, seed, n):
    from ray.tune.search.hyperopt import HyperOptSearch

    return _drive(HyperOptSearch(metric="loss", mode="min", random_state_seed=seed), space, f, n)


def _tune_bohb(space, f, seed, n):
    """Tune's ``TuneBOHB`` (HpBandSter's BOHB model), every result told at budget 1."""
    from ray.tune.search.bohb import TuneBOHB

    np.random.seed(seed)  # HpBandSter draws its random fraction from numpy's global state
    return _drive(TuneBOHB(metric="loss", mode="min", seed=seed), space, f, n,
                  budget_info=True)


def _optuna(kind: str):
    def run(space, f, seed, n):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        dists = {k: _optuna_distribution(d) for k, d in space.items()}
        sampler = (optuna.samplers.TPESampler(seed=seed) if kind == "tpe"
                   else optuna.samplers.GPSampler(seed=seed))
        study = optuna.create_study(direction="minimize", sampler=sampler)
        losses, times = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            trial = study.ask(dists)
            times.append(time.perf_counter() - t0)
            losses.append(f(dict(trial.params)))
            study.tell(trial, losses[-1])
        return losses, times
    return run


def _optuna_distribution(d):
    import optuna.distributions as od
    from ray.tune.search.sample import Categorical, Integer

    if isinstance(d, Categorical):
        return od.CategoricalDistribution(d.categories)
    log = type(d.get_sampler()).__name__ == "_LogUniform"
    if isinstance(d, Integer):
        return od.IntDistribution(int(d.lower), int(d.upper) - 1, log=log)
    return od.FloatDistribution(float(d.lower), float(d.upper), log=log)


SEARCHERS: dict[str, Callable] = {
    "raymlx_random": _ours(RandomSearch),
    "raymlx_tpe": _ours(TPESearch),
    "raymlx_tpe_independent": _ours(TPESearch, multivariate=False),
    "raymlx_gp": _ours(GPSearch),
    "raymlx_bohb": _ours(BOHBSearch),
    "raymlx_evolution": _ours(EvolutionSearch, population_size=20, sample_size=5),
    "raymlx_rl": _ours(RLSearch),
    "tune_random": _tune_random,
    "tune_hyperopt": _tune_hyperopt,
    "tune_bohb": _tune_bohb,
    "optuna_tpe": _optuna("tpe"),
    "optuna_gp": _optuna("gp"),
}


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--problems", default=",".join(problems()))
    ap.add_argument("--searchers", default=",".join(SEARCHERS))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "hpo.json"))
    args = ap.parse_args(argv)
    chosen = [s for s in args.searchers.split(",") if s]
    all_problems = problems()
    report = {"command": " ".join(["python", "benchmarks/hpo.py", *sys.argv[1:]]),
              "seeds": args.seeds, "evals": args.evals,
              "machine": {"cpu_count": __import__("os").cpu_count(),
                          "platform": platform.platform()}, "problems": {}}
    for name in [p for p in args.problems.split(",") if p]:
        space, f, fstar = all_problems[name]
        if f is None:
            f = _lightgbm_objective()
        runs = {}
        for s in chosen:
            t0 = time.time()
            runs[s] = [SEARCHERS[s](space, f, seed, args.evals) for seed in range(args.seeds)]
            print(f"[{name}] {s}: {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
        best = fstar if fstar is not None else min(
            min(losses) for r in runs.values() for losses, _ in r)
        report["problems"][name] = _summarise(runs, best, fstar is None)
        _print(name, report["problems"][name])
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
    return 0


def _summarise(runs: dict, best: float, relative: bool) -> dict:
    out = {"optimum": best, "optimum_is_best_found": relative, "searchers": {}}
    finals = {}
    for s, seeds in runs.items():
        regrets = np.array([np.minimum.accumulate(losses) - best for losses, _ in seeds])
        row = {f"median_regret_{k}": float(np.median(regrets[:, k - 1]))
               for k in CHECKPOINTS if k <= regrets.shape[1]}
        row["ms_per_suggestion_last10"] = float(np.mean([np.mean(t[-10:]) for _, t in seeds])
                                                * 1000)
        finals[s] = regrets[:, -1]
        row["final_regret_per_seed"] = [float(r) for r in regrets[:, -1]]
        out["searchers"][s] = row
    base = finals.get("raymlx_random")
    for s, final in finals.items():
        if base is not None and s != "raymlx_random":
            p = mannwhitneyu(final, base, alternative="less").pvalue
            out["searchers"][s]["p_better_than_random"] = float(p)
    peers = {s: f for s, f in finals.items() if not s.startswith("raymlx_")}
    if peers:
        peer = min(peers, key=lambda s: float(np.median(peers[s])))
        out["best_peer"] = peer
        for s, final in finals.items():
            if s.startswith("raymlx_"):
                p = mannwhitneyu(final, peers[peer], alternative="greater").pvalue
                out["searchers"][s]["p_worse_than_best_peer"] = float(p)
    for s, kinds in SAME_KIND_PEERS.items():
        present = [k for k in kinds if k in finals]
        if s in finals and present:
            peer = min(present, key=lambda k: float(np.median(finals[k])))
            p = mannwhitneyu(finals[s], finals[peer], alternative="greater").pvalue
            out["searchers"][s]["same_kind_peer"] = peer
            out["searchers"][s]["p_worse_than_same_kind_peer"] = float(p)
    return out


def _print(name: str, summary: dict) -> None:
    rows = summary["searchers"]
    cols = [c for c in next(iter(rows.values())) if c.startswith("median_regret")]
    print(f"\n### {name} (best peer: {summary.get('best_peer', '-')})\n")
    print("| searcher | " + " | ".join(cols) + " | p better than random"
          " | p worse than best peer | p worse than same-kind peer | ms/suggestion |")
    print("|---" * (len(cols) + 5) + "|")

    def fmt(p):
        return "" if p is None else f"{p:.3g}"

    for s, r in rows.items():
        print(f"| {s} | " + " | ".join(f"{r[c]:.4g}" for c in cols)
              + f" | {fmt(r.get('p_better_than_random'))}"
              + f" | {fmt(r.get('p_worse_than_best_peer'))}"
              + (f" | {fmt(r['p_worse_than_same_kind_peer'])} ({r['same_kind_peer']})"
                 if "same_kind_peer" in r else " | ")
              + f" | {r['ms_per_suggestion_last10']:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
