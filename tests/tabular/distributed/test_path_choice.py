"""Which path a fit takes (raymlx.tabular.distributed.path_choice), and the worker plan of
a data-parallel trial (raymlx.cluster.policy.plan_data_parallel)."""

from __future__ import annotations

import pytest

from raymlx.cluster.inventory import NodeInfo
from raymlx.cluster.policy import plan_data_parallel
from raymlx.errors import InputError
from raymlx.tabular.distributed.path_choice import choose_data_path, prepared_bytes

GB = 1e9


def test_prepared_bytes_count_float32_features_and_the_label():
    assert prepared_bytes(1000, 9) == 1000 * 10 * 4


def test_a_table_under_a_quarter_of_the_smallest_store_stays_in_memory():
    choice = choose_data_path("auto", 1_000_000, 49, None, 2 * GB)  # 200 MB < 500 MB
    assert choice.path == "memory"
    assert "200 MB prepared" in choice.reason and "under 500 MB" in choice.reason


def test_a_table_over_a_quarter_of_the_smallest_store_goes_distributed():
    choice = choose_data_path("auto", 16_000_000, 49, None, 2 * GB)  # 3.2 GB
    assert choice.path == "distributed"
    assert "0.25 of the smallest object store (2 GB)" in choice.reason


def test_max_in_memory_bytes_sends_a_smaller_table_to_the_large_path():
    assert choose_data_path("auto", 100_000, 9, 4e6, 2 * GB).path == "distributed"
    assert choose_data_path("auto", 10_000, 9, 4e6, 2 * GB).path == "memory"
    assert "max_in_memory_bytes" in choose_data_path("auto", 100_000, 9, 4e6, None).reason


@pytest.mark.parametrize("mode", ["memory", "distributed"])
def test_the_path_can_be_forced(mode):
    for rows in (10, 10**9):
        choice = choose_data_path(mode, rows, 5, 1.0, 1.0)
        assert choice.path == mode and f"data_path={mode!r}" in choice.reason


def _node(i: int, cpus: float, gpus: float = 0) -> NodeInfo:
    return NodeInfo(f"node{i}", "127.0.0.1", True, i == 0, cpus, gpus, 8 * GB,
                    free_cpus=cpus, free_gpus=gpus)


def test_one_worker_per_node_by_default_and_trials_from_the_free_slots():
    plan = plan_data_parallel([_node(0, 4), _node(1, 4), _node(2, 2)], None, 1)
    assert plan.num_workers == 3 and plan.concurrent_trials == 3  # 10 slots // 3
    assert plan.use_gpu is False and "one per node" in plan.notes[0]


def test_workers_with_more_cpus_use_fewer_slots():
    plan = plan_data_parallel([_node(0, 4), _node(1, 4)], 2, 2)
    assert (plan.num_workers, plan.cpus_per_worker, plan.concurrent_trials) == (2, 2.0, 2)


def test_more_workers_than_the_cluster_holds_is_a_one_line_error():
    with pytest.raises(InputError, match=r"workers_per_trial=5 needs 5 x 1 CPUs; the Ray "
                                         r"cluster has room for 4 workers"):
        plan_data_parallel([_node(0, 2), _node(1, 2)], 5, 1)


def test_gpus_are_used_when_every_worker_gets_one():
    assert plan_data_parallel([_node(0, 2, 1), _node(1, 2, 1)], 2, 1).use_gpu
    assert not plan_data_parallel([_node(0, 2, 1), _node(1, 2)], 2, 1).use_gpu
    with pytest.raises(InputError, match="needs 2 GPUs; the Ray cluster has 1"):
        plan_data_parallel([_node(0, 2, 1), _node(1, 2)], 2, 1, use_gpus=True)


def test_a_workers_memory_is_the_tightest_nodes_share():
    plan = plan_data_parallel([_node(0, 4), _node(1, 2)], 2, 1)  # 8 GB each node
    assert plan.memory_per_worker == 8 * GB / 4  # four workers fill node 0
    from raymlx.cluster.report import data_parallel_line

    assert data_parallel_line(plan.to_dict()) == (
        "large-data path: 2 workers x 1 CPU per trial, 3 trial(s) at once, "
        f"{8 * GB / 4 / 2**30:.2f} GiB memory per worker")
