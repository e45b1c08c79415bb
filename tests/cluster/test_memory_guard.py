"""The per-trial memory guard stops the code it watches once RSS passes the limit."""

from __future__ import annotations

import numpy as np
import pytest

from raymlx.cluster.memory_guard import (
    MemoryGuard,
    MemoryLimitExceeded,
    node_memory,
    process_rss,
)


def test_growing_past_the_limit_raises_in_the_watched_thread():
    limit = process_rss() + 200 * 2**20
    blocks = []
    with pytest.raises(MemoryLimitExceeded):
        with MemoryGuard(limit, interval=0.02) as guard:
            for _ in range(400):  # up to 4 GB in 10 MB steps: stopped near 200 MB more
                blocks.append(np.ones(10 * 2**20 // 8))
    assert guard.exceeded and "memory limit exceeded" in guard.message
    assert limit < guard.peak < limit + 600 * 2**20
    assert len(blocks) < 100


def test_staying_under_the_limit_is_left_alone():
    with MemoryGuard(process_rss() + 500 * 2**20, interval=0.02) as guard:
        data = [np.ones(2**20) for _ in range(5)]
    assert not guard.exceeded and guard.peak >= process_rss() - 2**20 and len(data) == 5
    with MemoryGuard(None) as off:
        pass
    assert not off.exceeded


def test_node_memory_reads_this_machine():
    used, total = node_memory()
    assert 0 < used < total
