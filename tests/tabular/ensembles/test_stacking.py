"""Stacking: layers read out-of-fold predictions only, a memoriser cannot win through them,
the holdout check falls back to layer 1, presets and the time limit hold."""

import time

import numpy as np
import pandas as pd
import pytest
import ray
from sklearn.metrics import roc_auc_score

from raymlx import AutoML, InputError
from raymlx.tabular.ensembles.bagging import assign_repeated_folds, predict_bag
from raymlx.tabular.ensembles.stacking import (
    MIN_HOLDOUT_ROWS,
    choose_inputs,
    choose_stackers,
    holdout_rows,
    keep_stack,
    stack_columns,
    stack_width,
)
from raymlx.tabular.metrics import get_metric
from raymlx.tabular.predictor import ModelRecord, ModelSet
from raymlx.tabular.problem import Problem
from raymlx.tabular.settings import resolve_settings
from tests.conftest import make_binary_frame


def noise_frame(n: int, seed: int) -> pd.DataFrame:
    """Four random features and a label that does not depend on them."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    df["target"] = rng.choice(["no", "yes"], size=n)
    return df


def test_stack_columns_drop_the_redundant_binary_column():
    binary = np.array([[0.2, 0.8], [0.6, 0.4]])
    multi = np.full((2, 3), 1 / 3)
    np.testing.assert_allclose(stack_columns([binary, binary], "binary"),
                               [[0.8, 0.8], [0.4, 0.4]], rtol=1e-6)
    assert stack_columns([multi], "multiclass").shape == (2, 3)
    assert stack_columns([np.array([1.0, 2.0])], "regression").shape == (2, 1)
    assert stack_width(4, "binary", 2) == 4 and stack_width(4, "multiclass", 3) == 12
    assert stack_columns([binary], "binary").dtype == np.float32


def _rec(name, family, score, config=None):
    return ModelRecord(name=name, family=family, config=config or {}, score_val=score,
                       models_path="x", trial_id=name)


def test_stackers_are_the_best_configuration_of_each_family_best_first():
    recs = [_rec("lgb1", "lightgbm", 0.80, {"a": 1}), _rec("lgb2", "lightgbm", 0.85, {"a": 2}),
            _rec("lin", "linear", 0.82), _rec("bad", "knn", float("nan"))]
    recs[3].error = "failed"
    auc = get_metric("roc_auc", "binary")
    assert choose_stackers(recs, auc) == [
        {"model": {"family": "lightgbm", "params": {"a": 2}}},
        {"model": {"family": "linear", "params": {}}}]
    assert [r.name for r in choose_inputs(recs, auc, k=2)] == ["lgb2", "lin"]
    rmse = get_metric("rmse", "regression")  # lower is better
    assert [r.name for r in choose_inputs(recs[:3], rmse, k=1)] == ["lgb1"]


def test_the_holdout_is_stratified_and_skipped_on_small_tables():
    y = np.array([0] * 720 + [1] * 180)
    mask = holdout_rows(y, stratify=True, seed=0)
    assert mask.sum() == 100 and y[mask].sum() == 20  # 1/9 of the rows, classes kept
    assert holdout_rows(np.zeros(9 * MIN_HOLDOUT_ROWS - 9, dtype=int), True, 0) is None


@pytest.fixture(scope="module")
def stacked(ray_session, tmp_path_factory):
    frame = make_binary_frame(n=300, seed=3)
    aml = AutoML(label="target", num_folds=4, num_stack_levels=1, dynamic_stacking=False,
                 hyperparameters={"knn": [{"n_neighbors": 1}], "lightgbm": [{}]},
                 path=tmp_path_factory.mktemp("stack"), seed=0, verbosity=0)
    return aml.fit(frame), frame


def test_a_stacking_layer_reads_out_of_fold_predictions_never_in_fold(stacked):
    aml, frame = stacked
    board = aml.leaderboard()
    level2 = board[board.stack_level == 2]
    assert set(level2.model) == {"knn_1_L2", "lightgbm_1_L2", "weighted_ensemble_L2"}
    check = aml.stacking_.get("ensemble_check")  # 300 rows: the L2 gain may be noise
    assert aml.best_model_ == "weighted_ensemble_L2" or (
        check["ensemble"] == "weighted_ensemble_L2" and not check["kept"]
        and aml.best_model_ == check["best_single"])
    y = aml.problem_.encode(frame["target"])
    fold = assign_repeated_folds(y, 4, True, 0, 1)[0]
    X = aml.preprocessor_.transform(frame)
    refs = ray.get(aml.oof_store_.refs.remote())
    stacker = aml.models_.records["lightgbm_1_L2"]
    assert stacker.inputs == ["knn_1", "lightgbm_1"] or stacker.inputs == ["lightgbm_1",
                                                                           "knn_1"]
    for name in stacker.inputs:
        rec = aml.models_.records[name]
        stored = ray.get(refs[rec.trial_id][0])  # what the stackers read, by reference
        fold_models = aml.models_.fold_models(name)
        for k, model in enumerate(fold_models):
            # the prediction for fold k's rows comes from the model that did not train on them
            np.testing.assert_allclose(stored[fold == k], model.predict(X[fold == k]))
        if name == "knn_1":  # a memoriser: in-fold it would return every training label
            in_fold = fold_models[0].predict(X[fold != 0]).argmax(axis=1)
            assert np.all(in_fold == y[fold != 0])
            assert np.mean(stored.argmax(axis=1) == y) < 0.95
    for model in aml.models_.fold_models("lightgbm_1_L2"):
        assert model.problem.n_features == X.shape[1] + 2  # one P(yes) column per input


def test_a_stacked_predictor_predicts_from_its_lower_layer_and_survives_save_load(
        stacked, tmp_path):
    aml, frame = stacked
    test = make_binary_frame(n=200, seed=4)
    proba = aml.predict_proba(test)
    X = aml.preprocessor_.transform(test)
    below = [predict_bag(aml.models_.fold_models(n), X)
             for n in aml.models_.records["knn_1_L2"].inputs]
    direct = predict_bag(aml.models_.fold_models("knn_1_L2"),
                         np.hstack([X, stack_columns(below, "binary")]))
    np.testing.assert_allclose(aml.predict_proba(test, model="knn_1_L2").to_numpy(), direct)
    loaded = AutoML.load(aml.save(tmp_path / "pred"))
    np.testing.assert_allclose(loaded.predict_proba(test).to_numpy(), proba.to_numpy())
    assert loaded.stacking_ == aml.stacking_ and loaded.best_model_ == aml.best_model_


def test_a_memoriser_cannot_win_through_stacking(ray_session, tmp_path):
    # 1-nearest-neighbour memorises its training rows. Were its in-fold predictions
    # stacked, the label itself would be a feature and the stacker would score ~1.0.
    train = noise_frame(400, seed=5)
    aml = AutoML(label="target", num_folds=5, num_stack_levels=1, dynamic_stacking=False,
                 hyperparameters={"knn": [{"n_neighbors": 1}]}, path=tmp_path, verbosity=0)
    aml.fit(train)
    scores = aml.leaderboard().set_index("model").score_val
    assert abs(scores["knn_1"] - 0.5) < 0.1
    assert scores["knn_1_L2"] < 0.62, scores.to_dict()
    test = noise_frame(400, seed=6)
    y = (test["target"] == "yes").astype(int)
    assert roc_auc_score(y, aml.predict_proba(test, model="knn_1_L2")["yes"]) < 0.62


def _holdout_case(ray_session, l1_pred, top_pred):
    """A store holding two models' holdout predictions, and the records naming them."""
    from raymlx.tabular.engine.oof_store import OutOfFoldStore

    store = OutOfFoldStore.remote()
    ray.get([store.put.remote("t1", np.zeros(4), l1_pred),
             store.put.remote("t2", np.zeros(4), top_pred)])
    records = [_rec("lin_1", "linear", 0.7), _rec("lin_1_L2", "linear", 0.9)]
    records[0].trial_id, records[1].trial_id, records[1].stack_level = "t1", "t2", 2
    records.append(ModelRecord(name="weighted_ensemble", family="ensemble", config={},
                               weights={"lin_1": 1.0}))
    records.append(ModelRecord(name="weighted_ensemble_L2", family="ensemble", config={},
                               weights={"lin_1_L2": 1.0}, stack_level=2))
    from raymlx.tabular.engine.final_model import choose_final

    models = ModelSet(Problem("binary", ("a", "b"), label="t", metric="roc_auc"), records)
    return choose_final(models, ["weighted_ensemble", "weighted_ensemble_L2"], store,
                        np.array([0, 0, 1, 1]))


