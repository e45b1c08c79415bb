"""``nas.search`` and ``nas.train``: the user-facing entry points of neural architecture search.

``search`` trains a DARTS or ProxylessNAS supernet on ``num_workers`` Ray Train workers and
derives a genotype; ``train`` trains that genotype from scratch the same way. Inputs are
checked on the driver, before Ray starts, with one-line ``InputError``s.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from raymlx.errors import InputError
from raymlx.nas.retrain_loop import TrainSettings
from raymlx.nas.search_loop import SearchSettings
from raymlx.nas.spaces import build_network, check_space, space_size, validate_genotype
from raymlx.nas.standardize import input_statistics


@dataclass
class SearchResult:
    genotype: dict
    history: list[dict]
    settings: dict
    rank_genotypes: list[dict] = field(default_factory=list)
    alphas: dict = field(default_factory=dict)
    classes: list = field(default_factory=list)
    path: str | None = None
    seconds: float = 0.0
    latency_table: dict | None = None
    cluster_report: dict = field(default_factory=dict)  # the resource manager's summary

    def save(self, folder: str | os.PathLike) -> Path:
        """Writes ``genotype.json`` and ``search.json`` (history, settings) to ``folder``."""
        out = Path(folder).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "genotype.json", self.genotype)
        _write_json(out / "search.json", {
            "settings": self.settings, "history": self.history, "classes": self.classes,
            "rank_genotypes": self.rank_genotypes, "alphas": self.alphas,
            "seconds": self.seconds, "ray_train_path": self.path,
            "latency_table": self.latency_table})
        return out

    def plot(self, path: str | os.PathLike) -> Path:
        from raymlx.nas.plots import plot_architecture_weights

        return plot_architecture_weights(self.history, path)


@dataclass
class TrainResult:
    model: nn.Module
    valid_accuracy: float
    history: list[dict]
    genotype: dict
    settings: dict
    classes: list = field(default_factory=list)
    path: str | None = None
    seconds: float = 0.0
    cluster_report: dict = field(default_factory=dict)  # the resource manager's summary

    def predict(self, X) -> np.ndarray:
        """Class labels for images (NCHW) or table rows, in the labels given to ``train``."""
        X = torch.as_tensor(_features(X, "X"))
        with torch.no_grad():
            self.model.eval()
            idx = torch.cat([self.model(chunk).argmax(1) for chunk in X.split(1024)]).numpy()
        return np.asarray(self.classes)[idx] if self.classes else idx

    def save(self, folder: str | os.PathLike) -> Path:
        out = Path(folder).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / "model.pt.tmp"
        torch.save(self.model.state_dict(), tmp)
        os.replace(tmp, out / "model.pt")
        _write_json(out / "genotype.json", self.genotype)
        _write_json(out / "train.json", {"settings": self.settings, "history": self.history,
                                         "valid_accuracy": self.valid_accuracy,
                                         "classes": self.classes, "seconds": self.seconds})
        return out


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=_json_default))
    os.replace(tmp, path)


def _json_default(o):
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, (np.ndarray, torch.Tensor)):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _features(X, name: str) -> np.ndarray:
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a numeric array or tensor") from None
    if X.ndim not in (2, 4):
        raise InputError(f"{name} must be 2-D (rows x features) or 4-D images (NCHW); "
                         f"got shape {X.shape}")
    if not np.isfinite(X).all():
        raise InputError(f"{name} holds NaN or infinite values; impute them first")
    return X


def _split(pair, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise InputError(f"{name} must be a pair (X, y)")
    X = _features(pair[0], f"{name}[0]")
    y = pair[1].detach().cpu().numpy() if isinstance(pair[1], torch.Tensor) else pair[1]
    y = np.asarray(y).reshape(-1)
    if len(y) != len(X):
        raise InputError(f"{name} has {len(X)} rows of X but {len(y)} labels")
    if len(y) == 0:
        raise InputError(f"{name} is empty")
    return X, y


def prepare_data(train, valid, batch_size: int, num_workers: int) -> tuple[dict, list, int]:
    """Checked float32 features, labels as class indices, and the input statistics."""
    Xt, yt = _split(train, "train")
    Xv, yv = _split(valid, "valid")
    if Xt.shape[1:] != Xv.shape[1:]:
        raise InputError(f"train and valid differ in shape: {Xt.shape[1:]} vs {Xv.shape[1:]}")
    classes = np.unique(yt)
    if len(classes) < 2:
        raise InputError("train needs at least two classes")
    unseen = np.setdiff1d(np.unique(yv), classes)
    if len(unseen):
        raise InputError(f"valid has labels not in train: {unseen[:5].tolist()}")
    if batch_size < num_workers or batch_size % num_workers:
        raise InputError(f"batch_size {batch_size} must be a multiple of num_workers "
                         f"{num_workers}, so every worker takes an equal share of a batch")
    mean, std = input_statistics(Xt)
    data = {"train_x": Xt, "train_y": np.searchsorted(classes, yt).astype(np.int64),
            "valid_x": Xv, "valid_y": np.searchsorted(classes, yv).astype(np.int64),
            "mean": mean.numpy(), "std": std.numpy()}
    return data, classes.tolist(), len(classes)


def _check_workers(num_workers: int, use_gpu: bool | None, max_failures: int) -> None:
    if not isinstance(num_workers, int) or num_workers < 1:
        raise InputError(f"num_workers must be an integer >= 1, got {num_workers!r}")
    if max_failures < 0:
        raise InputError(f"max_failures must be >= 0, got {max_failures!r}")
    if use_gpu not in (None, True, False):
        raise InputError(f"use_gpu={use_gpu!r} is invalid; give None (GPUs when the cluster "
                         "has one per worker), True or False")


def _stamp() -> str:
    """A run name suffix; Ray Train resumes a run whose (storage, name) already exists."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _storage(storage_path: str | None) -> str:
    return str(Path(storage_path or "raymlx_runs/nas").expanduser().resolve())


