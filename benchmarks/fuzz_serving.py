"""Hostile request bodies against a served predictor: raymlx serve's handling and a
hand-rolled endpoint's, on the same predictor, in one run.

The bodies come from :func:`raymlx.testing.request_bodies.request_bodies` (hypothesis,
derandomized): wrong types in a cell, integers too large for a float, NaN and infinity as
text, unicode, dates that are not dates, missing and unseen columns, rows that are not
objects, bodies that are not lists, truncated JSON, bytes that are not UTF-8, empty bodies
and lists, too many rows, and CSV bodies, ragged or header-only.

- raymlx: what a ``raymlx serve`` replica does with the body
  (:func:`~raymlx.testing.request_bodies.respond`: the request checks, then the
  predictor), in this process; a body that does not get an answer must get one line
  (HTTP 400). The target (issue 21) is no other exception (an HTTP 500).
  ``tests/tabular/test_fuzz_serving.py`` sends some of them over HTTP as well.
- The peer: the endpoint a user writes by hand around the same predictor (``json.loads``
  or ``read_csv`` into a DataFrame, then ``predict``), which is what a plain Ray Serve
  deployment of an AutoML predictor does.

The predictor: ``AutoML(families=["lightgbm", "linear"], max_models=2)`` on a 400-row
binary table with numeric, categorical, boolean and date columns (the tests' table).

Reproduce (writes benchmarks/results/fuzz_serving.json, about 2 minutes)::

    .venv/bin/python benchmarks/fuzz_serving.py --bodies 400
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_inputs import draw  # noqa: E402
from tabular import REPO, start_ray, versions  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def fitted(work: Path) -> Any:
    sys.path.insert(0, str(REPO))
    from raymlx import AutoML
    from tests.conftest import make_binary_frame

    return AutoML(label="target", families=["lightgbm", "linear"], max_models=2,
                  num_folds=3, path=work, verbosity=0).fit(make_binary_frame(400, 0))


def summarise(rows: list[dict[str, Any]], system: str) -> dict[str, dict[str, int]]:
    bodies: dict[str, int] = collections.Counter()
    kinds: dict[str, set] = collections.defaultdict(set)
    for r in rows:
        bodies[r[system]] += 1
        kinds[r[system]].update(r["kinds"])
    return {k: {"bodies": bodies[k], "distinct_kinds": len(kinds[k])} for k in bodies}


def main() -> None:
    from raymlx.tabular.serving.request_rows import predictor_schema
    from raymlx.testing.request_bodies import outcome, peer_respond, request_bodies, respond

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bodies", type=int, default=400)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.time()
    start_ray(2)
    with tempfile.TemporaryDirectory() as tmp:
        aml = fitted(Path(tmp))
        schema = predictor_schema(aml)
        bodies = draw(args.bodies, request_bodies(schema))
        rows = []
        for i, body in enumerate(bodies):
            ours, detail = outcome(lambda b=body: respond(aml, schema, b))
            theirs, peer_detail = outcome(lambda b=body: peer_respond(aml, b))
            if ours == "answered" and body.rows is not None:
                ours = "answered" if int(detail) == body.rows else "crashed"
            rows.append({"body": i, "kinds": sorted(body.kinds), "raymlx": ours,
                         "raymlx_detail": detail, "peer": theirs, "peer_detail": peer_detail})
    summary = {system: summarise(rows, system) for system in ("raymlx", "peer")}
    crashed = summary["raymlx"].get("crashed", {}).get("bodies", 0)
    result = {"args": vars(args), "versions": versions(), "seconds": time.time() - t0,
              "target_met": crashed == 0, "raymlx_crashed": crashed, "summary": summary,
              "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz_serving.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"{'system':8} {'outcome':10} {'bodies':>6} {'kinds':>6}")
    for system, outcomes in summary.items():
        for name, n in sorted(outcomes.items(), key=lambda kv: -kv[1]["bodies"]):
            print(f"{system:8} {name:10} {n['bodies']:6d} {n['distinct_kinds']:6d}")
    print("target (no raymlx body ends in another exception, an HTTP 500): "
          f"{'met' if crashed == 0 else f'NOT met ({crashed} bodies)'}")
    for r in rows:
        if r["raymlx"] == "crashed":
            print("  crashed:", r["kinds"], r["raymlx_detail"])


if __name__ == "__main__":
    main()
