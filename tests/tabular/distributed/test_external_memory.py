"""XGBoost's external-memory matrix fed one prepared file at a time
(raymlx.tabular.distributed.external_memory)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from raymlx.tabular.distributed.external_memory import needs_external_memory, training_matrix

COLUMNS = ["a", "b", "c"]


def _files(folder, n_files: int = 5, rows: int = 2000) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n_files):
        X = rng.normal(size=(rows, 3)).astype(np.float32)
        y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(np.float32)
        path = str(folder / f"part-{i}.parquet")
        pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "__label__": y}).to_parquet(path)
        paths.append(path)
    return paths


def test_the_external_matrix_holds_every_row_and_trains_as_well(tmp_path):
    files = _files(tmp_path)
    types = ["q"] * 3
    inside, n_in = training_matrix(files[:4], COLUMNS, "__label__", types, False, "")
    outside, n_out = training_matrix(files[:4], COLUMNS, "__label__", types, True,
                                     str(tmp_path / "cache"))
    assert isinstance(outside, xgb.ExtMemQuantileDMatrix)
    assert n_in == n_out == outside.num_row() == 8000
    np.testing.assert_array_equal(outside.get_label(), inside.get_label())
    assert any((tmp_path / "cache").iterdir())  # the pages went to disk
    test = pd.read_parquet(files[4])
    dtest = xgb.DMatrix(test[COLUMNS].to_numpy(), test["__label__"].to_numpy())
    params = {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 1}
    aucs = [roc_auc_score(test["__label__"], xgb.train(params, m, 60).predict(dtest))
            for m in (inside, outside)]
    assert aucs[1] > 0.9 and abs(aucs[0] - aucs[1]) < 0.01


def test_a_shard_over_half_a_workers_memory_trains_from_disk():
    assert needs_external_memory(600e6, 1e9)
    assert not needs_external_memory(400e6, 1e9)
    assert not needs_external_memory(600e6, 0.0)  # memory unknown: in memory