def _launch(worker, data: dict, config: dict, *, address: str | None, name: str,
            num_workers: int, use_gpu: bool | None, storage_path: str | None,
            max_failures: int,
            cpus_per_worker: float | None):
    """Connects to Ray, puts the data in the object store once and runs ``worker`` on Ray
    Train; returns rank 0's return value, the run's folder and the resource manager's
    summary (each rank reports where it runs, so ``raymlx cluster status`` shows the run)."""
    import ray

    from raymlx._internal.ray_session import ensure_ray
    from raymlx.cluster.inventory import read_nodes
    from raymlx.cluster.manager import final_summary, start_manager
    from raymlx.cluster.policy import ResourcePlan, plan_workers
    from raymlx.nas.ray_runner import run_on_ray_train

    ensure_ray(address)
    # the resource policy AutoML uses: GPUs when there is one per worker, else free CPUs
    use_gpu, cpus_per_worker = plan_workers(read_nodes(), num_workers, use_gpu,
                                            cpus_per_worker, torch.version.cuda is not None)
    request = {"CPU": cpus_per_worker, **({"GPU": 1.0} if use_gpu else {})}
    plan = ResourcePlan(requests={"nas-worker": request}, concurrent_trials=num_workers,
                        cpus_per_trial=cpus_per_worker, use_gpus=use_gpu)
    manager = start_manager(name, plan.to_dict(), float("inf"))
    try:
        out, path = run_on_ray_train(
            worker, {**config, "data": ray.put(data), "manager": manager,
                     "request": request},
            num_workers=num_workers, use_gpu=use_gpu, storage_path=_storage(storage_path),
            name=name, max_failures=max_failures, cpus_per_worker=cpus_per_worker)
        return out, path, final_summary(manager, 2.0)
    finally:
        ray.kill(manager)


