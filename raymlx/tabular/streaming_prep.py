"""Learning a table's preprocessing and problem from a ``ray.data.Dataset`` without
loading it.

One streaming pass: each block is summarised where it is read (its feature columns by
:func:`~raymlx.tabular.column_summary.summarise_frame`, its label by
:class:`~raymlx.tabular.label.LabelFacts`, inside ``map_batches``), and only
the summaries, one small row per block and in block order, come to the driver, which merges
them and plans the columns with the same rules as the in-memory fit
(:meth:`~raymlx.tabular.preprocess.TablePreprocessor.fit_summaries`,
:func:`~raymlx.tabular.label.decide_problem`). The bad-input errors of the in-memory path
(no such label, an empty table, infinite values, every label check) fire here with the
same one-line messages, before anything trains. The fitted preprocessor is then applied
block by block with :func:`transform_dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import cloudpickle
import numpy as np
import pandas as pd

from raymlx.tabular.column_summary import ColumnSummary, merge_frames, summarise_frame
from raymlx.tabular.data import check_frame, infinite_values, split_label
from raymlx.tabular.distributed.holdout import merge_smallest, row_uniforms, smallest_by_class
from raymlx.tabular.label import LabelFacts, decide_problem
from raymlx.tabular.preprocess import TablePreprocessor

if TYPE_CHECKING:
    import ray.data


def _summary_row(batch: pd.DataFrame, label: str, seed: int | None) -> dict[str, Any]:
    facts = LabelFacts.of(batch[label])
    summary = summarise_frame(batch.drop(columns=[label]))
    smallest = (smallest_by_class(batch[label], row_uniforms(batch, seed))
                if seed is not None else {})
    return {"summary": np.array([cloudpickle.dumps((summary, facts, smallest))],
                                dtype=object)}


@dataclass(frozen=True)
class StreamedTable:
    """What one streaming pass learnt about a training Dataset."""

    preprocessor: TablePreprocessor
    problem_type: str
    classes: list
    labels_as_text: bool  # the labels' types do not sort together: read them as text
    rows: int
    summaries: dict[str, ColumnSummary]  # the feature columns'
    label: LabelFacts
    smallest: dict | None = None  # with a holdout seed: each class's smallest row numbers


def prepare_dataset(ds: ray.data.Dataset, label: str, problem_type: str | None = None,
                    what: str = "training table",
                    holdout_seed: int | None = None) -> StreamedTable:
    """Checks ``ds`` and learns its preprocessing, problem type and classes in one pass
    over its blocks, on the workers; the first bad input raises the in-memory path's
    one-line error. With ``holdout_seed``, the same pass gathers what the stratified
    holdout split needs (:mod:`raymlx.tabular.distributed.holdout`)."""
    names = ds.schema().names
    split_label(pd.DataFrame(columns=names), label)  # no such label / no feature column
    parts = ds.map_batches(partial(_summary_row, label=label, seed=holdout_seed),
                           batch_format="pandas", batch_size=None)
    parts.context.execution_options.preserve_order = True  # merge in row order
    pairs = [cloudpickle.loads(row["summary"]) for row in parts.iter_rows()]
    summaries = merge_frames([p[0] for p in pairs]) if pairs else {}
    facts = LabelFacts()
    for _, f, _ in pairs:
        facts = facts.merge(f)
    if facts.rows == 0:
        check_frame(pd.DataFrame(columns=names), what)  # the in-memory "is empty" error
    for name in names:
        if name in summaries and summaries[name].infinite:
            raise infinite_values(name, summaries[name].infinite, what)
    ptype, classes, as_text = decide_problem(facts, label, problem_type)
    features = [n for n in names if n != label]
    pre = TablePreprocessor().fit_summaries(summaries, features)
    smallest = merge_smallest([p[2] for p in pairs]) if holdout_seed is not None else None
    return StreamedTable(pre, ptype, classes, as_text, facts.rows,
                         {n: summaries[n] for n in features}, facts, smallest)


def _transform_batch(batch: pd.DataFrame, preprocessor: TablePreprocessor) -> dict[str, Any]:
    X = preprocessor.transform(batch)
    return {name: X[:, j] for j, name in enumerate(preprocessor.feature_names_)}


def transform_dataset(ds: ray.data.Dataset, preprocessor: TablePreprocessor,
                      keep: list[str] | None = None) -> ray.data.Dataset:
    """``ds`` as float32 feature columns (named by ``feature_names_``), block by block,
    with the ``keep`` columns (the label, say) carried beside them."""
    keep = list(keep or [])

    def fn(batch: pd.DataFrame) -> dict[str, Any]:
        out = _transform_batch(batch, preprocessor)
        out.update({k: batch[k].to_numpy() for k in keep})
        return out

    return ds.map_batches(fn, batch_format="pandas")
