"""Serving benchmark: a served raymlx predictor under load on loopback, bagged and refit on
all rows, beside a minimal HTTP server around one default LightGBM, in the same run.

One table of ``shared/datasets`` (the fixed 75/25 split of benchmarks/tabular.py) is fitted
once with ``refit_full=True``; the same predictor folder is served by ``raymlx serve``'s
code (Ray Serve, one replica of one CPU) first with the bagged final ensemble and then with
its all-rows refit. The peer is what a user would write by hand: Python's
``ThreadingHTTPServer`` in its own process, a JSON body read into a DataFrame with the
training categories, ``LGBMClassifier.predict_proba``, a JSON answer.

The load is open-loop: one single-row POST every 1/rate seconds for a fixed duration (the
next request is sent on schedule whether or not the previous one came back), from an
asyncio client with aiohttp in this process. Latency is from a request's send to its
answer; a failure is any answer other than 200 or no answer within 5 s.

Targets (issue 22): the refit ensemble's p50 within 2x the LightGBM server's; p99 under
50 ms at 100 requests per second; zero failed requests.

Reproduce (writes benchmarks/results/serving.json, about 5 minutes)::

    .venv/bin/python benchmarks/serving.py --dataset bank_marketing --rates 25,50,100 \\
        --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tabular import DATASETS_DIR, REPO, as_categories, load_datasets, split  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TIMEOUT_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the LightGBM peer
def lightgbm_server(model_path: str, port: int) -> None:
    """The minimal server: JSON rows in, labels and probabilities out."""
    with open(model_path, "rb") as fh:
        model, categories, columns, classes = pickle.load(fh)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            frame = pd.DataFrame.from_records(json.loads(body), columns=columns)
            for col, cats in categories.items():
                frame[col] = pd.Categorical(frame[col], categories=cats)
            proba = model.predict_proba(frame)
            labels = [classes[i] for i in proba.argmax(axis=1)]
            out = json.dumps({"predictions": labels,
                              "probabilities": proba.tolist()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def start_lightgbm(train: pd.DataFrame, y: np.ndarray, classes: list,
                   work: Path) -> tuple[Any, str]:
    import lightgbm as lgb

    X, _ = as_categories(train, train)
    model = lgb.LGBMClassifier(verbose=-1).fit(X, y)
    cats = {c: list(X[c].cat.categories) for c in X.columns if X[c].dtype == "category"}
    path = work / "lightgbm.pkl"
    with open(path, "wb") as fh:
        pickle.dump((model, cats, list(X.columns), [str(c) for c in classes]), fh)
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--lightgbm-server", str(path),
                             str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/")
    return proc, url


def wait_up(url: str, seconds: float = 60) -> None:
    import requests

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


# ------------------------------------------------------------------------ the load
async def open_loop(url: str, bodies: list[bytes], rate: float, duration: float) -> dict:
    import aiohttp

    n = int(rate * duration)
    latencies: list[float] = []
    failures = 0

    async def one(session, body: bytes) -> None:
        nonlocal failures
        t0 = time.perf_counter()
        try:
            async with session.post(url, data=body,
                                    headers={"Content-Type": "application/json"}) as r:
                await r.read()
                if r.status != 200:
                    failures += 1
                    return
        except (aiohttp.ClientError, asyncio.TimeoutError):
            failures += 1
            return
        latencies.append(time.perf_counter() - t0)

    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=0)) as session:
        for body in bodies[:50]:  # warm: connections, the replica's first calls
            await one(session, body)
        latencies.clear()
        failures = 0
        start = time.perf_counter()
        tasks = []
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, bodies[i % len(bodies)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return {"requests": n, "failed": failures, "rps": (n - failures) / elapsed,
            "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
            "p99_ms": float(np.percentile(ms, 99)) if len(ms) else None,
            "mean_ms": float(ms.mean()) if len(ms) else None}


# ------------------------------------------------------------------------- the run
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="bank_marketing")
    p.add_argument("--rates", default="25,50,100",
                   help="comma-separated request rates per second (the targets are at 100)")
    p.add_argument("--duration", type=float, default=15.0,
                   help="seconds of load per server and rate")
    p.add_argument("--time-limit", type=float, default=60.0, help="raymlx's fit budget")
    p.add_argument("--out", default=str(RESULTS / "serving.json"))
    p.add_argument("--lightgbm-server", nargs=2, metavar=("MODEL", "PORT"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.lightgbm_server:
        lightgbm_server(args.lightgbm_server[0], int(args.lightgbm_server[1]))
        return 0

    from raymlx import AutoML
    from raymlx.tabular.serving import serve_predictor, stop_serving

    ds = next(d for d in load_datasets(DATASETS_DIR) if d.name == args.dataset)
    if ds.task == "regression":
        raise SystemExit("pick a classification table: the peer server answers probabilities")
    sp = split(ds)
    work = Path(tempfile.mkdtemp(prefix="raymlx-serving-"))
    features = sp.test.drop(columns=[ds.label])
    bodies = [json.dumps(json.loads(features.iloc[i:i + 1].to_json(orient="records"))).encode()
              for i in range(min(500, len(features)))]

    t0 = time.time()
    aml = AutoML(label=ds.label, time_limit=args.time_limit, refit_full=True,
                 path=work / "runs", seed=0, verbosity=0).fit(sp.train)
    fit_s = time.time() - t0
    folder = aml.save(work / "predictor")
    full = aml.best_model_
    bagged = next(b for b, f in aml.refit_full_.items() if f == full)

    rates = [float(r) for r in args.rates.split(",")]
    results: dict[str, dict[str, Any]] = {}

    def load(name: str, url: str) -> None:
        results[name] = {}
        for rate in rates:
            results[name][f"{rate:g}"] = asyncio.run(open_loop(url, bodies, rate,
                                                               args.duration))
            print(name, rate, results[name][f"{rate:g}"], flush=True)

    port = free_port()
    for name, model in (("raymlx_bagged", bagged), ("raymlx_refit", full)):
        load(name, serve_predictor(str(folder), replicas=1, port=port, model=model)
             + "/predict")
    stop_serving()
    proc, url = start_lightgbm(sp.train.drop(columns=[ds.label]), sp.y_train, sp.classes,
                               work)
    try:
        load("lightgbm_http_server", url + "/predict")
    finally:
        proc.terminate()

    top = f"{max(rates):g}"
    peer, refit = results["lightgbm_http_server"][top], results["raymlx_refit"][top]
    targets = {
        f"refit_p50_within_2x_lightgbm_at_{top}": bool(
            refit["p50_ms"] is not None and peer["p50_ms"]
            and refit["p50_ms"] <= 2 * peer["p50_ms"]),
        f"p99_under_50ms_at_{top}": {k: bool(v[top]["p99_ms"] is not None
                                              and v[top]["p99_ms"] < 50)
                                     for k, v in results.items()},
        "zero_failed": {k: all(r["failed"] == 0 for r in v.values())
                        for k, v in results.items()},
    }
    record = {"dataset": ds.name, "rates_rps": rates, "duration_s": args.duration,
              "fit_time_limit_s": args.time_limit, "fit_s": round(fit_s, 1),
              "models": {"bagged": bagged, "refit": full,
                         "members": list(aml.models_.records[bagged].weights)},
              "results": results, "targets": targets,
              "machine": "2 CPU cores, loopback, client in the benchmark process"}
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")

    print(f"\n{ds.name}: one-row POSTs, {args.duration:.0f} s at each rate")
    print(f"{'server':22s} {'rate':>5s} {'p50 ms':>8s} {'p99 ms':>8s} {'req/s':>7s} "
          f"{'failed':>7s}")
    for k, v in results.items():
        for rate, r in v.items():
            p50 = "-" if r["p50_ms"] is None else f"{r['p50_ms']:.1f}"
            p99 = "-" if r["p99_ms"] is None else f"{r['p99_ms']:.1f}"
            print(f"{k:22s} {rate:>5s} {p50:>8s} {p99:>8s} {r['rps']:7.1f} {r['failed']:7d}")
    print("targets:", json.dumps(targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
