"""Writes one docs page per ``benchmarks/results/NAME.json`` into ``docs/benchmarks/results/``
(run by ``make docs`` before mkdocs builds; the pages are generated, never edited by hand).

Every figure a script wrote is shown: a dict of plain values becomes a two-column table, a
dict of dicts with plain values a table with one row per key, a list of such dicts a table
(the first :data:`MAX_ROWS` rows, and how many there are), and anything deeper a heading
per key. Numbers keep four significant digits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
OUT = ROOT / "docs" / "benchmarks" / "results"
MAX_ROWS = 40

#: what each result file is, for its page's first line
ABOUT = {
    "tabular": "raymlx's default fit against one default LightGBM and FLAML at 60 s.",
    "tabular_after_layout": "The tabular benchmark rerun after the architecture change.",
    "tabular_ablation": "Issue 18's calibration and budget-aware folds, each turned off in the "
                        "same run (raymlx_uncalibrated: calibrate=False; raymlx_fixed_folds: "
                        "num_folds=5 given).",
    "tabular_floor": "raymlx against one default LightGBM on 13 tables at 60 s (the five "
                     "many-class ones included), after calibration, many-class sizing and "
                     "budget-aware folds (issue 18); each raymlx run lists the ensemble "
                     "check's figures and both sides' test scores.",
    "tabular_asha": "The tabular benchmark with ASHA over folds.",
    "tabular_searchers": "Random search against TPE inside AutoML at 60 s.",
    "stacking": "raymlx best_quality against AutoGluon best_quality.",
    "stacking_memory": "Driver memory while stacking, raymlx against AutoGluon.",
    "hpo": "raymlx's searchers against Tune's and Optuna's on test functions and LightGBM.",
    "hpo_bbob": "The 24 BBOB functions of COCO in 2, 5 and 10 dimensions at 20, 50 and 100 "
                "evaluations with 1 and 4 concurrent trials: mean ranks of raymlx's "
                "searchers and the peers (Optuna, hyperopt through Tune, Tune's random and "
                "BOHB, Syne Tune's KDE), per function group, with Mann-Whitney tests.",
    "hpo_concurrent": "The HPO problems at a small budget (40 evaluations) with 2 trials "
                      "pending at a time.",
    "schedulers": "raymlx's schedulers against Tune's and Syne Tune's on a 20 s wall budget, "
                  "on three multi-fidelity problems (one noisy).",
    "schedulers_pbt": "The three PBTs (raymlx's after it stopped cloning finished members, "
                      "Tune's, Syne Tune's) and FIFO rerun on the scheduler benchmark.",
    "tpe_variants": "How TPE's good fraction was chosen: variants of raymlx's TPE and "
                    "Optuna's TPE on BBOB instances 5 and 71 (not the reported ones).",
    "tpe_variants_check": "Gamma 0.10 against 0.15 on BBOB instances 72 and 73, in 5 and 10 "
                          "dimensions.",
    "nas": "DARTS and ProxylessNAS: supernet memory, searched against random cells, "
           "data-parallel throughput.",
    "serving": "raymlx serve against a minimal LightGBM HTTP server.",
    "one_row_latency": "One-row predict latency of bagged and refit models.",
    "scaling": "Trial overhead and scaling over CPUs and a simulated 3-node cluster.",
    "large_data": "The large-data path against the in-memory path, LightGBM and AutoGluon.",
    "fuzz_inputs": "Generated hostile tables: raymlx's one-line errors against FLAML.",
    "fuzz_files": "Generated hostile CSV files: raymlx against pandas.read_csv plus FLAML.",
    "hpo_gp": "The GP searcher's regret after its surrogate rewrite, beside Optuna's GP.",
    "gp_cost": "Milliseconds per GP suggestion at 100 observations, raymlx against Optuna.",
    "chaos": "Fits on a simulated 3-node cluster under injected faults, against the "
             "fault-free fit.",
    "long_fit": "Driver memory over a thousand-trial fit, raymlx against a plain Ray Tune "
                "script.",
    "fuzz_serving": "Generated hostile request bodies: raymlx serve's handling against a "
                    "hand-rolled endpoint around the same predictor.",
}


def _plain(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        text = json.dumps(v, default=str)
        return (text[:80] + "…") if len(text) > 80 else text
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out + [""]


def _is_records(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(r, dict) for r in v)


def _flat_rows(v: dict) -> bool:
    """A dict of dicts whose values are plain (or short lists): one table row per key."""
    return bool(v) and all(isinstance(r, dict) and r and all(
        _plain(x) or (isinstance(x, list) and len(x) <= 6) for x in r.values())
        for r in v.values())


def render(value, level: int, lines: list[str]) -> None:
    if isinstance(value, dict):
        plain = {k: v for k, v in value.items() if _plain(v) or
                 (isinstance(v, list) and not _is_records(v))}
        if plain:
            lines += _table(["", "value"], [[k, v] for k, v in plain.items()])
        rest = {k: v for k, v in value.items() if k not in plain}
        for key, v in rest.items():
            lines.append(f"{'#' * min(level, 6)} {key}\n")
            if isinstance(v, dict) and _flat_rows(v):
                cols = list(dict.fromkeys(c for r in v.values() for c in r))
                lines += _table([""] + cols, [[k] + [r.get(c, "") for c in cols]
                                              for k, r in v.items()])
            else:
                render(v, level + 1, lines)
    elif _is_records(value):
        cols = list(dict.fromkeys(c for r in value for c in r))
        lines += _table(cols, [[r.get(c, "") for c in cols] for r in value[:MAX_ROWS]])
        if len(value) > MAX_ROWS:
            lines.append(f"(the first {MAX_ROWS} of {len(value)} rows)\n")
    else:
        lines.append(f"{_cell(value)}\n")


def page(path: Path) -> str:
    name = path.stem
    data = json.loads(path.read_text())
    lines = [f"# {name}\n", ABOUT.get(name, "") + "\n",
             f"Generated from `benchmarks/results/{name}.json` by `docs/gen_benchmarks.py`.",
             f"The script that measured it: `benchmarks/{name.split('_after')[0]}.py`"
             if (ROOT / "benchmarks" / f"{name}.py").exists() else
             "Written by one of the scripts in `benchmarks/`.", ""]
    render(data, 2, lines)
    return "\n".join(lines)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    names = []
    for path in sorted(RESULTS.glob("*.json")):
        (OUT / f"{path.stem}.md").write_text(page(path))
        names.append(path.stem)
    index = ["# Every result file\n", "One generated page per file in `benchmarks/results/`:\n"]
    index += [f"- [{n}]({n}.md): {ABOUT.get(n, '')}" for n in names]
    (OUT / "index.md").write_text("\n".join(index) + "\n")
    print(f"wrote {len(names)} benchmark pages to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
