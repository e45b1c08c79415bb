"""The large-data path's inputs: the table prepared once and written as Parquet in the fit
folder, split into training files and holdout files.

After the streaming pass of :func:`~raymlx.tabular.streaming_prep.prepare_dataset` (which
also gathers what the stratified split needs), one more pass over the blocks drops the
unlabelled rows, applies the fitted preprocessing, encodes the label, marks the held-out
rows (:mod:`.holdout`) and writes ``prepared/__split__=train/`` and
``prepared/__split__=holdout/`` in files of about :func:`rows_per_file` rows. Nothing of
the table reaches the driver; the trials read these files directly
(:mod:`.shards`), and a resumed fit reads them again.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError
from raymlx.tabular.distributed.boosting import LARGE_METRICS, SIGNALS
from raymlx.tabular.distributed.holdout import (
    class_thresholds,
    holdout_fraction,
    holdout_mask,
    row_uniforms,
)
from raymlx.tabular.distributed.path_choice import PathChoice
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.preprocess import TablePreprocessor
from raymlx.tabular.problem import Problem, label_values

if TYPE_CHECKING:
    import ray.data

    from raymlx.tabular.settings import FitSettings
    from raymlx.tabular.streaming_prep import StreamedTable

LABEL = "__label__"
SPLIT = "__split__"


@dataclass(frozen=True)
class LargeInputs:
    """The prepared table of one large-data fit."""

    problem: Problem
    preprocessor: TablePreprocessor
    choice: PathChoice
    rows: int  # labelled rows
    fraction: float  # the share held out
    train_files: tuple[str, ...]
    holdout_files: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.preprocessor.feature_names_)


def rows_per_file(rows: int) -> int:
    """About 32 files for the table (so 2 to 16 workers get even shares), each between
    10 thousand and a million rows."""
    return int(min(1_000_000, max(10_000, rows // 32)))


def _prepared_block(batch: pd.DataFrame, label: str, seed: int, pre: TablePreprocessor,
                    problem: Problem, as_text: bool, thresholds: dict | None,
                    fraction: float) -> dict[str, Any]:
    u = row_uniforms(batch, seed)  # on the block as read, as the summary pass did
    keep = batch[label].notna().to_numpy()
    batch, u = batch.loc[keep], u[keep]
    y = batch[label]
    held = holdout_mask(y, u, thresholds, fraction)
    if as_text:
        y = pd.Series([str(v) for v in label_values(y)], index=y.index)
    X = pre.transform(batch.drop(columns=[label]))
    out: dict[str, Any] = {name: X[:, j] for j, name in enumerate(pre.feature_names_)}
    out[LABEL] = problem.encode(y).astype(np.float64)
    out[SPLIT] = np.where(held, "holdout", "train")
    return out


def check_large_metric(metric_name: str | None, problem_type: str) -> str:
    """The fit metric, if the boosters can follow it round by round; a one-line error
    otherwise."""
    metric = get_metric(metric_name, problem_type)
    if (metric.name, problem_type) not in SIGNALS:
        raise InputError(f"metric {metric.name!r} is not available on the large-data path "
                         f"for {problem_type} problems; use one of "
                         f"{[m for m, t in SIGNALS if t == problem_type]} "
                         f"(all: {LARGE_METRICS}) or data_path='memory'")
    return metric.name


def prepare_large(ds: ray.data.Dataset, streamed: StreamedTable, settings: FitSettings,
                  folder: Path, choice: PathChoice) -> LargeInputs:
    """Writes the prepared, split table under ``folder / "prepared"``."""
    ptype = streamed.problem_type
    metric = check_large_metric(settings.metric, ptype)
    pre = streamed.preprocessor
    problem = Problem(ptype, tuple(streamed.classes), len(pre.feature_names_),
                      pre.categorical_, label=settings.label, metric=metric)
    facts = streamed.label
    rows = facts.rows - facts.missing
    fraction = holdout_fraction(rows)
    thresholds = (class_thresholds(facts.counts, streamed.smallest or {}, fraction)
                  if problem.is_classification else None)
    out = folder / "prepared"
    fn = partial(_prepared_block, label=settings.label, seed=settings.seed, pre=pre,
                 problem=problem, as_text=streamed.labels_as_text, thresholds=thresholds,
                 fraction=fraction)
    ds.map_batches(fn, batch_format="pandas", batch_size=None).write_parquet(
        str(out), partition_cols=[SPLIT], max_rows_per_file=rows_per_file(rows))

    def files(part: str) -> tuple[str, ...]:
        return tuple(sorted(glob.glob(os.path.join(out, f"{SPLIT}={part}", "*.parquet"))))

    train, hold = files("train"), files("holdout")
    if not train or not hold:
        # the table's size, not the fit, is at fault: an input error, with the way out
        raise InputError(f"the prepared table has {len(train)} training and {len(hold)} "
                       f"holdout files under {out}; too few labelled rows ({rows}) for the "
                       "large-data path, use data_path='memory'")
    return LargeInputs(problem, pre, choice, rows, fraction, train, hold)


def read_labels(files: tuple[str, ...], problem: Problem) -> np.ndarray:
    """The encoded labels of ``files``, in file order (only the label column is read)."""
    import pyarrow.parquet as pq

    y = np.concatenate([pq.read_table(f, columns=[LABEL]).column(LABEL).to_numpy()
                        for f in files])
    return y.astype(np.int64) if problem.is_classification else y
