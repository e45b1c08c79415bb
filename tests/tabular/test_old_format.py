"""Predictors saved by the flat layout (format 1) still load and predict the same, and a
loaded predictor predicts without importing Ray Tune."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from raymlx import AutoML
from raymlx.tabular.problem import Problem

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = DATA.parents[1]


def test_a_format_1_predictor_loads_and_predicts_as_it_did():
    folder = DATA / "predictor_v1"
    assert json.loads((folder / "manifest.json").read_text())["format_version"] == 1
    assert b"raymlx.data" in (folder / "predictor.pkl").read_bytes()  # the old modules
    aml = AutoML.load(folder)
    rows = pd.read_csv(DATA / "predictor_v1_rows.csv")
    expected = pd.read_csv(DATA / "predictor_v1_proba.csv")
    got = aml.predict_proba(rows)
    assert list(got.columns) == ["no", "yes"]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    assert isinstance(aml.problem_, Problem) and aml.problem_.classes == ("no", "yes")
    assert aml.problem_.label == "target" and aml.problem_.metric == "roc_auc"
    assert aml.problem_.n_features == len(aml.preprocessor_.feature_names_)
    board = aml.leaderboard()
    assert {"weighted_ensemble", "weighted_ensemble_L2", "lightgbm_1_L2"} <= set(board.model)
    assert set(aml.predict(rows)) <= {"no", "yes"}


def test_a_format_1_predictor_saved_again_is_format_2(tmp_path):
    aml = AutoML.load(DATA / "predictor_v1")
    again = AutoML.load(aml.save(tmp_path / "again"))
    assert json.loads((tmp_path / "again" / "manifest.json").read_text())["format_version"] == 2
    rows = pd.read_csv(DATA / "predictor_v1_rows.csv")
    pd.testing.assert_frame_equal(again.predict_proba(rows), aml.predict_proba(rows))


def test_old_import_paths_are_the_new_modules_with_a_warning():
    import raymlx.tabular.metrics
    import raymlx.tabular.models.lightgbm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from raymlx.metrics import METRICS
        from raymlx.models.lightgbm import LightGBMEstimator
    assert METRICS is raymlx.tabular.metrics.METRICS
    assert LightGBMEstimator is raymlx.tabular.models.lightgbm.LightGBMEstimator
    assert any("raymlx.metrics moved to raymlx.tabular.metrics" in str(w.message)
               for w in caught)


def test_loading_and_predicting_imports_no_ray_tune():
    code = ("import sys, pandas as pd\n"
            "from raymlx import AutoML\n"
            f"aml = AutoML.load({str(DATA / 'predictor_v1')!r})\n"
            f"aml.predict_proba(pd.read_csv({str(DATA / 'predictor_v1_rows.csv')!r}))\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout  # not even Ray itself
