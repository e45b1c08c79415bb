"""Hostile CSV files: what raymlx and a pandas-plus-FLAML pipeline do with them, in one run.

The files come from :func:`raymlx.testing.files.csv_files` (hypothesis, derandomized): the
hostile tables of ``fuzz_inputs.py`` written as CSV, then damaged (another delimiter, a
byte-order mark, Windows line ends, Latin-1, cut short, random bytes inserted, an
unbalanced quote, a ragged row, only the header, empty, or not CSV at all).

- raymlx, every file: ``AutoML.fit(path)`` up to the start of Ray (reading, checks, label,
  preprocessing). The target (issue 21) is that it works or raises ``InputError`` with one
  line, never another exception.
- The peer, the first ``--peer-files``: ``pandas.read_csv(path)`` and then FLAML's
  ``AutoML.fit`` with a 1 s budget, as a FLAML user reads a file. It has no one-line-error
  contract; the result counts where its exceptions came from.

Reproduce (writes benchmarks/results/fuzz_files.json, about 7 minutes)::

    .venv/bin/python benchmarks/fuzz_files.py --files 400 --peer-files 100
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_inputs import draw, outcome_of, summarise  # noqa: E402
from tabular import REPO, versions  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def raymlx_rows(files: list, work: Path) -> list[dict[str, Any]]:
    from raymlx.testing.tables import one_line, prepare_only

    rows = []
    for i, ex in enumerate(files):
        path = ex.write(work, f"t{i}.csv")
        rows.append({"file": i, "kinds": sorted(ex.kinds), "fit": outcome_of(
            lambda ex=ex, path=path: prepare_only(ex.table, train=path,
                                                  path=str(work / "prep")), one_line)})
    return rows


def peer_rows(files: list, work: Path, budget: float) -> list[dict[str, Any]]:
    import pandas as pd
    from flaml import AutoML as FlamlAutoML

    rows = []
    for i, ex in enumerate(files):
        path = ex.write(work, f"p{i}.csv")

        def fit(ex=ex, path=path) -> None:
            df = pd.read_csv(path)
            kinds = ex.kinds
            task = "regression" if {"regression", "label_with_nan"} & kinds else \
                "classification"
            FlamlAutoML().fit(X_train=df.drop(columns=[ex.label]), y_train=df[ex.label],
                              task=task, time_budget=budget, verbose=0)

        rows.append({"file": i, "kinds": sorted(ex.kinds), "fit": outcome_of(fit,
                                                                              lambda e: True)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--peer-files", type=int, default=100)
    ap.add_argument("--peer-budget", type=float, default=1.0)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.time()
    from raymlx.testing.files import csv_files

    files = draw(args.files, csv_files())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours = raymlx_rows(files, work)
        theirs = peer_rows(files[: args.peer_files], work, args.peer_budget)
    other = [r for r in ours if r["fit"] not in ("ok", "InputError, one line")]
    result = {"args": vars(args), "versions": versions(),
              "seconds": time.time() - t0, "target_met": not other,
              "files_with_other_outcomes": len(other),
              "summary": {"raymlx": summarise(ours, "fit"),
                          "pandas_flaml": summarise(theirs, "fit")},
              "raymlx_rows": ours, "pandas_flaml_rows": theirs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz_files.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"{len(files)} files in {result['seconds']:.0f} s; raymlx outcomes other than ok "
          f"or a one-line InputError: {len(other)} (target: 0, "
          f"{'met' if not other else 'NOT met'})")
    for who, table in result["summary"].items():
        print(f"\n{who}:")
        for outcome, n in sorted(table.items(), key=lambda kv: -kv[1]["tables"]):
            print(f"  {n['tables']:4d}  {outcome}")


if __name__ == "__main__":
    main()
