"""The resource policy: per-family requests, concurrency, GPU and memory rules (no Ray)."""

from __future__ import annotations

import pytest

from raymlx.cluster.inventory import NodeInfo
from raymlx.cluster.policy import parse_bytes, plan_resources, plan_workers
from raymlx.errors import InputError
from raymlx.tabular.models import FAMILIES

GIB = 2**30


def node(i: int, cpus: float, gpus: float = 0, mem_gib: float = 8, alive: bool = True):
    return NodeInfo(node_id=f"{i:02d}" * 20, address=f"10.0.0.{i}", alive=alive,
                    is_head=i == 0, cpus=cpus, gpus=gpus, memory_bytes=mem_gib * GIB)


FAMS = [FAMILIES["lightgbm"], FAMILIES["xgboost"], FAMILIES["mlp"], FAMILIES["linear"]]


def test_gpu_families_ask_for_a_gpu_only_when_the_cluster_has_one():
    cpu_only = plan_resources([node(0, 4), node(1, 4)], FAMS)
    assert not cpu_only.use_gpus
    assert all("GPU" not in r for r in cpu_only.requests.values())
    mixed = plan_resources([node(0, 4), node(1, 4, gpus=1), node(2, 4, gpus=1)], FAMS)
    assert mixed.use_gpus
    assert mixed.request("xgboost") == {"CPU": 1.0, "GPU": 1.0}
    assert mixed.request("mlp") == {"CPU": 1.0, "GPU": 1.0}
    assert mixed.request("lightgbm") == {"CPU": 1.0}
    assert mixed.request("linear") == {"CPU": 1.0}
    off = plan_resources([node(0, 4, gpus=2)], FAMS, use_gpus=False)
    assert "GPU" not in off.request("xgboost")


def test_use_gpus_true_without_gpus_is_a_one_line_error():
    with pytest.raises(InputError, match="no GPUs") as err:
        plan_resources([node(0, 4)], FAMS, use_gpus=True)
    assert "\n" not in str(err.value)


def test_concurrency_is_what_the_nodes_hold_side_by_side():
    nodes = [node(0, 3), node(1, 4), node(2, 1)]
    assert plan_resources(nodes, FAMS).concurrent_trials == 8
    two = plan_resources(nodes, FAMS, cpus_per_trial=2)
    assert two.concurrent_trials == 1 + 2 + 0
    assert two.request("lightgbm") == {"CPU": 2.0}
    dead = plan_resources(nodes + [node(3, 64, alive=False)], FAMS)
    assert dead.concurrent_trials == 8


def test_cpus_per_trial_is_capped_at_the_largest_node():
    plan = plan_resources([node(0, 2), node(1, 4)], FAMS, cpus_per_trial=16)
    assert plan.cpus_per_trial == 4 and plan.concurrent_trials == 1
    assert any("largest node" in n for n in plan.notes)


def test_memory_per_trial_bounds_concurrency_and_is_requested():
    nodes = [node(0, 8, mem_gib=4), node(1, 8, mem_gib=16)]
    plan = plan_resources(nodes, FAMS, memory_per_trial=3 * GIB)
    assert plan.concurrent_trials == 1 + 5
    assert plan.request("lightgbm")["memory"] == 3 * GIB
    with pytest.raises(InputError, match="largest node"):
        plan_resources(nodes, FAMS, memory_per_trial=32 * GIB)


def test_no_live_node_is_an_error():
    with pytest.raises(InputError, match="no live nodes"):
        plan_resources([node(0, 4, alive=False)], FAMS)


@pytest.mark.parametrize("value, expected", [
    (2e9, 2e9), ("2GB", 2e9), ("1.5GiB", 1.5 * GIB), ("512MiB", 512 * 2**20), (None, None),
    ("300 mb", 3e8), ("2000000000", 2e9)])
def test_sizes_parse(value, expected):
    assert parse_bytes(value) == expected


@pytest.mark.parametrize("bad", ["lots", "-1GB", 0, -5, "GB", "-3"])
def test_bad_sizes_are_one_line_errors(bad):
    with pytest.raises(InputError, match="memory_per_trial") as err:
        parse_bytes(bad)
    assert "\n" not in str(err.value)


def test_nas_workers_take_gpus_when_there_is_one_per_worker():
    gpus = [node(0, 8, gpus=2)]
    assert plan_workers(gpus, 2, None, None) == (True, 1.0)
    assert plan_workers(gpus, 3, None, None) == (False, 2.0)
    assert plan_workers([node(0, 4)], 2, None, None) == (False, 2.0)
    with pytest.raises(InputError, match="need 3 GPUs"):
        plan_workers(gpus, 3, True, None)
    with pytest.raises(InputError, match="need 12 CPUs"):
        plan_workers([node(0, 4)], 3, False, 4)


def test_a_request_no_single_node_can_hold_is_refused():
    # many CPUs with little memory, and the reverse: 8 CPUs + 8 GiB fit on neither
    nodes = [node(0, 16, mem_gib=4), node(1, 2, mem_gib=64)]
    with pytest.raises(InputError, match="no node can hold one lightgbm trial"):
        plan_resources(nodes, FAMS, cpus_per_trial=8, memory_per_trial=8 * GIB)
    assert plan_resources(nodes, FAMS, cpus_per_trial=2,
                          memory_per_trial=8 * GIB).concurrent_trials == 1


def test_nas_workers_stay_on_cpus_without_a_cuda_torch_and_fit_one_node():
    assert plan_workers([node(0, 8, gpus=2)], 2, None, None, cuda_build=False) == (False,
                                                                                   4.0)
    assert plan_workers([node(0, 4), node(1, 4)], 1, None, None) == (False, 4.0)
