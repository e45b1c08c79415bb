"""Searching the discrete NAS spaces with Ray Tune and raymlx's (or any) searchers.

Each decision of a space becomes a ``tune.choice``; each trial builds the architecture its
configuration describes and trains it for a few epochs, reporting ``valid_accuracy`` every
epoch, so schedulers such as ASHA can stop poor architectures early. This is the
"random search with early stopping" baseline of Li & Talwalkar (UAI 2019) when the searcher
is random, and a model-based NAS when it is TPE, a GP or evolution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from raymlx.nas.api import _storage, prepare_data
from raymlx.nas.spaces import check_space, genotype_from_choices, space_choices


def architecture_space(space: str, input_shape: tuple[int, ...],
                       options: dict | None = None) -> dict:
    """A Tune ``param_space``: one ``tune.choice`` per decision of ``space``."""
    from ray import tune

    return {name: tune.choice(cands) for name, cands in
            space_choices(space, tuple(input_shape), options).items()}


def architecture_trainable(config: dict, data: dict | None = None, space: str = "mlp",
                           input_shape: tuple = (), num_classes: int = 2,
                           options: dict | None = None, settings: dict | None = None) -> None:
    """A Tune function trainable: trains the configuration's architecture, one report per
    epoch (``valid_accuracy``, ``valid_loss``, ``epoch``). ``tune.with_parameters`` hands
    ``data`` over through the object store, once for all trials."""
    from ray import tune

    from raymlx.nas.retrain_loop import NetworkTraining, TrainSettings
    from raymlx.nas.spaces import build_network

    torch.set_num_threads(1)
    assert data is not None  # given through tune.with_parameters
    data = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in data.items()}
    genotype = genotype_from_choices(space, tuple(input_shape), num_classes, config, options)
    s = TrainSettings(**(settings or {}))
    torch.manual_seed(s.seed)
    net = build_network(genotype, data["mean"], data["std"])
    engine = NetworkTraining(net, s, (data["train_x"], data["train_y"]),
                             (data["valid_x"], data["valid_y"]))
    for _ in range(s.epochs):
        r = engine.run_epoch()
        tune.report({"valid_accuracy": r["valid_accuracy"], "valid_loss": r["valid_loss"],
                     "epoch": r["epoch"] + 1})


@dataclass
class TuneSearchResult:
    genotype: dict
    valid_accuracy: float
    results: pd.DataFrame
    seconds: float


def tune_search(train, valid, space: str = "mlp", searcher=None, scheduler=None,
                num_samples: int = 10, epochs: int = 5, batch_size: int = 96,
                max_concurrent_trials: int | None = None, seed: int = 0,
                space_options: dict | None = None, storage_path: str | None = None,
                name: str | None = None, address: str | None = None) -> TuneSearchResult:
    """Searches ``space`` as Tune trials, one briefly trained architecture per trial; returns
    the genotype with the best final ``valid_accuracy``."""
    from ray import tune

    from raymlx._internal.ray_session import ensure_ray
    from raymlx.nas.retrain_loop import TrainSettings

    data, _, n_classes = prepare_data(train, valid, batch_size, 1)
    input_shape = tuple(data["train_x"].shape[1:])
    check_space(space, input_shape)
    settings = TrainSettings.make(epochs, batch_size=batch_size, seed=seed).to_dict()
    ensure_ray(address)

    t0 = time.time()
    trainable = tune.with_parameters(architecture_trainable, data=data,
                                     space=space, input_shape=input_shape,
                                     num_classes=n_classes, options=space_options,
                                     settings=settings)
    tuner = tune.Tuner(
        trainable, param_space=architecture_space(space, input_shape, space_options),
        tune_config=tune.TuneConfig(metric="valid_accuracy", mode="max", search_alg=searcher,
                                    scheduler=scheduler, num_samples=num_samples,
                                    max_concurrent_trials=max_concurrent_trials,
                                    reuse_actors=True),
        run_config=tune.RunConfig(storage_path=_storage(storage_path),
                                  name=name or f"nas-tune-{space}-{time.strftime('%H%M%S')}",
                                  verbose=0))
    grid = tuner.fit()
    best = grid.get_best_result(metric="valid_accuracy", mode="max", scope="last")
    genotype = genotype_from_choices(space, input_shape, n_classes, dict(best.config or {}),
                                     space_options)
    frame = grid.get_dataframe(filter_metric="valid_accuracy", filter_mode="max")
    return TuneSearchResult(genotype=genotype, valid_accuracy=float((best.metrics or {})[
        "valid_accuracy"]), results=frame, seconds=time.time() - t0)
