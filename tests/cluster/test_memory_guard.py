"""The per-trial memory guard stops the code it watches once RSS passes the limit."""

from __future__ import annotations

import time

import numpy as np
import pytest

from raymlx.cluster.memory_guard import (
    MemoryGuard,
    MemoryLimitExceeded,
    node_memory,
)


def test_growing_past_the_limit_raises_in_the_watched_thread():
    limit = 200 * 2**20
    blocks = []
    with pytest.raises(MemoryLimitExceeded):
        with MemoryGuard(limit, interval=0.02) as guard:
            for _ in range(400):  # up to 4 GB in 10 MB steps: stopped near 200 MB more
                blocks.append(np.ones(10 * 2**20 // 8))
                time.sleep(0.002)
    assert guard.exceeded and "over its limit of 200 MiB" in guard.message
    assert guard.base + limit < guard.peak < guard.base + limit + 600 * 2**20
    assert 20 <= len(blocks) < 80


def test_staying_under_the_limit_is_left_alone():
    with MemoryGuard(300 * 2**20, interval=0.02) as guard:
        data = [np.ones(2**20) for _ in range(5)]  # 40 MB
        time.sleep(0.1)
    # how much RSS grows depends on memory the allocator already holds (other tests freed
    # some): only "not past the limit" is certain
    assert not guard.exceeded and guard.peak >= guard.base and len(data) == 5
    with MemoryGuard(None) as off:
        pass
    assert not off.exceeded


def test_memory_freed_before_the_block_does_not_count():
    """The limit is on growth during the block: what the process held before (a reused
    worker's earlier trials) is not the trial's."""
    held = np.ones(300 * 2**20 // 8)  # 300 MB held before the block
    with MemoryGuard(100 * 2**20, interval=0.02) as guard:
        data = np.ones(50 * 2**20 // 8)
        time.sleep(0.1)
    assert not guard.exceeded and guard.base > 300 * 2**20 and held.size and data.size


def test_the_object_store_pages_a_trial_reads_are_not_its_memory(ray_session):
    import ray

    ref = ray.put(np.ones(400 * 2**20 // 8))
    with MemoryGuard(200 * 2**20, interval=0.02) as guard:
        view = ray.get(ref)  # zero-copy: shared pages of the object store
        total = float(view.sum())  # touch every page
        time.sleep(0.1)
    assert not guard.exceeded and total == view.size


def test_node_memory_reads_this_machine():
    used, total = node_memory()
    assert 0 < used < total
