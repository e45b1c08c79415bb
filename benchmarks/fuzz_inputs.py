"""Hostile tables: what raymlx and FLAML do with a few hundred of them, in one run.

The tables come from :func:`raymlx.testing.tables.tables` (hypothesis, derandomized, so a
run with the same arguments draws the same tables): numbers as text, NaN, infinities, empty
strings, mixed types, unicode, duplicate, empty and non-string column names, high and
single cardinality, empty columns, one to a few rows, rare, single or missing labels, and a
prediction table drifted from the training schema.

- raymlx, every table: the fit's preparation (``AutoML.fit`` up to the start of Ray) and the
  drifted table's preparation for predict. The target (issue 21) is that each either works
  or raises ``InputError`` with one line, never another exception.
- raymlx, the first ``--fits`` tables that prepare: a whole fit on Ray and predict.
- raymlx, the first ``--streamed`` tables: the large-data path (``data_path="distributed"``)
  on Ray up to its first trial, for the table as a DataFrame and as a Parquet folder
  (routing, the streaming pass, the pass that writes the prepared split), and predict's
  preprocessing of the drifted table with what that path learnt.
- FLAML (the peer), the first ``--peer-tables``: ``AutoML.fit`` with a 1 s budget, then
  predict on the drifted table. FLAML has no one-line-error contract; the table reports
  where its exceptions came from (FLAML's own code or the library below it).

For each outcome the result counts the tables and the distinct input kinds they held.

Reproduce (writes benchmarks/results/fuzz_inputs.json, about 10 minutes)::

    .venv/bin/python benchmarks/fuzz_inputs.py --tables 400 --fits 20 --peer-tables 150 \
        --streamed 100
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tabular import REPO, start_ray, versions  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def draw(n: int, strategy: Any = None) -> list:
    """``n`` derandomized examples of ``strategy`` (default: the hostile tables)."""
    from hypothesis import HealthCheck, Phase, given, settings

    from raymlx.testing.tables import tables

    out: list = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(example=tables() if strategy is None else strategy)
    def collect(example) -> None:
        out.append(example)

    collect()
    return out


def origin(err: BaseException) -> str:
    """The package of the innermost frame an exception was raised in."""
    frames = traceback.extract_tb(err.__traceback__)
    path = frames[-1].filename if frames else "?"
    for marker in ("site-packages/", "/raymlx/"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return "raymlx" if marker == "/raymlx/" else tail.split("/", 1)[0]
    return "other"


def outcome_of(call, one_line) -> str:
    from raymlx.errors import InputError

    try:
        call()
        return "ok"
    except InputError as err:
        return "InputError, one line" if one_line(err) else "InputError, several lines"
    except Exception as err:  # noqa: BLE001 - the benchmark counts every other exception
        return f"{type(err).__name__} from {origin(err)}"


def raymlx_row(i: int, ex, fit: bool, work: Path) -> dict[str, Any]:
    from raymlx import AutoML
    from raymlx.testing.tables import one_line, prepare_only

    prepared: list = []
    row = {"table": i, "kinds": sorted(ex.kinds), "prepare": outcome_of(
        lambda: prepared.append(prepare_only(ex, path=str(work / "prep"))), one_line)}
    if not prepared:
        return row
    row["prepare_predict"] = outcome_of(lambda: prepared[0].transform(ex.predict), one_line)
    if fit:
        aml = AutoML(label=ex.label, families=["linear"], num_folds=2, max_models=1,
                     verbosity=0, path=str(work / "fits"))
        row["fit"] = outcome_of(lambda: aml.fit(ex.train), one_line)
        if row["fit"] == "ok":
            row["predict"] = outcome_of(lambda: aml.predict(ex.predict), one_line)
    return row


def streamed_row(row: dict[str, Any], ex, work: Path) -> None:
    """The large-data path (``data_path="distributed"``) up to its first trial, for the
    table as a DataFrame and as a Parquet folder, and predict's preprocessing of the
    drifted table with what it learnt."""
    from raymlx.testing.tables import PreparedFit, one_line, parquet_folder, prepare_streamed

    for stage, train in (("stream", ex.train),
                         ("stream_parquet", parquet_folder(ex.train, work / "table"))):
        if train is None:
            continue
        got: list = []
        row[stage] = outcome_of(lambda t=train, s=stage, g=got: g.append(
            prepare_streamed(ex, train=t, path=str(work / s))), one_line)
        if got and "stream_predict" not in row:
            row["stream_predict"] = outcome_of(
                lambda g=got: PreparedFit(g[0]).transform(ex.predict), one_line)


def raymlx_outcomes(examples: list, fits: int, work: Path,
                    streamed: int = 0) -> list[dict[str, Any]]:
    import shutil

    rows: list[dict[str, Any]] = []
    for i, ex in enumerate(examples):
        done = sum("fit" in r for r in rows)
        rows.append(raymlx_row(i, ex, done < fits, work))
        if i < streamed:
            one = work / f"streamed-{i}"
            streamed_row(rows[-1], ex, one)
            shutil.rmtree(one, ignore_errors=True)
    return rows


def flaml_outcomes(examples: list, budget: float) -> list[dict[str, Any]]:
    from flaml import AutoML as FlamlAutoML

    rows = []
    for i, ex in enumerate(examples):
        task = "regression" if {"regression", "label_with_nan"} & ex.kinds else "classification"
        model = FlamlAutoML()

        def fit(ex=ex, task=task, model=model) -> None:
            model.fit(X_train=ex.train.drop(columns=[ex.label]), y_train=ex.train[ex.label],
                      task=task, time_budget=budget, verbose=0)

        row = {"table": i, "kinds": sorted(ex.kinds), "fit": outcome_of(fit, lambda e: True)}
        if row["fit"] == "ok":
            row["predict"] = outcome_of(lambda m=model, ex=ex: m.predict(ex.predict),
                                        lambda e: True)
        rows.append(row)
    return rows


def summarise(rows: list[dict[str, Any]], stage: str) -> dict[str, dict[str, int]]:
    tables: dict[str, int] = collections.Counter()
    kinds: dict[str, set] = collections.defaultdict(set)
    for r in rows:
        if stage in r:
            tables[r[stage]] += 1
            kinds[r[stage]].update(r["kinds"])
    return {k: {"tables": tables[k], "distinct_kinds": len(kinds[k])} for k in tables}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=400)
    ap.add_argument("--fits", type=int, default=20)
    ap.add_argument("--peer-tables", type=int, default=150)
    ap.add_argument("--streamed", type=int, default=100,
                    help="tables also sent down the large-data path (on Ray)")
    ap.add_argument("--peer-budget", type=float, default=1.0)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.time()
    examples = draw(args.tables)
    if args.fits or args.streamed:
        start_ray(2)
    with tempfile.TemporaryDirectory() as tmp:
        ours = raymlx_outcomes(examples, args.fits, Path(tmp), args.streamed)
    theirs = (flaml_outcomes(examples[:args.peer_tables], args.peer_budget)
              if args.peer_tables else [])
    summary = {
        "raymlx": {stage: summarise(ours, stage)
                   for stage in ("prepare", "prepare_predict", "fit", "predict", "stream",
                                 "stream_parquet", "stream_predict")},
        "flaml": {stage: summarise(theirs, stage) for stage in ("fit", "predict")},
    }
    bad = sum(n["tables"] for stage in summary["raymlx"].values() for k, n in stage.items()
              if k not in ("ok", "InputError, one line"))
    result = {"args": vars(args), "versions": versions(), "seconds": time.time() - t0,
              "target_met": bad == 0, "tables_with_other_exceptions": bad,
              "summary": summary, "raymlx_rows": ours, "flaml_rows": theirs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz_inputs.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"{'system':8} {'stage':16} {'outcome':40} {'tables':>6} {'kinds':>6}")
    for system, stages in summary.items():
        for stage, outcomes in stages.items():
            for outcome, n in sorted(outcomes.items(), key=lambda kv: -kv[1]["tables"]):
                print(f"{system:8} {stage:16} {outcome:40} {n['tables']:6d} "
                      f"{n['distinct_kinds']:6d}")
    print(f"target (no raymlx table ends in another exception): "
          f"{'met' if bad == 0 else f'NOT met ({bad} tables)'}")


if __name__ == "__main__":
    main()
