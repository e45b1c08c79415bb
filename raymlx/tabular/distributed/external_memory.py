"""XGBoost's external-memory training matrix for a worker whose shard exceeds its memory.

XGBoost (3.x) builds an ``ExtMemQuantileDMatrix`` from a ``DataIter`` that hands it the
data one batch at a time: it sketches the quantiles over all batches, then writes the
quantised pages to a cache on disk (``cache_prefix``) and streams them during training,
so a worker holds one batch of floats and the pages it is working on, not its shard. Here
a batch is one prepared Parquet file (about 1/32 of the table, :mod:`.prepare`). The
iterator is ours because XGBoost asks for one (it reads no Parquet itself).

The rule (:func:`needs_external_memory`): a worker goes external when its shard, as the
float32 matrix it would read, is over half of the memory the plan gives one worker (its
node's Ray ``memory`` divided by the workers that node can hold,
:class:`~raymlx.cluster.policy.DataParallelPlan`): the in-memory route holds that matrix
and its quantised copy at once, besides the holdout. LightGBM has no external-memory
mode; docs/guides/large-data.md says where its limit lies.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import xgboost as xgb

from raymlx.tabular.distributed.shards import read_matrix

SHARD_SHARE = 0.5  # of a worker's memory, above which its shard trains from disk


def needs_external_memory(shard_bytes: float, memory_per_worker: float) -> bool:
    """Whether a worker with a float32 shard of ``shard_bytes`` trains from disk."""
    return memory_per_worker > 0 and shard_bytes > SHARD_SHARE * memory_per_worker


class FileBatches(xgb.DataIter):
    """The training files of one worker, one file per batch, in order."""

    def __init__(self, files: Sequence[str], columns: Sequence[str], label: str,
                 feature_types: list[str], cache_prefix: str) -> None:
        self.files, self.columns, self.label = list(files), list(columns), label
        self.feature_types = feature_types
        self.rows = 0  # counted on the first whole pass over the files
        self._next = 0
        self._counted = False
        super().__init__(cache_prefix=cache_prefix)

    def next(self, input_data) -> bool:  # noqa: ANN001 - XGBoost's callback
        if self._next == len(self.files):
            self._counted = True
            return False
        X, y = read_matrix([self.files[self._next]], self.columns, self.label)
        if not self._counted:
            self.rows += len(y)
        input_data(data=X, label=y, feature_types=self.feature_types)
        self._next += 1
        return True

    def reset(self) -> None:
        if self._next:  # a pass cut short is counted again from the start
            self.rows = self.rows if self._counted else 0
        self._next = 0


def training_matrix(files: Sequence[str], columns: Sequence[str], label: str,
                    feature_types: list[str], external: bool,
                    cache_dir: str) -> tuple[xgb.DMatrix, int]:
    """The worker's training matrix and its row count: a ``QuantileDMatrix`` of the whole
    shard, or with ``external`` an ``ExtMemQuantileDMatrix`` cached under ``cache_dir``."""
    if not external:
        X, y = read_matrix(list(files), list(columns), label)
        # quantised once (a byte or two per value), so the float matrix can go
        return xgb.QuantileDMatrix(X, y, feature_types=feature_types,
                                   enable_categorical=True), len(y)
    os.makedirs(cache_dir, exist_ok=True)
    batches = FileBatches(files, columns, label, feature_types,
                          os.path.join(cache_dir, "pages"))
    matrix = xgb.ExtMemQuantileDMatrix(batches, enable_categorical=True)
    return matrix, batches.rows
