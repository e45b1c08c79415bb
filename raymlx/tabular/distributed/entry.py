"""Where ``AutoML.fit`` sends a table: the in-memory path or the large-data path.

A DataFrame or a single file is read as before, and its size decides; a folder, glob,
list of files or ``ray.data.Dataset`` is first sized from what costs nothing (Parquet
footers' row counts, CSV files' bytes) and, when that says it might not fit, by the
streaming pass of :func:`~raymlx.tabular.streaming_prep.prepare_dataset`, whose exact
rows and feature count then decide (:func:`~.path_choice.choose_data_path`). The
large-data fit's time limit starts before that pass: preparing a large table is part of
the fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from raymlx.tabular.data import check_frame, load_table
from raymlx.tabular.distributed.path_choice import (
    PathChoice,
    choose_data_path,
    prepared_bytes,
    smallest_object_store,
)
from raymlx.tabular.sources import expand_paths, is_dataset, is_many

if TYPE_CHECKING:
    from raymlx.tabular.settings import FitSettings
    from raymlx.tabular.streaming_prep import StreamedTable

QUICK_BYTES = 16e6  # a table this small takes the in-memory path without asking Ray


@dataclass
class Routed:
    """The path chosen for a training table, with what that path starts from."""

    choice: PathChoice
    table: pd.DataFrame | None = None  # the in-memory path's table, when already read
    dataset: Any = None  # the large-data path's ray.data.Dataset
    streamed: StreamedTable | None = None
    t_start: float = 0.0  # when the large-data fit's time limit starts
    t_wall: float = 0.0


def _cheap_size(train: Any) -> tuple[int, int] | None:
    """(rows, columns) of files from their footers, or (bytes / 4, 1) for CSV; None for
    a Dataset."""
    if is_dataset(train):
        return None
    import pyarrow.parquet as pq

    files = expand_paths(train, "training table")
    if all(f.lower().endswith((".parquet", ".pq")) and "://" not in f for f in files):
        metas = [pq.ParquetFile(f).metadata for f in files]
        return sum(m.num_rows for m in metas), max(metas[0].num_columns - 1, 1)
    if all("://" not in f for f in files):
        import os

        return int(sum(os.path.getsize(f) for f in files) // 4), 1
    return None


def route(settings: FitSettings, train: Any) -> Routed:
    """Decides the path for ``train`` under ``settings.data_path``."""
    from raymlx._internal.ray_session import ensure_ray

    t_wall = time.time()
    mode, limit = settings.data_path, settings.max_in_memory_bytes
    if not is_many(train):
        table = load_table(train, "training table")
        rows, width = len(table), max(len(table.columns) - 1, 1)
        store = None
        if mode == "auto" and prepared_bytes(rows, width) >= QUICK_BYTES:
            ensure_ray(settings.address)
            store = smallest_object_store()
        choice = choose_data_path(mode, rows, width, limit, store)
        if choice.path == "memory":
            return Routed(choice, table=table)
        check_frame(table, "training table")  # Ray Data fails on duplicate names itself
        ensure_ray(settings.address)
        import ray.data

        dataset: Any = ray.data.from_pandas(table)
    else:
        size = _cheap_size(train) if mode == "auto" else None
        if size is not None and prepared_bytes(*size) < QUICK_BYTES and (
                limit is None or prepared_bytes(*size) < limit):
            return Routed(choose_data_path(mode, size[0], size[1], limit, None))
        ensure_ray(settings.address)
        from raymlx.tabular.sources import open_dataset

        dataset = open_dataset(train, "training table")
    from raymlx.tabular.streaming_prep import prepare_dataset

    t_start = time.time()
    streamed = prepare_dataset(dataset, settings.label, settings.problem_type,
                               holdout_seed=settings.seed)
    choice = choose_data_path(mode, streamed.rows, len(streamed.preprocessor.feature_names_),
                              limit, smallest_object_store())
    if choice.path == "memory":
        return Routed(choice)
    return Routed(choice, dataset=dataset, streamed=streamed, t_start=t_start, t_wall=t_wall)


def fit_large(aml: Any, settings: FitSettings, routed: Routed) -> Any:
    """Prepares the table in the fit folder and runs the large-data fit for ``aml``."""
    from raymlx import __version__
    from raymlx.tabular.distributed.prepare import prepare_large
    from raymlx.tabular.engine.ledger import fit_folder, save_fit_state

    folder = fit_folder(settings.path, routed.t_wall)  # made here, new
    aml.experiment_path_ = str(folder)
    assert routed.streamed is not None
    inputs = prepare_large(routed.dataset, routed.streamed, settings, folder, routed.choice)
    save_fit_state(folder, {"version": __version__, "params": aml.get_params(),
                            "inputs": inputs, "started": routed.t_start})
    return aml._run(settings, inputs, folder, routed.t_start, settings.time_limit, {},
                    routed.t_wall)


def run_on_its_path(settings: FitSettings, inputs: Any, folder: Any, t_start: float,
                    time_limit: float | None, ledger: dict[str, list], t_wall: float) -> Any:
    """Runs (or, with a ledger, resumes) the fit of prepared ``inputs`` on the path they
    were prepared for. A disk that fills up under the fit folder (Tune's checkpoints and
    result files) ends the fit with a one-line ``DiskFullError``; the trials finished
    before stay in the ledger for ``AutoML.resume``."""
    from raymlx._internal.disk_writes import space_checked
    from raymlx.errors import DiskFullError
    from raymlx.tabular.distributed.prepare import LargeInputs

    resume = f"AutoML.resume({str(folder)!r})"
    try:
        with space_checked(folder, "the fit's checkpoints and results",
                           f"the trials finished before are in its ledger for {resume}"):
            if isinstance(inputs, LargeInputs):  # the large path's modules only when it runs
                from raymlx.tabular.distributed.fit import run_large_fit

                return run_large_fit(settings, inputs, folder, t_start, time_limit, ledger,
                                     t_wall)
            from raymlx.tabular.engine.fit import run_fit

            return run_fit(settings, inputs, folder, t_start, time_limit, ledger, t_wall)
    except DiskFullError as err:  # the ledger's own: add how to go on
        if resume in str(err):
            raise
        raise DiskFullError(f"{err} with {resume}") from None
