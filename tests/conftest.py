"""Shared fixtures: one local Ray instance per test session, small real and synthetic data.

Markers: a test that uses Ray is marked ``ray`` (automatically when it asks for the
``ray_session`` fixture, directly or through another fixture, or for the suites'
``ray_running``; by hand when it starts Ray some other way); a test that times wall-clock
behaviour is marked ``timing``. ``make test-fast`` runs the rest, with Ray unreachable.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # tests only; raymlx keeps Ray's default
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

REPO = Path(__file__).resolve().parents[1]
WINE_RED = REPO / "examples" / "data" / "winequality-red.csv"


def start_test_ray():
    """The tests' one local Ray instance (the multi-node tests stop it for their simulated
    cluster and start it again with this)."""
    import ray

    from raymlx.testing.searchers import ensure_local_ray

    ensure_local_ray()
    return ray


def wait_for_idle_cpus(timeout: float = 60.0) -> None:
    """Blocks until every CPU of the running Ray is free again. A Tune run's reused actors
    let go of their CPUs a moment after ``Tuner.fit`` returns; a test that needs trials side
    by side waits for that, else its first trials run one at a time (CI saw PBT find no
    partner to exploit, and 40 short trials all land on one actor)."""
    import time

    import ray

    deadline = time.monotonic() + timeout
    while ray.available_resources().get("CPU", 0) < ray.cluster_resources().get("CPU", 0):
        if time.monotonic() > deadline:
            raise AssertionError(f"CPUs still held after {timeout:.0f} s: "
                                 f"{ray.available_resources()} of {ray.cluster_resources()}")
        time.sleep(0.2)


RAY_FIXTURES = {"ray_session", "ray_running", "three_nodes", "head_with_token"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if RAY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.ray)


@pytest.fixture(scope="session")
def ray_session():
    ray = start_test_ray()
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def wine_red() -> pd.DataFrame:
    return pd.read_csv(WINE_RED, sep=";")


def make_binary_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A binary task with numeric, categorical, boolean, datetime and missing values."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.random(n) < 0.5
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    logit = 1.5 * x1 - x2 + (color == "red") * 1.0 + flag * 0.5
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "flag": flag,
                       "day": day.strftime("%Y-%m-%d"), "row_id": [f"id{i}" for i in range(n)],
                       "target": y})
    df.loc[rng.random(n) < 0.05, "x2"] = np.nan
    df.loc[rng.random(n) < 0.05, "color"] = None
    return df


@pytest.fixture(scope="session")
def binary_frame() -> pd.DataFrame:
    return make_binary_frame()


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on loopback now (bound together, then released)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports
