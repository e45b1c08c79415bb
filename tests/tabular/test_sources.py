"""Tables as many files: folders, globs and lists of paths read into one frame, and the
one-line errors naming the file that is wrong (Ray-free: :mod:`raymlx.tabular.sources`)."""

import pandas as pd
import pytest

from raymlx.errors import InputError
from raymlx.tabular.data import load_table
from raymlx.tabular.sources import expand_paths, is_many, load_many
from tests.conftest import make_binary_frame


@pytest.fixture
def parts(tmp_path):
    """A 300-row table written as three Parquet files in a folder, plus its frame."""
    df = make_binary_frame(n=300)
    folder = tmp_path / "table"
    folder.mkdir()
    for i in range(3):
        df.iloc[i * 100:(i + 1) * 100].to_parquet(folder / f"part-{i}.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    return folder, df


def test_a_folder_a_glob_and_a_list_read_as_the_concatenated_table(parts):
    folder, df = parts
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    for given in (folder, str(folder / "*.parquet"), files):
        assert is_many(given)
        got = load_table(given, "training table")
        pd.testing.assert_frame_equal(got, df.reset_index(drop=True))


def test_csv_files_are_read_with_their_own_separator(tmp_path):
    df = make_binary_frame(n=40)
    df.iloc[:20].to_csv(tmp_path / "a.csv", sep=";", index=False)
    df.iloc[20:].to_csv(tmp_path / "b.csv", sep=";", index=False)
    got = load_many(tmp_path, "table")
    assert got.shape == df.shape and list(got.columns) == list(df.columns)


def test_a_single_file_and_a_frame_are_not_many(parts):
    folder, df = parts
    assert not is_many(folder / "part-0.parquet") and not is_many(df)


def test_a_file_with_a_missing_column_is_named(parts):
    folder, df = parts
    df.drop(columns=["x2"]).iloc[:10].to_parquet(folder / "part-9.parquet", index=False)
    with pytest.raises(InputError, match=r"file '.*part-9.parquet' has no column 'x2'") as e:
        load_table(folder, "training table")
    assert "\n" not in str(e.value)


def test_a_file_with_another_column_type_is_named(parts):
    folder, df = parts
    # x1 as text in one file: Arrow cannot merge it with the others' float
    df.iloc[:10].assign(x1="tall").to_parquet(folder / "part-7.parquet", index=False)
    with pytest.raises(InputError, match=r"file '.*part-7.parquet' stores column 'x1' as "
                                         r"(large_)?string, where the files before it have "
                                         r"double") as e:
        load_table(folder, "training table")
    assert "\n" not in str(e.value)
    # types Arrow promotes (a float for an int, a column of nulls) still merge
    (folder / "part-7.parquet").unlink()
    df.iloc[:10].assign(x1=None).to_parquet(folder / "part-7.parquet", index=False)
    assert len(load_table(folder, "training table")) == 310


def test_a_corrupt_file_is_named(parts):
    folder, _ = parts
    (folder / "part-5.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"could not read the training table file "
                                         r"'.*part-5.parquet'") as e:
        load_table(folder, "training table")
    assert "\n" not in str(e.value)


def test_empty_folders_unmatched_patterns_and_mixed_formats(tmp_path, parts):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="folder '.*empty' holds no CSV or Parquet files"):
        load_table(tmp_path / "empty", "training table")
    with pytest.raises(InputError, match="pattern '.*nothing-.*' matches no files"):
        load_table(str(tmp_path / "nothing-*.parquet"), "training table")
    folder, df = parts
    df.to_csv(folder / "extra.csv", index=False)
    with pytest.raises(InputError, match="mixes CSV and Parquet"):
        load_table(folder, "training table")
    with pytest.raises(InputError, match="empty list of paths"):
        expand_paths([], "training table")
    with pytest.raises(InputError, match="file '.*gone.parquet' does not exist"):
        load_table([folder / "part-0.parquet", tmp_path / "gone.parquet"], "training table")


def test_paths_with_a_scheme_go_to_pyarrow_unchanged(parts):
    folder, df = parts
    uris = [f"file://{p}" for p in sorted(folder.glob("*.parquet"))]
    assert is_many(uris[0]) and expand_paths(uris, "table") == uris
    pd.testing.assert_frame_equal(load_table(uris, "table"), df.reset_index(drop=True))
