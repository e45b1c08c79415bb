"""Calibration's defining properties: the temperature never worsens the log loss it was
fitted on (and fixes a known over- or under-confidence), and the decision threshold is the
exact maximiser of its metric over every threshold."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from raymlx.tabular.ensembles.calibration import (
    THRESHOLD_METRICS,
    Calibration,
    best_threshold,
    corrections,
    fit_calibration,
    fit_temperature,
    temper,
)

SKLEARN = {"accuracy": skm.accuracy_score, "balanced_accuracy": skm.balanced_accuracy_score,
           "f1": skm.f1_score, "mcc": skm.matthews_corrcoef}


def _proba(seed: int, n: int, k: int, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose true probabilities are softmax(z); returned at 1/sharpness of their
    confidence (sharpness > 1: over-confident)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2
    true = temper(np.exp(z) / np.exp(z).sum(1, keepdims=True), 1.0)
    y = np.array([rng.choice(k, p=p) for p in true])
    return temper(true, 1 / sharpness), y


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 300), k=st.integers(2, 6),
       sharpness=st.floats(0.2, 5.0))
def test_the_temperature_never_worsens_the_log_loss(seed, n, k, sharpness):
    proba, y = _proba(seed, n, k, sharpness)
    t, before, after = fit_temperature(proba, y)
    assert after <= before + 1e-12
    assert before == pytest.approx(skm.log_loss(y, proba, labels=np.arange(k)), rel=1e-9)
    assert after == pytest.approx(skm.log_loss(y, temper(proba, t), labels=np.arange(k)),
                                  rel=1e-6, abs=1e-9)
    # the ranking of the classes in each row is kept: no label changes
    np.testing.assert_array_equal(temper(proba, t).argmax(1), proba.argmax(1))


@pytest.mark.parametrize("sharpness", [0.4, 3.0])
def test_the_temperature_undoes_a_known_miscalibration(sharpness):
    proba, y = _proba(0, 4000, 4, sharpness)
    t, before, after = fit_temperature(proba, y)
    assert t == pytest.approx(sharpness, rel=0.15)  # T = sharpness gives the true ones
    assert after < before - 0.01


def test_binary_temperature_is_a_scaled_logit():
    p1 = np.array([0.1, 0.5, 0.8, 0.99])
    out = temper(np.column_stack([1 - p1, p1]), 2.0)[:, 1]
    logit = np.log(p1 / (1 - p1))
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-logit / 2.0)))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(p1=st.lists(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.50001, 0.7, 0.9, 1.0])
                   | st.floats(0, 1), min_size=1, max_size=60),
       flips=st.lists(st.booleans(), min_size=60, max_size=60),
       metric=st.sampled_from(THRESHOLD_METRICS))
def test_the_threshold_maximises_the_metric_over_every_threshold(p1, flips, metric):
    p1 = np.array(p1)
    y = np.array([int((p > 0.5) != f) for p, f in zip(p1, flips)])
    t, score = best_threshold(p1, y, metric)
    func = SKLEARN[metric]

    def at(cut):
        pred = (p1 >= cut).astype(int)
        if metric == "f1" and pred.sum() + y.sum() == 0:
            return 0.0
        with np.errstate(all="ignore"):
            return float(func(y, pred))

    assert at(t) == pytest.approx(score, abs=1e-9)  # the score it reports is the real one
    candidates = np.unique(np.concatenate([p1, np.linspace(-0.01, 1.01, 103)]))
    assert score >= max(at(c) for c in candidates) - 1e-9


def test_the_threshold_beats_argmax_on_imbalanced_scores():
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.15).astype(int)
    p1 = np.clip(0.08 + 0.25 * y + rng.normal(0, 0.12, len(y)), 0, 1)  # never above 0.5 much
    cal, report = fit_calibration(np.column_stack([1 - p1, p1]), y, "f1", False, True)
    assert report["score_at_threshold"] > report["score_at_argmax"] + 0.2
    assert cal.threshold is not None and cal.threshold < 0.5
    labels = cal.decide(np.column_stack([1 - p1, p1]))
    assert skm.f1_score(y, labels) == pytest.approx(report["score_at_threshold"])


def test_which_corrections_each_setting_fits():
    assert corrections("auto", "log_loss", "multiclass") == (True, False)
    assert corrections("auto", "roc_auc", "binary") == (False, False)
    assert corrections("auto", "accuracy", "binary") == (False, True)
    assert corrections("auto", "accuracy", "multiclass") == (False, False)
    assert corrections(True, "roc_auc", "binary") == (True, False)
    assert corrections(False, "log_loss", "binary") == (False, False)
    assert corrections(True, "rmse", "regression") == (False, False)


def test_no_calibration_changes_nothing():
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    cal = Calibration()
    np.testing.assert_array_equal(cal.apply(proba), proba)
    np.testing.assert_array_equal(cal.decide(proba), [1, 0])
