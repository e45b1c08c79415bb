"""Scoring a ``ray.data.Dataset`` on the cluster: ``AutoML.predict(dataset)`` and
``raymlx predict PREDICTOR 'data/*.parquet' --output out/``.

The predictor goes into the object store once. ``map_batches`` runs a pool of actors
(a Ray Data ``ActorPoolStrategy`` of one-CPU actors, from one up to the cluster's CPUs); each actor
takes the predictor out of the store once, in its constructor, and then scores batch
after batch as pandas frames, through the same preprocessing and models as the in-memory
``predict``, so the same rows get the same predictions. The result is lazy: nothing runs
until it is consumed or written.

Rows keep their order within each block; across blocks Ray Data keeps the order only when
``DataContext.execution_options.preserve_order`` is set, so ``keep_columns`` carries the
columns (an id, say) that tie a prediction to its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from raymlx.errors import InputError

if TYPE_CHECKING:
    import ray.data

    from raymlx.tabular.automl import AutoML

BATCH_ROWS = 4096
PREDICTION = "prediction"


class _Scorer:
    """One actor of the pool: the predictor, taken out of the object store once."""

    def __init__(self, predictor: list, model: str | None, proba: bool | None,
                 keep: list[str]) -> None:
        import ray

        self.aml: AutoML = ray.get(predictor[0])  # a list, so Ray passes the ref unresolved
        self.model, self.proba, self.keep = model, proba, keep

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        labels, proba = self.aml._predict_frame(batch, self.model, "prediction data")
        out = batch[self.keep].reset_index(drop=True)
        if self.proba is not True:
            out[PREDICTION] = labels
        if proba is not None and self.proba is not False:
            for j, c in enumerate(self.aml.problem_.classes):
                out[str(c)] = proba[:, j]
        return out


def score_dataset(aml: AutoML, ds: ray.data.Dataset, model: str | None = None,
                  proba: bool | None = False,
                  keep_columns: Sequence[str] | None = None) -> ray.data.Dataset:
    """The lazy Dataset of predictions for ``ds``: a ``prediction`` column (``proba`` False),
    one probability column per class named by the class (``proba`` True, classification),
    or both (``proba`` None), after the ``keep_columns`` copied from ``ds``."""
    import ray
    import ray.data

    from raymlx._internal.ray_session import ensure_ray

    keep = list(keep_columns or [])
    names = ds.schema().names
    # before anything runs: a column that is not there would fail every batch, lazily
    missing = [c.name for c in aml.preprocessor_.columns_ if c.name not in names]
    if missing:
        raise InputError("the prediction data lacks columns the model was trained on: "
                         f"{missing}")
    absent = [c for c in keep if c not in names]
    if absent:
        raise InputError(f"keep_columns names {absent[0]!r}, which the prediction data "
                         "does not have")
    clash = {PREDICTION, *map(str, aml.problem_.classes)} & set(keep)
    if clash:
        raise InputError(f"keep_columns names {sorted(clash)[0]!r}, which is also an output "
                         "column; rename it first")
    ensure_ray(None)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    ref = ray.put(aml)
    scored = ds.map_batches(
        _Scorer, fn_constructor_kwargs={"predictor": [ref], "model": model, "proba": proba,
                                        "keep": keep},
        batch_format="pandas", batch_size=BATCH_ROWS, num_cpus=1,
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=cpus))
    # this dataset's own context: a bad batch raises the InputError itself (Ray's task
    # error subclasses it), not Ray Data's UserCodeException, which loses it
    scored.context.raise_original_map_exception = True
    return scored


def write_predictions(aml: AutoML, data: Any, output: str, model: str | None = None,
                      keep_columns: Sequence[str] | None = None) -> tuple[int, int] | None:
    """Scores ``data`` (a Dataset, folder, glob, list of paths or file) on the cluster and
    writes Parquet shards into the new or empty folder ``output`` (a folder that holds
    files is refused, so nothing saved there is lost); returns (rows, files) written, None
    for a remote folder (not listed here). Ray Data shows its progress bar while it runs."""
    import pyarrow.parquet as pq

    from raymlx.tabular.sources import first_line, open_dataset

    remote = "://" in output
    folder = Path(output).expanduser()
    if not remote and folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"the output {output!r} is not empty (or not a folder); give a new "
                         "folder for the Parquet shards")
    ds = open_dataset(data, "prediction data")
    both = None if aml.problem_.is_classification else False
    try:
        score_dataset(aml, ds, model, proba=both, keep_columns=keep_columns).write_parquet(
            output if remote else str(folder))
    except InputError as exc:  # from a scoring actor: Ray's task error, whose cause it is
        raise InputError(first_line(getattr(exc, "cause", exc))) from None
    if remote:
        return None
    shards = sorted(folder.rglob("*.parquet"))
    return sum(pq.read_metadata(p).num_rows for p in shards), len(shards)