GOOD = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])  # AUC 1.0
POOR = np.array([[0.4, 0.6], [0.8, 0.2], [0.3, 0.7], [0.9, 0.1]])  # AUC 0.5


def test_dynamic_stacking_keeps_the_stack_only_when_it_wins_on_the_holdout(ray_session):
    report = _holdout_case(ray_session, POOR, GOOD)
    assert report["final_model"] == "weighted_ensemble_L2"
    assert report["holdout_scores"] == {"weighted_ensemble": 0.5, "weighted_ensemble_L2": 1.0}
    assert report["holdout_rows"] == 4
    report = _holdout_case(ray_session, GOOD, POOR)
    assert report["final_model"] == "weighted_ensemble"
    assert report["reason"].startswith("stacking did not beat layer 1")
    # a tie keeps layer 1, the simpler model
    assert _holdout_case(ray_session, GOOD, GOOD)["final_model"] == "weighted_ensemble"
    auc, rmse = get_metric("roc_auc", "binary"), get_metric("rmse", "regression")
    assert keep_stack(0.80, 0.81, auc) and not keep_stack(0.80, 0.79, auc)
    assert keep_stack(2.0, 1.9, rmse) and not keep_stack(2.0, 2.0, rmse)


@pytest.mark.timing
def test_best_quality_stacks_checks_on_a_holdout_and_keeps_its_time_limit(ray_session,
                                                                          tmp_path):
    frame = make_binary_frame(n=600, seed=7)
    t0 = time.time()
    # three configurations of two quick families: the second layer then has time to train
    # even beside another test's fit on a 2-core machine (with every family, it did not)
    aml = AutoML(label="target", presets="best_quality", time_limit=60, path=tmp_path,
                 families=["lightgbm", "linear"], max_models=3, verbosity=0).fit(frame)
    elapsed = time.time() - t0
    assert aml.fit_time_s_ <= 60 and elapsed <= 60 + 15, elapsed  # + Ray's start-up
    settings = aml.settings_  # what the preset chose
    assert settings.num_folds == 8 and settings.num_stack_levels == 1
    assert settings.num_bag_sets == 2 and aml.num_folds is None  # the argument is unchanged
    report = aml.stacking_
    assert report["holdout_rows"] == 67 and report["levels_trained"] == 2, report
    scores = report["holdout_scores"]
    assert set(scores) == {"weighted_ensemble", "weighted_ensemble_L2"}, report
    # the trials' stored holdout predictions score the same as predicting the rows anew
    held = frame.iloc[np.flatnonzero(holdout_rows(aml.problem_.encode(frame["target"]), True,
                                                  0))]
    for name, value in scores.items():
        assert aml.score(held, model=name) == pytest.approx(value, abs=1e-9)
    expected = ("weighted_ensemble_L2" if keep_stack(scores["weighted_ensemble"],
                                                     scores["weighted_ensemble_L2"],
                                                     get_metric("roc_auc", "binary"))
                else "weighted_ensemble")
    assert report["final_model"] == expected == aml.best_model_
    board = aml.leaderboard(make_binary_frame(n=300, seed=8))
    assert (board.stack_level == 2).any() and board.score_test.notna().any()


def _settings(**kwargs):
    return resolve_settings(AutoML(label="y", **kwargs).get_params())


def test_presets_fill_only_what_is_left_unset():
    fast = _settings(presets="fast")
    assert (fast.num_folds, fast.num_stack_levels, [f.name for f in fast.families]) == (
        3, 0, ["lightgbm", "xgboost", "linear"])
    best = _settings(presets="best_quality", num_folds=4, num_stack_levels=2)
    assert (best.num_folds, best.num_stack_levels, best.dynamic_stacking) == (4, 2, True)
    plain = _settings()
    assert (plain.num_folds, plain.num_stack_levels, plain.num_bag_sets) == (5, 0, 1)


@pytest.mark.parametrize("kwargs,message", [
    ({"presets": "best"}, r"presets='best' is invalid; choose one of: fast, medium_quality"),
    ({"num_stack_levels": 4}, r"num_stack_levels=4 is invalid"),
    ({"num_bag_sets": 0}, r"num_bag_sets=0 is invalid"),
    ({"dynamic_stacking": "yes"}, r"dynamic_stacking='yes' is invalid; give True or False"),
])
def test_bad_stacking_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        _settings(**kwargs)
