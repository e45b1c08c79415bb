import numpy as np
import pytest

from raymlx import InputError
from raymlx.tabular.metrics import DEFAULT_METRIC, get_metric


def test_defaults_follow_the_problem_type():
    assert DEFAULT_METRIC == {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
    assert get_metric(None, "binary").name == "roc_auc"


def test_scores_use_probabilities_or_labels_as_the_metric_needs():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])
    assert get_metric("roc_auc", "binary").score(y, proba, "binary") == pytest.approx(0.75)
    assert get_metric("accuracy", "binary").score(y, proba, "binary") == pytest.approx(0.75)
    ll = get_metric("log_loss", "binary").score(y, proba, "binary")
    assert ll == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.8, 0.3])))


def test_direction_and_comparison():
    rmse, r2 = get_metric("rmse", "regression"), get_metric("r2", "regression")
    assert rmse.mode == "min" and rmse.better(0.1, 0.2) and not rmse.better(np.nan, 0.2)
    assert r2.mode == "max" and r2.better(0.9, 0.5)


def test_rmsle_clips_negative_predictions_at_zero():
    m = get_metric("rmsle", "regression")
    assert m.score(np.array([0.0, 1.0]), np.array([-0.5, 1.0]), "regression") == 0.0


def test_unknown_metric_is_one_clear_line():
    with pytest.raises(InputError, match="unknown metric 'bogus'; choose one of: accuracy"):
        get_metric("bogus", "binary")


def test_metric_of_the_wrong_problem_is_refused():
    with pytest.raises(InputError, match="does not apply to a regression problem"):
        get_metric("roc_auc", "regression")
