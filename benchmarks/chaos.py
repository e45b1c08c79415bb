"""Chaos runs: raymlx fits on a simulated 3-node cluster while faults are injected.

One ``ray.cluster_utils.Cluster`` (a head and two worker nodes, 1 CPU each) with token
authentication left as Ray 2.60 sets it (on). For each fault kind of
:mod:`raymlx.testing.chaos` (a trial's worker SIGKILLed, a worker node removed and a new
one added, the out-of-fold store SIGKILLed, the resource manager SIGKILLed, the driver
SIGKILLed and the fit finished with ``raymlx fit --resume``), a ``raymlx fit`` driver runs
on the cluster while a seeded chaos thread in this process injects faults (mean
``--every`` seconds apart). The reference is the same fit, same seed, with no fault.

Reported per kind:

- ``faults``: faults injected; ``completed``: the fit ended with a saved predictor;
- ``finished_trials_lost``: trials the fit's ledger recorded as finished (scored) that
  are not models of the final predictor (target 0);
- ``reruns_after_finishing``: trials that told the resource manager they had finished
  but ran again (a driver killed between a trial's report and its ledger line);
- ``duplicate_trials``: scored ledger lines repeating a configuration of the same phase,
  beyond what the fault-free run has;
- ``trials_failed``: leaderboard rows with an error (a trial whose retries ran out);
- ``test_rmse`` against the fault-free run's, and ``wall_overhead`` (wall time over the
  fault-free run's, minus 1).

Reproduce (writes benchmarks/results/chaos.json, about 15 minutes on 2 cores)::

    .venv/bin/python benchmarks/chaos.py

``--quick`` runs each kind with one fault on a short fit (the version the tests run).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO / "examples" / "data" / "winequality-red.csv"
RESULTS = REPO / "benchmarks" / "results"
FAMILIES = "lightgbm,random_forest,extra_trees,linear"


def start_cluster(workers: int = 2, cpus: int = 1):
    """The simulated cluster: a head and ``workers`` worker nodes of ``cpus`` CPUs, with
    token authentication on (:func:`raymlx.testing.chaos.token_auth_env`; Ray reads the
    mode as it is imported, so this runs before anything imports it)."""
    from raymlx.testing.chaos import token_auth_env

    env = token_auth_env(Path(tempfile.mkdtemp(prefix="chaos-token-")))
    if env and "ray" in sys.modules:
        raise RuntimeError("start_cluster must run before ray is imported")
    os.environ.update(env)
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus})
    for _ in range(workers):
        cluster.add_node(num_cpus=cpus)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    return cluster


class Driver:
    """The fit's driver process: ``raymlx fit``, then ``raymlx fit --resume`` after each
    time it is killed, until one run ends by itself."""

    def __init__(self, cluster, train: Path, work: Path, args: argparse.Namespace) -> None:
        self.env = {**os.environ, "RAY_ADDRESS": cluster.address, "PYTHONPATH": str(REPO)}
        self.runs, self.output = work / "runs", work / "predictor"
        self.first = [sys.executable, "-m", "raymlx.cli", "fit", str(train),
                      "--label", "quality", "--problem-type", "regression",
                      "--output", str(self.output), "--path", str(self.runs),
                      "--max-models", str(args.max_models), "--num-folds", "3",
                      "--num-stack-levels", "1", "--families", FAMILIES,
                      "--seed", str(args.seed), "--searcher", "random", "--quiet"]
        self.proc: subprocess.Popen | None = None
        self.kills, self.stderr = 0, ""
        self._lock = threading.Lock()

    def folder(self) -> Path | None:
        found = sorted(self.runs.glob("fit-*"))
        return found[0] if found else None

    def kill(self) -> str | None:
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                return None
            self.proc.send_signal(signal.SIGKILL)
            self.kills += 1
            return f"driver pid {self.proc.pid}"

    def run(self, timeout_s: float, pump=None) -> int:
        """Runs the fit to its end; ``pump`` is called a few times a second meanwhile."""
        end = time.time() + timeout_s
        command = self.first
        log = self.runs.parent / "driver.log"
        while True:
            with self._lock, open(log, "w") as out:
                self.proc = subprocess.Popen(command, env=self.env, stdout=out,
                                             stderr=subprocess.STDOUT, text=True)
            while self.proc.poll() is None and time.time() < end:
                if pump is not None:
                    pump()
                time.sleep(0.1)
            if self.proc.poll() is None:
                self.proc.kill()
                self.stderr = "timed out"
                return -1
            self.stderr = log.read_text()[-3000:]
            if self.proc.returncode != -signal.SIGKILL:
                return self.proc.returncode
            folder = self.folder()
            if folder is None:  # killed before its folder existed: start again
                continue
            command = [sys.executable, "-m", "raymlx.cli", "fit", "--resume", str(folder),
                       "--output", str(self.output), "--quiet"]


def ledger_figures(folder: Path, final_ids: set[str]) -> dict[str, Any]:
    """The lost, rerun and duplicated trials, from the fit's ledger and manager journal."""
    from raymlx.cluster.manager import JOURNAL_FILE
    from raymlx.tabular.engine.ledger import read_ledger

    def scored(e: dict) -> bool:
        return bool(e.get("checkpoint")) and not e.get("error") and \
            not e["metrics"].get("error") and not e["metrics"].get("partial")

    finished = {e["trial_id"] for entries in read_ledger(folder).values() for e in entries
                if scored(e)}
    told = set()
    journal = folder / JOURNAL_FILE
    if journal.is_file():
        for line in journal.read_text().splitlines():
            e = json.loads(line)
            if e["kind"] == "trial_finished" and e["args"][1] == "ok":
                told.add(e["args"][0])
    seen: dict[str, int] = {}
    for entries in read_ledger(folder).values():
        for e in entries:
            if scored(e):
                key = json.dumps([e.get("phase"), e["model"]], sort_keys=True, default=str)
                seen[key] = seen.get(key, 0) + 1
    return {"finished_trials": len(finished),
            "finished_trials_lost": len(finished - final_ids),
            "reruns_after_finishing": len(told - final_ids - finished),
            "repeated_configs": sum(n - 1 for n in seen.values())}


