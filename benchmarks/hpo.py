"""HPO benchmark: raymlx's searchers against Tune's and Optuna's, on functions with known
optima and on a real LightGBM objective.

Every searcher is driven the same way through its own ask/tell interface, with
``--concurrency`` trials pending at a time (``benchmarks/hpo_drivers.py``: no Tune runtime,
so the numbers measure the search and not the trial launcher): ours and Tune's
``HyperOptSearch`` through ``Searcher.suggest`` / ``on_trial_complete``, Tune's random
sampling through ``generate_variants`` (what ``BasicVariantGenerator`` uses), Optuna's
``TPESampler`` / ``GPSampler`` through ``study.ask`` / ``study.tell``, Syne Tune's BORE and
KDE searchers, and Tune's ``TuneBOHB`` (HpBandSter's BOHB) with every result told at one
budget, as raymlx's ``BOHBSearch`` is used here. The 24 BBOB functions are in
``benchmarks/bbob.py``.

Reported per problem and searcher: the median simple regret (best loss found minus the
optimum) over the seeds after 20, 50 and 100 evaluations, a one-sided Mann-Whitney U test
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
    .venv/bin/python benchmarks/hpo.py --seeds 10 --evals 40 --concurrency 2 \
        --out benchmarks/results/hpo_concurrent.json                # small budget, 2 at once
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

sys.path.insert(0, str(REPO / "benchmarks"))
from hpo_drivers import SEARCHERS, run  # noqa: E402

CHECKPOINTS = (20, 50, 100)
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


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--problems", default=",".join(problems()))
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--searchers", default=",".join(SEARCHERS))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "hpo.json"))
    args = ap.parse_args(argv)
    chosen = [s for s in args.searchers.split(",") if s]
    all_problems = problems()
    report = {"command": " ".join(["python", "benchmarks/hpo.py", *sys.argv[1:]]),
              "seeds": args.seeds, "evals": args.evals,
              "concurrency": args.concurrency,
              "machine": {"cpu_count": __import__("os").cpu_count(),
                          "platform": platform.platform()}, "problems": {}}
    for name in [p for p in args.problems.split(",") if p]:
        space, f, fstar = all_problems[name]
        if f is None:
            f = _lightgbm_objective()
        runs = {}
        for s in chosen:
            t0 = time.time()
            runs[s] = [run(s, space, f, seed, args.evals, args.concurrency)
                       for seed in range(args.seeds)]
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
