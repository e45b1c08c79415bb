"""The large-data path end to end on the session's local Ray: a Parquet folder prepared in
one streaming pass, data-parallel XGBoost and LightGBM trials on Ray Train (2 workers
each), the weighted ensemble over the holdout, and a predictor that predicts as the
in-memory one does (pandas and Dataset alike), saves and loads."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML
from raymlx.errors import InputError
from raymlx.tabular.distributed.entry import route
from raymlx.tabular.settings import resolve_settings
from tests.tabular.distributed.tables import write_bad_folder, write_table

FAST = {"xgboost": [{"eta": 0.3, "max_depth": 4}], "lightgbm": [{"learning_rate": 0.3}]}


@pytest.fixture(scope="module")
def large_fit(ray_session, tmp_path_factory):
    root = tmp_path_factory.mktemp("large")
    table = write_table(root / "train")
    test = write_table(root / "test", n_files=1, rows=3000, seed=1)
    from ray.tune.schedulers import FIFOScheduler

    # FIFO: both trials run to their early stop (the default, ASHA, has its own test)
    aml = AutoML(label="y", data_path="distributed", workers_per_trial=2,
                 hyperparameters=FAST, scheduler=FIFOScheduler(), path=root / "runs",
                 verbosity=0)
    aml.fit(str(root / "train"))
    return aml, table, test, root


def test_the_fit_trains_data_parallel_trials_and_their_ensemble(large_fit):
    aml, table, test, _ = large_fit
    assert aml.data_path_["path"] == "distributed"
    board = aml.leaderboard()
    assert set(board.model) == {"xgboost_1", "lightgbm_1", "weighted_ensemble"}
    assert board.error.isna().all()
    trials = board[board.family != "ensemble"]
    assert trials.note.str.fullmatch(r"\d+ boosting rounds on 2 workers").all()
    best = board[board.model == aml.best_model_].iloc[0]
    assert best.note.startswith("distributed path: data_path='distributed' (40000 rows")
    assert aml.score(test) > 0.9  # roc_auc of a learnable signal


def test_the_holdout_is_a_seeded_stratified_tenth(large_fit):
    import pyarrow.parquet as pq

    aml, table, _, _ = large_fit
    folder = aml.experiment_path_
    hold = pq.read_table(glob.glob(f"{folder}/prepared/__split__=holdout/*.parquet")).to_pandas()
    train = pq.read_table(glob.glob(f"{folder}/prepared/__split__=train/*.parquet")).to_pandas()
    assert len(hold) + len(train) == len(table)
    yes = (table.y == "yes").sum()  # 'yes' is class 1, each class a small class: exact
    assert hold["__label__"].sum() == round(0.1 * yes)
    assert (hold["__label__"] == 0).sum() == round(0.1 * (len(table) - yes))


def test_each_worker_read_only_its_share_of_the_training_files(large_fit):
    aml, table, _, _ = large_fit
    stats = [json.load(open(p)) for p in
             glob.glob(f"{aml.experiment_path_}/train/workers/*.json")]
    by_trial: dict[str, list] = {}
    for path, s in zip(glob.glob(f"{aml.experiment_path_}/train/workers/*.json"), stats):
        by_trial.setdefault(os.path.basename(path).rsplit("-rank", 1)[0], []).append(s)
    assert len(by_trial) == 2
    n_train = round(0.9 * len(table))
    for workers in by_trial.values():
        rows = [w["rows"] for w in workers]
        assert len(rows) == 2 and abs(sum(rows) - n_train) <= 2
        assert max(rows) < 0.7 * sum(rows)  # a share, not the table


def test_dataset_predictions_equal_pandas_predictions(large_fit):
    import ray.data

    aml, _, test, _ = large_fit
    proba = aml.predict_proba(test)
    scored = aml.predict_proba(ray.data.from_pandas(test)).to_pandas()
    np.testing.assert_allclose(scored[["no", "yes"]].to_numpy(dtype=float),
                               proba.to_numpy(dtype=float), atol=1e-6)
    labels = aml.predict(ray.data.from_pandas(test)).to_pandas()["prediction"]
    assert (labels.to_numpy() == aml.predict(test).to_numpy()).all()


def test_the_large_predictor_saves_and_loads(large_fit, tmp_path):
    aml, _, test, _ = large_fit
    loaded = AutoML.load(aml.save(tmp_path / "pred"))
    np.testing.assert_allclose(loaded.predict_proba(test).to_numpy(),
                               aml.predict_proba(test).to_numpy())
    assert loaded.leaderboard().model.tolist() == aml.leaderboard().model.tolist()


def test_asha_stops_a_configuration_behind_at_its_first_rung(large_fit, tmp_path):
    _, _, _, root = large_fit
    weak = {"lightgbm": [{"learning_rate": 0.3}],
            "xgboost": [{"eta": 0.01, "max_depth": 1}]}
    aml = AutoML(label="y", data_path="distributed", workers_per_trial=2,
                 hyperparameters=weak, path=tmp_path, verbosity=0).fit(str(root / "train"))
    board = aml.leaderboard().set_index("model")
    assert pd.isna(board.loc["lightgbm_1"].error)
    assert board.loc["xgboost_1"].error.startswith(
        "stopped by the scheduler after 25 boosting rounds (roc_auc ")


@pytest.mark.timing
def test_a_large_data_fit_keeps_its_time_limit(large_fit, tmp_path):
    """The whole portfolio (five configurations) does not fit in 50 s on this path: the
    fit still ends inside its limit (a generous margin for a shared machine) with a
    scored model, and what it did not run is recorded as such."""
    import time

    _, _, test, root = large_fit
    t0 = time.time()
    aml = AutoML(label="y", data_path="distributed", workers_per_trial=2, time_limit=50,
                 path=tmp_path, verbosity=0).fit(str(root / "train"))
    assert time.time() - t0 < 50 + 20
    board = aml.leaderboard()
    assert board.error.isna().sum() >= 1 and aml.score(test) > 0.85
    assert board.error.dropna().str.startswith(("stopped at the time limit",
                                                "stopped by the scheduler")).all()


def test_auto_keeps_a_small_folder_in_memory_without_a_streaming_pass(ray_session, tmp_path):
    write_table(tmp_path / "t", n_files=2, rows=500)
    settings = resolve_settings(AutoML(label="y").get_params())
    routed = route(settings, str(tmp_path / "t"))
    assert routed.choice.path == "memory" and routed.streamed is None


def test_auto_sends_a_folder_over_max_in_memory_bytes_to_the_large_path(ray_session, tmp_path):
    write_table(tmp_path / "t", n_files=2, rows=500)
    settings = resolve_settings(AutoML(label="y", max_in_memory_bytes="20kB").get_params())
    routed = route(settings, str(tmp_path / "t"))
    assert routed.choice.path == "distributed"
    assert "over max_in_memory_bytes = 20 kB" in routed.choice.reason
    assert routed.streamed.rows == 1000 and routed.streamed.problem_type == "binary"


def test_a_metric_the_boosters_cannot_follow_is_a_one_line_error(ray_session, tmp_path):
    write_table(tmp_path / "t", n_files=2, rows=500)
    aml = AutoML(label="y", metric="f1", data_path="distributed", path=tmp_path / "runs")
    with pytest.raises(InputError, match=r"^metric 'f1' is not available on the large-data "
                                         r"path for binary problems; use one of \['roc_auc', "
                                         r"'log_loss', 'accuracy'\]"):
        aml.fit(str(tmp_path / "t"))


@pytest.mark.parametrize("case", ["missing column", "corrupt file", "empty folder"])
def test_bad_files_in_a_folder_name_the_file_on_the_large_path(ray_session, tmp_path, case):
    folder = tmp_path / "t"
    match = write_bad_folder(folder, case, lambda f: write_table(f, n_files=2, rows=200))
    aml = AutoML(label="y", data_path="distributed", path=tmp_path / "runs")
    with pytest.raises(InputError, match=match) as info:
        aml.fit(str(folder))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_resume_runs_only_the_trials_its_ledger_lacks(large_fit, tmp_path):
    """A driver killed after the XGBoost trial finished: the copy of the fit folder whose
    ledger lost the LightGBM line resumes with the XGBoost trial as it was (its checkpoint
    reloaded, not trained again) and trains LightGBM anew."""
    import shutil

    aml, _, test, _ = large_fit
    folder = tmp_path / "fit-copy"
    shutil.copytree(aml.experiment_path_, folder)
    lines = (folder / "trials.jsonl").read_text().splitlines()
    kept = [line for line in lines if json.loads(line)["model"]["family"] == "xgboost"]
    assert len(kept) == 1 and len(lines) == 2
    (folder / "trials.jsonl").write_text(kept[0] + "\n")
    resumed = AutoML.resume(folder)
    assert resumed.data_path_ == aml.data_path_
    before = aml.leaderboard().set_index("model")
    after = resumed.leaderboard().set_index("model")
    assert set(after.index) == set(before.index) and after.error.isna().all()
    assert after.loc["xgboost_1"].score_val == before.loc["xgboost_1"].score_val
    trained = {json.loads(line)["model"]["family"]
               for line in (folder / "trials.jsonl").read_text().splitlines()[1:]}
    assert trained == {"lightgbm"}  # the only trial the resumed fit ran
    assert resumed.score(test) > 0.9
