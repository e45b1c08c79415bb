"""Explanations of predictors fitted here (Ray): a regression ensemble of a booster and a
forest, whose contributions add up to its predictions, with a datetime column summed back
into one column; and a multiclass fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML

pytestmark = pytest.mark.usefixtures("ray_session")


def regression_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "shop": rng.choice(["x", "y", "z"], n), "day": day,
                          "noise": rng.normal(size=n)})
    frame["sales"] = (3 * frame["a"] - frame["b"] ** 2 + (frame["shop"] == "y") * 2
                      + 0.002 * (day - day.min()).days + rng.normal(0, 0.1, n))
    return frame


@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    aml = AutoML(label="sales", families=["lightgbm", "random_forest"], max_models=2,
                 num_folds=3, num_stack_levels=0, seed=0, verbosity=0,
                 path=tmp_path_factory.mktemp("runs"))
    return aml.fit(regression_frame(400, 0))


def test_an_ensembles_contributions_add_up_to_its_predictions(regressor, tmp_path):
    test = regression_frame(120, 1)
    out = regressor.explain(test, kinds=["shap", "residuals", "model_correlation"],
                            plot_dir=tmp_path)
    ensemble = regressor.models_.records[regressor.best_model_]
    assert len(ensemble.weights) == 2  # the booster and the forest, both explained
    c = out.contributions
    assert c.missing == {} and "shap" not in out.notes
    prediction = regressor.predict(test.drop(columns="sales"))
    np.testing.assert_allclose(c.base_value + out["shap"].sum(axis=1), prediction, atol=1e-6)
    assert list(out["shap"].columns) == ["a", "b", "shop", "day", "noise"]  # day: one column
    assert out["shap"]["a"].abs().mean() > out["shap"]["noise"].abs().mean()
    residuals = out["residuals"]
    np.testing.assert_allclose(residuals["residual"], test["sales"] - prediction, atol=1e-9)
    assert out.notes["model_correlation"].endswith("(out-of-fold)")
    assert out["model_correlation"].shape == (2, 2)
    assert {"shap", "residuals", "model_correlation"} <= set(out.plots)


def test_explain_row_ice_uses_the_training_range_without_data(regressor):
    row = regression_frame(1, 5).drop(columns="sales")
    out = regressor.explain_row(row)
    assert out.base_value + out.contributions.sum() == pytest.approx(out.prediction, abs=1e-6)
    a = out.ice[out.ice["feature"] == "a"]
    assert len(a) == 20 and a["value"].min() < -2 and a["value"].max() > 2
    line = a.sort_values("value")["prediction"].to_numpy()
    assert line[-1] - line[0] > 6  # sales rise by 3 per unit of a
    assert "day" not in set(out.ice["feature"])  # dates have no single axis


def test_a_multiclass_explanation_has_a_line_per_class(wine_red, tmp_path):
    # calibrate=False: contributions add up to the model's own probabilities; a fitted
    # temperature is a non-additive transform applied after them
    aml = AutoML(label="quality", families=["lightgbm"], max_models=1, num_folds=2,
                 num_stack_levels=0, seed=0, verbosity=0, path=tmp_path / "runs",
                 calibrate=False)
    aml.fit(wine_red.iloc[:800])
    test = wine_red.iloc[800:1000]
    out = aml.explain(test, kinds=["shap", "pdp", "confusion"], plot_dir=tmp_path / "p",
                      top_features=2)
    classes = list(aml.problem_.classes)
    assert out["shap"].index.names == ["row", "class"]
    total = out.contributions.prediction.unstack("class")[classes]
    np.testing.assert_allclose(total, aml.predict_proba(test.drop(columns="quality")),
                               atol=1e-6)
    assert set(out["pdp"]["class"]) == set(classes)
    assert out["confusion"].to_numpy().sum() == len(test)
    assert {"shap", "pdp", "confusion"} == set(out.plots)
