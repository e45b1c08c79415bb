"""What one GP suggestion costs at 100 observations: raymlx's GPSearch against Optuna's
GPSampler, in one run (issue 19's target: under 50 ms in up to 10 dimensions).

Each searcher is driven sequentially (ask, evaluate, tell) on a cheap objective, so the
time is the searcher's alone; the figure is the mean of suggestions 91 to 100, over the
seeds. Spaces: 2, 6 and 10 continuous dimensions, and AutoML's own conditional space
(every registered family's hyperparameters under a choice of family: ours only, as
Optuna's sampler takes no conditional Tune space).

Reproduce (writes benchmarks/results/gp_cost.json, about 5 minutes)::

    .venv/bin/python benchmarks/gp_cost.py --seeds 2
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from ray import tune

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hpo_drivers import run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 50.0


def objective(config: dict) -> float:
    """A cheap bumpy function of every number in a (nested) config."""
    values: list[float] = []

    def walk(v) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            values.append(float(v))
    walk(config)
    x = np.log1p(np.abs(np.array(values)))
    return float(np.sum((x - 0.3) ** 2) + 0.1 * np.sin(10 * x).sum())


def spaces() -> dict[str, dict]:
    from raymlx.tabular.models import FAMILIES, search_space

    out = {f"continuous_{d}d": {f"x{i}": tune.uniform(0, 1) for i in range(d)}
           for d in (2, 6, 10)}
    out["automl_conditional"] = search_space(list(FAMILIES.values()))
    return out


def ms_at_100(searcher: str, space: dict, seeds: int, evals: int) -> float:
    per_seed = []
    for seed in range(seeds):
        _, times = run(searcher, space, objective, seed, evals)
        per_seed.append(1000 * float(np.mean(times[-10:])))
    return float(np.mean(per_seed))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--evals", type=int, default=100)
    args = ap.parse_args()

    rows = {}
    for name, space in spaces().items():
        row = {"raymlx_gp_ms": ms_at_100("raymlx_gp", space, args.seeds, args.evals)}
        if name.startswith("continuous"):
            row["optuna_gp_ms"] = ms_at_100("optuna_gp", space, args.seeds, args.evals)
        row["target_met"] = row["raymlx_gp_ms"] < TARGET_MS
        rows[name] = row
        print(name, {k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()},
              flush=True)
    result = {"command": f"python benchmarks/gp_cost.py --seeds {args.seeds}",
              "evals": args.evals, "seeds": args.seeds, "target_ms": TARGET_MS,
              "machine": {"cpu_count": __import__("os").cpu_count(),
                          "platform": platform.platform()},
              "date": time.strftime("%Y-%m-%d"), "spaces": rows}
    out = REPO / "benchmarks" / "results" / "gp_cost.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"\n| space | raymlx GP ms | Optuna GP ms | under {TARGET_MS:g} ms |\n|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['raymlx_gp_ms']:.1f} | "
              f"{r.get('optuna_gp_ms', float('nan')):.1f} | {r['target_met']} |")


if __name__ == "__main__":
    main()
