"""Running the search and the retraining on Ray Train's ``TorchTrainer``.

Ray Train starts one worker per rank and the process group (gloo on CPU, NCCL when
``use_gpu``); the loops here average gradients themselves (see ``distributed.py``). Rank 0
writes a checkpoint every epoch (model, architecture parameters, both optimisers, scheduler,
history); with ``max_failures`` > 0 Ray Train restarts a failed worker group, and every rank
resumes from that checkpoint at the next epoch. In Ray Train 2.60 (V2) only a checkpoint or
the train function's return value reaches the driver, so rank 0 returns the final genotype,
history and weights.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from raymlx.nas.distributed import Comm

STATE_FILE = "state.pt"


def _device(use_gpu: bool) -> torch.device:
    if use_gpu:
        import ray.train.torch

        return ray.train.torch.get_device()
    return torch.device("cpu")


def _tensors(data: dict) -> dict:
    """numpy arrays from the object store (read-only views) as torch tensors."""
    out = {}
    for k, v in data.items():
        arr = np.array(v, copy=True)
        out[k] = torch.from_numpy(arr)
    return out


def _restore(engine) -> None:
    import ray.train

    ckpt = ray.train.get_checkpoint()
    if ckpt is None:
        return
    with ckpt.as_directory() as d:
        engine.load_state_dict(torch.load(Path(d) / STATE_FILE, map_location=engine.device,
                                          weights_only=False))


def _report(engine, metrics: dict, rank: int) -> None:
    import ray.train

    if rank != 0:
        ray.train.report(metrics, checkpoint=None)
        return
    tmp = tempfile.mkdtemp(prefix="raymlx-nas-ckpt-")
    try:
        torch.save(engine.state_dict(), Path(tmp) / STATE_FILE)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _maybe_fail(config: dict, epoch: int, comm: Comm) -> None:
    """Test hook: the last rank dies once at ``epoch`` (a marker file records it did)."""
    fail = config.get("_fail_once_at_epoch")
    if fail is None or comm.rank != comm.world_size - 1:
        return
    at_epoch, marker = fail
    if epoch == at_epoch and not os.path.exists(marker):
        Path(marker).write_text("failed once")
        os._exit(1)


def _metrics(record: dict) -> dict:
    """What each epoch reports to Ray Train: the scalars, and for a search the architecture
    weights and the genotype they derive."""
    keep = ("probabilities", "genotype")
    return {k: v for k, v in record.items() if isinstance(v, (int, float, bool)) or k in keep}


def _setup(config: dict) -> tuple[Comm, torch.device, dict]:
    """Threads, the process group's ranks, the device and the data, on every worker."""
    import ray

    torch.set_num_threads(config["threads"])
    return Comm.from_process_group(), _device(config["use_gpu"]), _tensors(
        ray.get(config["data"]))


def _run_epochs(engine, config: dict, comm: Comm) -> None:
    """Resumes from the last checkpoint, then runs and reports the remaining epochs; tells
    the run's resource manager where this rank runs and when it is done."""
    _tell_manager(config, comm, None)
    _restore(engine)
    while engine.epoch < engine.s.epochs:
        _maybe_fail(config, engine.epoch, comm)
        record = engine.run_epoch()
        _report(engine, _metrics(record), comm.rank)
    _tell_manager(config, comm, "ok")


def _tell_manager(config: dict, comm: Comm, status: str | None) -> None:
    """One rank's "started" (``status`` None) or "finished" message to the manager; a
    rank that starts again after Ray Train restarted the group is recorded as a retry."""
    from raymlx.cluster.manager import finished_message, started_message

    manager = config.get("manager")
    if manager is None:
        return
    rank = f"rank{comm.rank}"
    if status is None:
        manager.trial_started.remote(rank, started_message(
            "nas", config.get("request", {}), "cuda" if config["use_gpu"] else "cpu",
            time.time()))
    else:
        manager.trial_finished.remote(rank, status, finished_message())


def search_worker(config: dict):
    """One rank of a supernet search (the ``train_loop_per_worker`` of ``nas.search``)."""
    from raymlx.nas.latency import measure_latency_table
    from raymlx.nas.search_loop import SearchSettings, SupernetSearch
    from raymlx.nas.spaces import build_supernet

    comm, device, data = _setup(config)
    settings = SearchSettings(**config["settings"])
    torch.manual_seed(settings.seed)
    net = build_supernet(config["space"], tuple(config["input_shape"]), config["num_classes"],
                         data["mean"], data["std"], seed=settings.seed,
                         options=config["options"]).to(device)
    table = None
    if settings.method == "proxyless" and settings.latency_weight > 0:
        sample = data["train_x"][:max(1, settings.batch_size // comm.world_size)].to(device)
        table = comm.gather_objects(measure_latency_table(net, sample))[0]  # rank 0's table
    engine = SupernetSearch(net, settings, (data["train_x"], data["train_y"]),
                            (data["valid_x"], data["valid_y"]), comm, device,
                            latency_table=table)
    _run_epochs(engine, config, comm)
    genotype = net.derive()
    rank_genotypes = comm.gather_objects(genotype)
    if comm.rank == 0:
        return {"genotype": genotype, "history": engine.history,
                "rank_genotypes": rank_genotypes, "latency_table": table,
                "alphas": {k: v.detach().cpu().tolist() for k, v in net.alphas.items()}}
    return None


def train_worker(config: dict):
    """One rank of training a derived architecture (``nas.train``)."""
    from raymlx.nas.retrain_loop import NetworkTraining, TrainSettings
    from raymlx.nas.spaces import build_network

    comm, device, data = _setup(config)
    settings = TrainSettings(**config["settings"])
    torch.manual_seed(settings.seed)
    net = build_network(config["genotype"], data["mean"], data["std"], **config["overrides"])
    engine = NetworkTraining(net, settings, (data["train_x"], data["train_y"]),
                             (data["valid_x"], data["valid_y"]), comm, device)
    _run_epochs(engine, config, comm)
    if comm.rank == 0:
        return {"history": engine.history,
                "state": {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}}
    return None


def run_on_ray_train(worker, config: dict, *, num_workers: int, use_gpu: bool,
                     storage_path: str, name: str, max_failures: int,
                     cpus_per_worker: float | None = None):
    """Runs ``worker`` on ``num_workers`` Ray Train workers; returns rank 0's return value."""
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    if cpus_per_worker is None:
        total = ray.available_resources().get("CPU", 1.0)
        cpus_per_worker = max(1.0, float(int(total // num_workers))) if not use_gpu else 1.0
    need, total = cpus_per_worker * num_workers, ray.cluster_resources().get("CPU", 0.0)
    if need > total:
        from raymlx.errors import InputError

        raise InputError(f"{num_workers} workers x {cpus_per_worker:g} CPUs need {need:g} CPUs; "
                         f"the Ray cluster has {total:g}")
    resources = {"CPU": cpus_per_worker}
    if use_gpu:
        resources["GPU"] = 1
    config = {**config, "use_gpu": use_gpu, "threads": max(1, int(cpus_per_worker))}
    trainer = TorchTrainer(
        worker, train_loop_config=config,
        scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(name=name, storage_path=storage_path,
                             failure_config=FailureConfig(max_failures=max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=2)))
    result = trainer.fit()
    return result.return_value, result.path  # type: ignore[attr-defined]
