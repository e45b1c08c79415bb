"""A fit's calibration: the final model's temperature (log loss) and decision threshold
(binary label metrics) are fitted on its out-of-fold predictions in the store, applied by
``predict_proba`` and ``predict``, scored on the leaderboard, kept by save/load, and turned
off by ``calibrate=False``."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from raymlx import AutoML, InputError
from raymlx.tabular.ensembles.calibration import temper


def _multiclass(n=900, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    logits = np.column_stack([2 * X[:, 0], 2 * X[:, 1], X[:, 0] + X[:, 1] + X[:, 2]])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(["a", "b", "c"], p=q) for q in p])
    return pd.DataFrame(X, columns=list("pqrs")).assign(y=y)


def _imbalanced(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logit = -2.6 + 1.2 * X[:, 0] + 0.6 * X[:, 1]
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "pos", "neg")
    return pd.DataFrame(X, columns=list("abc")).assign(y=y)


@pytest.fixture(scope="module")
def multiclass(ray_session, tmp_path_factory):
    aml = AutoML(label="y", families=["lightgbm", "linear"], max_models=3, num_folds=3,
                 path=tmp_path_factory.mktemp("cal"), verbosity=0).fit(_multiclass())
    return aml


def test_the_final_models_temperature_lowers_its_out_of_fold_log_loss(multiclass):
    aml = multiclass
    report = aml.calibration_
    assert report["model"] == aml.best_model_ and report["rows"] == 900
    assert report["log_loss_after"] <= report["log_loss_before"]
    rec = aml.models_.records[aml.best_model_]
    assert rec.calibration.temperature == pytest.approx(report["temperature"])
    assert rec.score_val == pytest.approx(report["log_loss_after"])
    assert "calibrated: temperature" in aml.leaderboard().set_index("model").loc[
        aml.best_model_, "note"]


def test_predict_proba_applies_the_temperature_and_labels_do_not_move(multiclass, tmp_path):
    aml = multiclass
    frame = _multiclass(200, seed=5).drop(columns="y")
    X = aml.preprocessor_.transform(frame)
    raw = aml.models_._raw(X, aml.best_model_, {})
    t = aml.models_.records[aml.best_model_].calibration.temperature
    proba = aml.predict_proba(frame)
    np.testing.assert_allclose(proba.to_numpy(), temper(raw, t), rtol=1e-6)
    assert (aml.predict(frame).to_numpy() == np.array(["a", "b", "c"])[raw.argmax(1)]).all()
    again = AutoML.load(aml.save(tmp_path / "p"))
    np.testing.assert_allclose(again.predict_proba(frame).to_numpy(), proba.to_numpy())
    assert again.calibration_ == aml.calibration_


def test_a_binary_fit_on_f1_predicts_with_its_threshold(ray_session, tmp_path):
    train, test = _imbalanced(1200, 0), _imbalanced(800, 1)
    aml = AutoML(label="y", metric="f1", families=["lightgbm", "linear"], max_models=2,
                 num_folds=3, path=tmp_path, verbosity=0).fit(train)
    report = aml.calibration_
    assert report["score_at_threshold"] >= report["score_at_argmax"]
    cut = aml.models_.records[aml.best_model_].calibration.threshold
    assert cut is not None and report["threshold"] == cut
    p1 = aml.predict_proba(test)["pos"].to_numpy()
    labels = aml.predict(test).to_numpy()
    np.testing.assert_array_equal(labels == "pos", p1 >= cut)
    f1 = f1_score(test["y"] == "pos", labels == "pos")
    assert aml.score(test) == pytest.approx(f1)
    board = aml.leaderboard(test).set_index("model")
    assert board.loc[aml.best_model_, "score_test"] == pytest.approx(f1)


def test_calibrate_false_fits_nothing_and_bad_values_are_refused(ray_session, tmp_path):
    aml = AutoML(label="y", families=["linear"], max_models=1, num_folds=2, path=tmp_path,
                 verbosity=0, calibrate=False).fit(_multiclass(300))
    assert aml.calibration_ is None
    assert aml.models_.records[aml.best_model_].calibration is None
    with pytest.raises(InputError, match="calibrate"):
        AutoML(label="y", calibrate="yes").fit(_multiclass(50))
