"""Batch scoring on the cluster: ``predict(dataset)`` is a lazy Ray Dataset whose rows get
the in-memory predictions, and ``raymlx predict`` on a folder writes Parquet shards."""

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML
from raymlx.cli import main
from raymlx.errors import InputError
from raymlx.testing.tables import DRIFT_KINDS, drift, one_line
from tests.conftest import make_binary_frame


@pytest.fixture(scope="module")
def fitted(ray_session, tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    aml = AutoML(label="target", max_models=2, families=["lightgbm", "linear"], num_folds=2,
                 path=root / "runs", verbosity=0)
    train = root / "train"
    train.mkdir()
    table = make_binary_frame(n=300)
    for i in range(3):
        table.iloc[i * 100:(i + 1) * 100].to_parquet(train / f"part-{i}.parquet", index=False)
    import ray.data

    aml.fit(ray.data.read_parquet(str(train)))  # a Dataset fits like its rows in a frame
    assert aml.leaderboard().score_val.notna().all()
    test = make_binary_frame(n=500, seed=3)
    folder = root / "test"
    folder.mkdir()
    for i in range(4):
        test.iloc[i * 125:(i + 1) * 125].to_parquet(folder / f"part-{i}.parquet", index=False)
    aml.save(root / "pred")
    return aml, test, folder, root


def test_predict_on_a_dataset_is_lazy_and_matches_the_in_memory_predictions(fitted):
    import ray.data

    aml, test, folder, _ = fitted
    out = aml.predict(ray.data.read_parquet(str(folder)), keep_columns=["row_id"])
    assert isinstance(out, ray.data.Dataset)
    got = out.to_pandas().set_index("row_id").loc[test.row_id]
    assert list(got.columns) == ["prediction"]
    assert (got.prediction.to_numpy() == aml.predict(test).to_numpy()).all()
    proba = aml.predict_proba(ray.data.read_parquet(str(folder)), keep_columns=["row_id"])
    got = proba.to_pandas().set_index("row_id").loc[test.row_id]
    want = aml.predict_proba(test)
    assert list(got.columns) == ["no", "yes"]
    np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(), rtol=0, atol=1e-12)


def test_a_folder_path_predicts_in_memory_like_the_frame(fitted):
    aml, test, folder, _ = fitted
    assert (aml.predict(folder).to_numpy() == aml.predict(test).to_numpy()).all()


def test_keep_columns_must_exist_and_not_clash(fitted):
    import ray.data

    aml, _, folder, _ = fitted
    ds = ray.data.read_parquet(str(folder))
    with pytest.raises(InputError, match="keep_columns names 'nope'"):
        aml.predict(ds, keep_columns=["nope"])
    with pytest.raises(InputError, match="keep_columns is for a ray.data.Dataset"):
        aml.predict(folder, keep_columns=["row_id"])


def test_cli_writes_parquet_shards_for_a_glob(fitted, capsys):
    aml, test, folder, root = fitted
    out = root / "scored"
    code = main(["predict", str(root / "pred"), str(folder / "*.parquet"), "--output",
                 str(out), "--keep-columns", "row_id"])
    assert code == 0
    assert "wrote 500 predictions" in capsys.readouterr().out
    shards = sorted(out.glob("*.parquet"))
    assert shards
    got = pd.concat([pd.read_parquet(p) for p in shards]).set_index("row_id").loc[test.row_id]
    assert list(got.columns) == ["prediction", "no", "yes"]
    np.testing.assert_allclose(got[["no", "yes"]].to_numpy(float),
                               aml.predict_proba(test).to_numpy(), rtol=0, atol=1e-12)
    assert (got.prediction.to_numpy() == aml.predict(test).to_numpy()).all()
    code = main(["predict", str(root / "pred"), str(folder), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "is not empty" in err and len(err.strip().splitlines()) == 1


def test_a_bad_batch_on_the_cluster_is_one_line(fitted, capsys):
    aml, test, _, root = fitted
    bad = root / "bad"
    bad.mkdir()
    test.assign(x1=np.where(np.arange(len(test)) == 7, np.inf, test.x1)).to_parquet(
        bad / "part-0.parquet", index=False)
    code = main(["predict", str(root / "pred"), str(bad), "--output", str(root / "bad-out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "column 'x1' of the prediction data has 1 infinite values" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("kind", DRIFT_KINDS)
def test_drifted_datasets_are_scored_or_refused_in_one_line(fitted, kind):
    """A Dataset that drifts from the training schema (raymlx.testing.tables.drift): its
    rows are scored, one prediction each, or the call (or, for a bad value, consuming the
    lazy result) raises an InputError whose message is one line."""
    import ray.data

    aml, test, _, _ = fitted
    frame = drift(kind, test.iloc[:60], seed=1)
    try:
        out = aml.predict(ray.data.from_pandas(frame)).to_pandas()
    except InputError as err:
        message = str(getattr(err, "cause", err))  # a scoring actor's: Ray's task error
        assert one_line(InputError(message)), (kind, message)
        return
    assert len(out) == len(frame), kind
