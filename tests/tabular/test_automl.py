"""AutoML end to end on the shared Ray session: fit, leaderboard, ensemble, predict,
object-store out-of-fold predictions, checkpoints, save/load, explain, failures, time."""

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray
from sklearn.metrics import roc_auc_score

from raymlx import AutoML, FitError, InputError, LoadError
from tests.conftest import make_binary_frame

COLUMNS = ["model", "family", "score_val", "stack_level", "fit_time_s", "predict_time_s",
           "config", "error", "note"]


@pytest.fixture(scope="module")
def fitted(ray_session, binary_frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("runs")
    aml = AutoML(label="target", time_limit=60, max_models=6, path=path, seed=0,
                 families=["lightgbm", "random_forest", "linear", "knn"])
    t0 = time.time()
    aml.fit(binary_frame)
    return aml, time.time() - t0, path


@pytest.mark.timing
def test_fit_keeps_its_time_limit(fitted):
    aml, elapsed, _ = fitted
    assert elapsed <= 60 + 3, f"fit took {elapsed:.1f} s for a 60 s limit"
    assert aml.fit_time_s_ <= 60
    assert len(aml.models_.records) == 6 + 1  # max_models trials and the ensemble


def test_leaderboard_ranks_models_and_the_ensemble(fitted):
    aml, _, _ = fitted
    board = aml.leaderboard()
    assert list(board.columns) == COLUMNS
    ok = board[board.error.isna()]
    assert list(ok.score_val) == sorted(ok.score_val, reverse=True)  # roc_auc: higher first
    assert {"lightgbm", "random_forest", "linear", "knn"} <= set(ok.family)
    ens = board[board.model == "weighted_ensemble"].iloc[0]
    assert ens.family == "ensemble" and sum(ens.config.values()) == pytest.approx(1.0, abs=1e-3)
    assert set(ens.config) <= set(board.model)
    assert ens.score_val >= ok[ok.family != "ensemble"].score_val.max() - 1e-9
    check = aml.stacking_.get("ensemble_check", {"kept": True})
    # the best by out-of-fold score, unless its gain over the best single model was noise
    expected = board.model.iloc[0] if check["kept"] else check["best_single"]
    assert aml.best_model_ == expected


def test_out_of_fold_predictions_live_in_the_object_store(fitted, binary_frame):
    aml, _, _ = fitted
    refs = ray.get(aml.oof_store_.refs.remote())
    board = aml.leaderboard().set_index("model")
    y = (binary_frame["target"] == "yes").to_numpy().astype(int)
    checked = 0
    for rec in aml.models_.usable():
        if rec.trial_id is None:
            continue
        oof = ray.get(refs[rec.trial_id][0])  # the trial's worker is gone; its OOF is not
        assert oof.shape == (len(y), 2) and not oof.flags.writeable  # zero-copy view
        assert roc_auc_score(y, oof[:, 1]) == pytest.approx(board.loc[rec.name, "score_val"])
        checked += 1
    assert checked >= 4


def test_fold_models_are_in_the_trials_checkpoints(fitted):
    aml, _, path = fitted
    for rec in aml.models_.usable():
        if not rec.weights:
            assert Path(rec.models_path).is_file()
            assert Path(path) in Path(rec.models_path).parents
            assert "checkpoint_" in rec.models_path


def test_predictions_and_probabilities(fitted):
    aml, _, _ = fitted
    test = make_binary_frame(n=300, seed=1)
    labels = aml.predict(test)
    assert set(labels.unique()) <= {"yes", "no"} and len(labels) == 300
    proba = aml.predict_proba(test)
    assert list(proba.columns) == ["no", "yes"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    auc = roc_auc_score(test["target"] == "yes", proba["yes"])
    # the true logit scores 0.804 on this sample (Bayes limit); 400 rows get close to it
    assert auc > 0.76
    assert aml.score(test) == pytest.approx(auc)
    board = aml.leaderboard(test)
    assert "score_test" in board.columns
    assert board.score_test.dropna().is_monotonic_decreasing


def test_unseen_category_at_predict_time(fitted):
    aml, _, _ = fitted
    row = make_binary_frame(n=5, seed=2).drop(columns="target")
    row["color"] = "ultraviolet"
    assert len(aml.predict(row)) == 5


def test_predict_frame_missing_columns_is_one_line(fitted):
    aml, _, _ = fitted
    with pytest.raises(InputError, match=r"lacks columns the model was trained on: \['x1'\]"):
        aml.predict(make_binary_frame(n=5).drop(columns=["x1"]))


def test_explain_ranks_the_informative_column_first(fitted, tmp_path):
    aml, _, _ = fitted
    test = make_binary_frame(n=300, seed=3)
    table = aml.explain(test, plot=tmp_path / "imp.png", n_repeats=3)["importance"]
    assert set(table.feature) == set(test.columns) - {"target"}
    assert table.feature.iloc[0] == "x1"
    assert table.importance.is_monotonic_decreasing
    assert (tmp_path / "imp.png").read_bytes()[:4] == b"\x89PNG"


def test_save_load_round_trip(fitted, tmp_path):
    aml, _, _ = fitted
    test = make_binary_frame(n=200, seed=4)
    folder = aml.save(tmp_path / "pred")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "raymlx-predictor" and manifest["format_version"] == 2
    loaded = AutoML.load(folder)
    pd.testing.assert_frame_equal(loaded.predict_proba(test), aml.predict_proba(test))
    assert loaded.leaderboard(test).model.tolist() == aml.leaderboard(test).model.tolist()
    # saving again over the same predictor folder replaces it atomically
    aml.save(folder)
    assert AutoML.load(folder).best_model_ == aml.best_model_


def test_save_never_overwrites_other_work(fitted, tmp_path):
    aml, _, _ = fitted
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="is not a raymlx predictor folder"):
        aml.save(precious)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_load_refuses_broken_or_foreign_folders(fitted, tmp_path):
    aml, _, _ = fitted
    with pytest.raises(LoadError, match="no manifest.json"):
        AutoML.load(tmp_path)
    folder = aml.save(tmp_path / "pred")
    victim = next((folder / "models").rglob("fold_models.pkl"))
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(LoadError, match="does not match its checksum"):
        AutoML.load(folder)


def test_a_failing_trial_is_recorded_and_the_fit_goes_on(ray_session, binary_frame, tmp_path):
    aml = AutoML(label="target", path=tmp_path, verbosity=0,
                 hyperparameters={"lightgbm": [{"num_leaves": -5}], "linear": [{}]})
    aml.fit(binary_frame)
    board = aml.leaderboard().set_index("model")
    assert "num_leaves" in board.loc["lightgbm_1", "error"]
    assert np.isnan(board.loc["lightgbm_1", "score_val"])
    assert pd.isna(board.loc["linear_1", "error"]) and aml.best_model_ == "linear_1"


def test_no_usable_model_is_a_clear_error(ray_session, binary_frame, tmp_path):
    aml = AutoML(label="target", path=tmp_path, verbosity=0,
                 hyperparameters={"lightgbm": [{"num_leaves": -5}]})
    with pytest.raises(FitError, match="no model finished"):
        aml.fit(binary_frame)


@pytest.mark.timing
def test_regression_from_a_csv_path_within_its_time_limit(ray_session, tmp_path):
    from tests.conftest import WINE_RED

    aml = AutoML(label="quality", problem_type="regression", time_limit=15, path=tmp_path,
                 verbosity=0)
    t0 = time.time()
    aml.fit(WINE_RED)
    assert time.time() - t0 <= 15 + 3
    board = aml.leaderboard()
    assert board.score_val.iloc[0] < 0.7  # rmse of quality (std 0.81)
    assert aml.predict(pd.read_csv(WINE_RED, sep=";").head(3)).between(3, 9).all()
    with pytest.raises(InputError, match="predict_proba is for classification"):
        aml.predict_proba(WINE_RED)


@pytest.mark.parametrize("searcher", ["gp", "auto"])
def test_a_model_based_searcher_continues_after_the_portfolio(ray_session, binary_frame,
                                                              tmp_path, searcher):
    aml = AutoML(label="target", families=["linear", "knn"], max_models=6, searcher=searcher,
                 path=tmp_path, verbosity=0)
    aml.fit(binary_frame)
    board = aml.leaderboard()
    trials = board[board.family != "ensemble"]
    assert len(trials) == 6 and set(trials.family) <= {"linear", "knn"}
    portfolio = [{"n_neighbors": 10, "weights": "distance", "p": 2}, {"C": 1.0, "alpha": 1.0}]
    searched = [c for c in trials.config if c not in portfolio]
    assert len(searched) == 4  # the portfolio's two, then four from the searcher


def test_the_default_searcher_after_the_portfolio_is_tpe():
    from raymlx.searchers import TPESearch
    from raymlx.tabular.settings import make_searcher

    assert AutoML(label="target").searcher == "auto"
    assert isinstance(make_searcher("auto", 0, []), TPESearch)


def test_asha_over_folds_stops_poor_configurations_after_one_fold(ray_session, binary_frame,
                                                                  tmp_path):
    good = [{"C": 1.0, "alpha": 1.0}] * 3
    poor = [{"C": 1e-6, "alpha": 1.0}] * 6  # all but constant: a far worse log loss
    aml = AutoML(label="target", metric="log_loss", families=["linear"], num_folds=5,
                 hyperparameters={"linear": good + poor}, max_models=9, scheduler="asha",
                 path=tmp_path, verbosity=0)
    aml.fit(binary_frame)
    board = aml.leaderboard()
    trials = board[board.family != "ensemble"]
    stopped = trials[trials.error.fillna("").str.startswith("stopped by ASHA after 1 of 5")]
    assert len(stopped) >= 3
    assert all(c["C"] == 1e-6 for c in stopped.config)  # only poor ones were cut
    assert board.iloc[0]["error"] is None or board.iloc[0]["error"] != board.iloc[0]["error"]
    assert aml.predict(binary_frame.head(3)).shape == (3,)


def test_unknown_scheduler_is_a_one_line_error(binary_frame):
    with pytest.raises(InputError, match="scheduler='hyperband' is invalid; choose one of: "
                                         "asha or None; or give a ray.tune.schedulers"):
        AutoML(label="target", scheduler="hyperband").fit(binary_frame)


def test_a_dropped_predictor_frees_its_store_and_its_data(ray_session, tmp_path):
    """Nothing of a fit outlives its predictor in Ray: its out-of-fold store actor (which
    holds the phase inputs, the prepared arrays among them) ends when the AutoML is
    dropped. tune.with_parameters keeps what it is given for the driver's life, so raymlx
    gives it no ObjectRef and no actor handle."""
    import gc

    def stores():
        return {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                if a["name"].startswith("oof-store:")}

    before = stores()
    frame = make_binary_frame(n=120, seed=9)
    aml = AutoML(label="target", families=["linear"], num_folds=2, path=tmp_path,
                 verbosity=0).fit(frame)
    [name] = [s for s in stores() - before
              if s.startswith("oof-store:" + Path(aml.experiment_path_).name)]
    del aml
    gc.collect()
    deadline = time.time() + 20
    while name in stores() and time.time() < deadline:
        time.sleep(0.2)
    assert name not in stores() and stores() <= before | set()