def search(train, valid, space: str = "darts-cnn", method: str = "darts", order: int = 1,
           epochs: int = 50, batch_size: int = 64, num_workers: int = 1,
           use_gpu: bool | None = None, seed: int = 0, space_options: dict | None = None,
           storage_path: str | None = None, name: str | None = None, max_failures: int = 0,
           address: str | None = None, cpus_per_worker: float | None = None,
           **settings) -> SearchResult:
    """Searches ``space`` with DARTS or ProxylessNAS; returns the derived genotype.

    ``train`` trains the supernet's weights and ``valid`` its architecture parameters
    (DARTS splits its training set in half for this). Each worker takes ``cpus_per_worker``
    CPUs (default: the free CPUs shared out) and as many torch threads. Extra keywords
    override the method's optimiser settings (see ``SearchSettings``), e.g. ``arch_lr`` or
    ``latency_weight``.
    """
    from raymlx.nas.ray_runner import search_worker

    extra = settings.pop("_config", {})  # test hooks for the workers
    s = SearchSettings.for_method(method, epochs, order=order, batch_size=batch_size,
                                  seed=seed, **settings)
    _check_workers(num_workers, use_gpu, max_failures)
    data, classes, n_classes = prepare_data(train, valid, batch_size, num_workers)
    input_shape = tuple(data["train_x"].shape[1:])
    check_space(space, input_shape)
    space_size(space, input_shape, space_options)
    t0 = time.time()
    config = {"space": space, "input_shape": list(input_shape), "num_classes": n_classes,
              "options": space_options or {}, "settings": s.to_dict(), **extra}
    out, path, report = _launch(search_worker, data, config, address=address,
                        name=name or f"nas-search-{space}-{method}-{_stamp()}",
                        num_workers=num_workers, use_gpu=use_gpu, storage_path=storage_path,
                        max_failures=max_failures, cpus_per_worker=cpus_per_worker)
    return SearchResult(genotype=out["genotype"], history=out["history"],
                        settings=s.to_dict(), rank_genotypes=out["rank_genotypes"],
                        alphas=out["alphas"], classes=classes, path=path,
                        seconds=time.time() - t0, latency_table=out["latency_table"],
                        cluster_report=report)


def train(genotype: dict, train, valid, epochs: int = 30, batch_size: int = 96,
          num_workers: int = 1, use_gpu: bool | None = None, seed: int = 0,
          network_options: dict | None = None, storage_path: str | None = None,
          name: str | None = None, max_failures: int = 0, address: str | None = None,
          cpus_per_worker: float | None = None, **settings) -> TrainResult:
    """Trains the network of ``genotype`` from scratch on Ray Train; returns the model (on the
    CPU, in eval mode), its final accuracy on ``valid`` and the per-epoch history.

    ``network_options`` resizes a DARTS network (``layers``, ``channels``, ``drop_path``);
    extra keywords override the recipe (see ``TrainSettings``)."""
    from raymlx.nas.ray_runner import train_worker

    extra = settings.pop("_config", {})  # test hooks for the workers
    validate_genotype(genotype)
    s = TrainSettings.make(epochs, batch_size=batch_size, seed=seed, **settings)
    _check_workers(num_workers, use_gpu, max_failures)
    data, classes, n_classes = prepare_data(train, valid, batch_size, num_workers)
    if list(data["train_x"].shape[1:]) != list(genotype["input_shape"]):
        raise InputError(f"the genotype was searched on inputs of shape "
                         f"{list(genotype['input_shape'])}; train has "
                         f"{list(data['train_x'].shape[1:])}")
    if n_classes > int(genotype["num_classes"]):
        raise InputError(f"train has {n_classes} classes; the genotype's network predicts "
                         f"{genotype['num_classes']}")
    overrides = dict(network_options or {})
    mean, std = torch.from_numpy(data["mean"]), torch.from_numpy(data["std"])
    model = build_network(genotype, mean, std, **overrides)  # fails here, not on a worker
    t0 = time.time()
    config = {"genotype": genotype, "overrides": overrides, "settings": s.to_dict(), **extra}
    out, path, report = _launch(train_worker, data, config, address=address,
                        name=name or f"nas-train-{genotype['space']}-{_stamp()}",
                        num_workers=num_workers, use_gpu=use_gpu, storage_path=storage_path,
                        max_failures=max_failures, cpus_per_worker=cpus_per_worker)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in out["state"].items()})
    model.eval()
    return TrainResult(model=model, valid_accuracy=out["history"][-1]["valid_accuracy"],
                       history=out["history"], genotype=genotype, settings=s.to_dict(),
                       classes=classes, path=path, seconds=time.time() - t0,
                       cluster_report=report)