def run_one(kind: str | None, cluster, train: Path, test: pd.DataFrame,
            args: argparse.Namespace) -> dict[str, Any]:
    """One fit under ``kind``'s faults (None: the fault-free reference)."""
    from raymlx import AutoML
    from raymlx.testing.chaos import Chaos

    work = Path(tempfile.mkdtemp(prefix=f"chaos-{kind or 'none'}-"))
    driver = Driver(cluster, train, work, args)
    chaos = None
    if kind is not None:
        chaos = Chaos(kind, args.every, args.seed, cluster=cluster, node_args={"num_cpus": 1},
                      kill_driver=driver.kill, max_faults=args.max_faults,
                      warm_up_s=args.warm_up)
        chaos.start()
    t0 = time.time()
    rc = driver.run(args.fit_timeout, chaos.pump if chaos is not None else None)
    wall = time.time() - t0
    if chaos is not None:
        chaos.stop()
    row: dict[str, Any] = {"kind": kind or "none", "faults": len(chaos.faults) if chaos else 0,
                           "completed": rc == 0 and driver.output.is_dir(),
                           "wall_s": round(wall, 1), "driver_runs": driver.kills + 1,
                           "fault_log": [f.to_dict() for f in chaos.faults] if chaos else [],
                           "injection_errors": (chaos.errors[:5] if chaos else [])}
    if not row["completed"]:
        row["stderr"] = driver.stderr
        return row
    aml = AutoML.load(driver.output)
    pred = aml.predict(test.drop(columns="quality"))
    row["test_rmse"] = float(np.sqrt(np.mean((pred - test["quality"].to_numpy()) ** 2)))
    board = aml.leaderboard()
    row["models"] = int(board.error.isna().sum())
    row["trials_failed"] = int(board.error.notna().sum())
    final_ids = {r.trial_id for r in aml.models_.records.values() if r.trial_id}
    row.update(ledger_figures(driver.folder(), final_ids))
    report = aml.cluster_report_ or {}
    row["retries"] = report.get("retries")
    row["manager_restarts"] = report.get("manager_restarts")
    return row


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from raymlx.cluster.auth import token_auth_enforced
    from raymlx.testing.chaos import KINDS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--every", type=float, default=10.0, help="mean seconds between faults")
    parser.add_argument("--max-faults", type=int, default=6, help="per fit")
    parser.add_argument("--max-models", type=int, default=60)
    parser.add_argument("--warm-up", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit-timeout", type=float, default=900)
    parser.add_argument("--quick", action="store_true",
                        help="one fault per kind on a 6-trial fit (what the tests run)")
    parser.add_argument("--out", default=str(RESULTS / "chaos.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.max_faults, args.max_models, args.every, args.warm_up = 1, 6, 2.0, 1.0
    frame = pd.read_csv(DATA, sep=";")
    test = frame.sample(frac=0.25, random_state=0)
    work = Path(tempfile.mkdtemp(prefix="chaos-data-"))
    train = work / "train.csv"
    frame.drop(index=test.index).to_csv(train, index=False)
    cluster = start_cluster()
    try:
        auth = token_auth_enforced(cluster.address)
        rows = [run_one(None, cluster, train, test, args)]
        for kind in args.kinds.split(","):
            rows.append(run_one(kind, cluster, train, test, args))
            print(f"{kind}: {json.dumps({k: v for k, v in rows[-1].items() if k != 'fault_log'})}",
                  flush=True)
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
    base = rows[0]
    for row in rows[1:]:
        if row.get("completed") and base.get("completed"):
            row["duplicate_trials"] = max(0, row["repeated_configs"] - base["repeated_configs"])
            row["rmse_vs_fault_free"] = round(row["test_rmse"] - base["test_rmse"], 5)
            row["wall_overhead"] = round(row["wall_s"] / base["wall_s"] - 1, 3)
    faulted = rows[1:]
    result = {"benchmark": "chaos", "cluster": "ray.cluster_utils.Cluster: head + 2 workers, "
              "1 CPU each", "token_auth_enforced": auth, "dataset": "wine_red (regression)",
              "settings": vars(args), "runs": rows,
              "target_zero_lost_all_completed": all(
                  r.get("completed") and r.get("finished_trials_lost") == 0 for r in faulted)}
    if not args.quick or args.out != str(RESULTS / "chaos.json"):
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    _print_table(rows, auth)
    return result


def _print_table(rows: list[dict], auth: bool) -> None:
    cols = ["kind", "faults", "completed", "finished_trials_lost", "reruns_after_finishing",
            "duplicate_trials", "trials_failed", "test_rmse", "rmse_vs_fault_free", "wall_s",
            "wall_overhead"]
    print(f"token auth enforced: {auth}")
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r.get(c, "")) for c in cols))


if __name__ == "__main__":
    main()
