"""The preprocessing learnt from a Ray Dataset in one streaming pass is the in-memory one,
applied block by block gives the same features, and bad inputs fail with the in-memory
path's one-line messages before anything trains."""

import numpy as np
import pandas as pd
import pytest

from raymlx.errors import InputError
from raymlx.tabular.data import check_frame, load_table, split_label
from raymlx.tabular.label import prepare_label
from raymlx.tabular.preprocess import TablePreprocessor
from raymlx.tabular.streaming_prep import prepare_dataset, transform_dataset
from tests.tabular.test_column_summary import planned, rich_frame


def write_parts(df: pd.DataFrame, folder, n_files: int = 4):
    folder.mkdir()
    size = -(-len(df) // n_files)
    for i in range(n_files):
        df.iloc[i * size:(i + 1) * size].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


@pytest.fixture
def table(ray_session, tmp_path):
    df = rich_frame(n=600, seed=4).assign(target=np.arange(600) % 3)
    return write_parts(df, tmp_path / "table")


def test_the_streamed_preprocessor_is_the_in_memory_one(table):
    import ray.data

    frame = load_table(table, "training table")
    whole = TablePreprocessor().fit(frame.drop(columns="target"))
    ds = ray.data.read_parquet(str(table), override_num_blocks=4)
    streamed = prepare_dataset(ds, "target")
    pre = streamed.preprocessor
    assert planned(pre) == planned(whole)
    assert streamed.rows == 600 and streamed.summaries["x2"].nulls == frame.x2.isna().sum()
    _, _, ptype, classes = prepare_label(frame, frame.target, "target", None)
    assert (streamed.problem_type, streamed.classes) == (ptype, classes) == ("multiclass",
                                                                             [0, 1, 2])
    out = transform_dataset(ds, pre, keep=["row_id"]).to_pandas()
    got = out.set_index("row_id").loc[frame.row_id, pre.feature_names_].to_numpy(np.float32)
    np.testing.assert_array_equal(got, whole.transform(frame))


def test_bad_inputs_give_the_in_memory_messages(ray_session, tmp_path):
    import ray.data

    df = rich_frame(n=200).assign(target=1.0)
    ds = ray.data.from_pandas(df)
    with pytest.raises(InputError) as streamed:
        prepare_dataset(ds, "nope")
    with pytest.raises(InputError) as in_memory:
        split_label(df, "nope")
    assert str(streamed.value) == str(in_memory.value)

    bad = df.assign(x1=np.where(np.arange(200) == 150, -np.inf, df.x1))
    folder = write_parts(bad, tmp_path / "bad")
    with pytest.raises(InputError) as streamed:
        prepare_dataset(ray.data.read_parquet(str(folder)), "target")
    with pytest.raises(InputError) as in_memory:
        check_frame(bad, "training table")
    assert str(streamed.value) == str(in_memory.value)
    assert "column 'x1' of the training table has 1 infinite values" in str(streamed.value)

    empty = write_parts(df.iloc[:0], tmp_path / "empty", n_files=1)
    with pytest.raises(InputError, match=r"the training table is empty \(0 rows, 14 columns\)"):
        prepare_dataset(ray.data.read_parquet(str(empty)), "target")


BAD_LABELS = {
    "all missing": (np.full(200, np.nan), None),
    "one class": (np.repeat(["a"], 200), None),
    "binary with three values": (np.resize(["a", "b", "c"], 200), "binary"),
    "regression on text": (np.resize(["a", "b", "c"], 200), "regression"),
    "infinite target": (np.where(np.arange(200) == 120, np.inf, np.arange(200) * 0.5), None),
    "unknown problem type": (np.resize([0, 1], 200), "ranking"),
}


@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_every_label_check_fires_with_the_in_memory_message(ray_session, case):
    import ray.data

    values, problem_type = BAD_LABELS[case]
    df = rich_frame(n=200).assign(target=values)
    ds = ray.data.from_pandas([df.iloc[:100], df.iloc[100:]])  # two blocks
    with pytest.raises(InputError) as streamed:
        prepare_dataset(ds, "target", problem_type)
    with pytest.raises(InputError) as in_memory:
        prepare_label(df, df.target, "target", problem_type)
    assert str(streamed.value) == str(in_memory.value)
