"""``predict`` on a large in-memory table runs in chunks: the same answers, a fraction of
the memory, and a progress bar when it takes long."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML
from raymlx.tabular import chunked_predict
from tests.conftest import make_binary_frame


@pytest.fixture(scope="module")
def fitted(ray_session, tmp_path_factory):
    df = make_binary_frame(400, 0)
    aml = AutoML(label="target", families=["lightgbm", "linear"], max_models=2, num_folds=3,
                 path=tmp_path_factory.mktemp("chunks"), verbosity=0).fit(df)
    big = pd.concat([df.drop(columns="target")] * 500, ignore_index=True)  # 200,000 rows
    return aml, big


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_chunks_give_the_answers_of_one_pass(fitted, monkeypatch):
    aml, big = fitted
    rows = big.iloc[:1000]
    whole = aml.predict_proba(rows).to_numpy()
    monkeypatch.setattr(chunked_predict, "CHUNK_ROWS", 300)  # 4 chunks, the last short
    np.testing.assert_array_equal(aml.predict_proba(rows).to_numpy(), whole)
    assert aml.predict(rows).tolist() == aml.problem_.decode(whole.argmax(axis=1)).tolist()


def test_chunks_bound_the_memory_a_large_predict_needs(fitted, monkeypatch):
    aml, big = fitted
    monkeypatch.setattr(chunked_predict, "CHUNK_ROWS", len(big))  # one pass
    one_pass = _peak_bytes(lambda: aml.predict_proba(big))
    monkeypatch.setattr(chunked_predict, "CHUNK_ROWS", 10_000)
    chunked = _peak_bytes(lambda: aml.predict_proba(big))
    answer = len(big) * 2 * 8 * 2  # the probabilities, and the DataFrame around them
    assert chunked < one_pass / 2, (chunked, one_pass)
    assert chunked < answer + 16e6, (chunked, answer)


def test_a_long_predict_shows_a_progress_bar(fitted, monkeypatch, capsys):
    aml, big = fitted
    monkeypatch.setattr(chunked_predict, "CHUNK_ROWS", 5_000)
    monkeypatch.setattr(chunked_predict, "PROGRESS_AFTER_S", 0.0)  # any rest counts as long
    rows = big.iloc[:20_000]
    monkeypatch.setattr(aml, "verbosity", 1)
    aml.predict(rows)
    err = capsys.readouterr().err
    assert "predicting" in err and "20.0k/20.0k" in err, err
    monkeypatch.setattr(aml, "verbosity", 0)
    aml.predict(rows)
    assert "predicting" not in capsys.readouterr().err
