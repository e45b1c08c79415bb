"""The selection-overfitting guard: an ensemble is final only when it beats the best single
model by more than the paired bootstrap noise of their out-of-fold scores (computed in a
real store actor)."""

import numpy as np
import pytest
import ray

from raymlx.tabular.engine.final_model import check_ensemble
from raymlx.tabular.engine.oof_store import OutOfFoldStore
from raymlx.tabular.predictor import ModelRecord, ModelSet
from raymlx.tabular.problem import Problem


def _models(store, y, a, b, weights):
    problem = Problem("binary", classes=(0, 1), n_features=1, metric="log_loss")
    ray.get([store.put.remote("ta", a), store.put.remote("tb", b)])
    recs = [ModelRecord("m_a", "x", {}, score_val=0.1, models_path="a", trial_id="ta"),
            ModelRecord("m_b", "x", {}, score_val=0.2, models_path="b", trial_id="tb"),
            ModelRecord("ens", "ensemble", {}, score_val=0.05, weights=weights)]
    return ModelSet(problem, recs)


def _proba(p1):
    return np.column_stack([1 - p1, p1])


@pytest.fixture
def store(ray_session):
    actor = OutOfFoldStore.remote()
    yield actor
    ray.kill(actor)


def test_a_gain_inside_the_noise_leaves_the_best_single_model_final(store):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    base = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.2, 400), 0.02, 0.98)
    twin = np.clip(base + rng.normal(0, 0.01, 400), 0.02, 0.98)  # nearly the same model
    models = _models(store, y, _proba(base), _proba(twin), {"m_a": 0.5, "m_b": 0.5})
    report = {"final_model": "ens", "reason": "no stacking"}
    check_ensemble(models, report, store, y)
    check = report["ensemble_check"]
    assert check["best_single"] == "m_a" and not check["kept"]
    assert check["difference"] <= check["noise_sd"]  # ENSEMBLE_NOISE = 1
    assert report["final_model"] == "m_a" and "out-of-fold noise" in report["reason"]


def test_a_real_gain_keeps_the_ensemble(store):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    signal = 2 * y - 1
    a = 1 / (1 + np.exp(-(signal + rng.normal(0, 1.2, 2000))))  # two models with
    b = 1 / (1 + np.exp(-(signal + rng.normal(0, 1.2, 2000))))  # independent errors
    models = _models(store, y, _proba(a), _proba(b), {"m_a": 0.5, "m_b": 0.5})
    report = {"final_model": "ens", "reason": "no stacking"}
    check_ensemble(models, report, store, y)
    assert report["ensemble_check"]["kept"] and report["final_model"] == "ens"
    assert report["ensemble_check"]["difference"] > 3 * report["ensemble_check"]["noise_sd"]
