"""``AutoML.explain``, ``explain_row`` and ``raymlx explain`` on a real saved classifier (no
Ray: ``tests/data/predictor_v1``, two LightGBM models, a linear model, a stacking layer and
their ensembles), each kind checked for its defining property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from raymlx import AutoML
from raymlx.cli import main
from raymlx.errors import InputError
from raymlx.tabular.explain.dependence import dependence
from tests.conftest import make_binary_frame
from tests.tabular.test_old_format import DATA

ROWS = make_binary_frame(150, 4)


@pytest.fixture(scope="module")
def aml():
    return AutoML.load(DATA / "predictor_v1")


@pytest.fixture(scope="module")
def everything(aml, tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    return aml.explain(ROWS, plot_dir=folder, n_repeats=4), folder


def test_every_kind_of_a_classifier_is_a_table_and_a_png(everything):
    out, folder = everything
    assert set(out.tables) == {"importance", "pdp", "ice", "confusion", "model_correlation",
                               "importance_heatmap"}
    assert "weighted_ensemble_L2" in out.notes["shap"]  # a stacked ensemble: named, not skipped
    assert set(out.plots) == set(out.tables)
    for kind, path in out.plots.items():
        assert path == folder / f"{kind}.png"
        height, width = imread(path).shape[:2]
        assert height > 300 and width > 400, kind


def test_confusion_counts_every_row_once(aml, everything):
    out, _ = everything
    matrix = out["confusion"]
    assert list(matrix.index) == list(matrix.columns) == ["no", "yes"]
    assert matrix.to_numpy().sum() == len(ROWS)
    predicted = aml.predict(ROWS.drop(columns="target"))
    assert matrix.loc[:, "yes"].sum() == (predicted == "yes").sum()


def test_model_correlation_is_a_correlation_matrix_of_the_bagged_models(everything):
    matrix = everything[0]["model_correlation"]
    assert list(matrix.index) == list(matrix.columns)
    assert set(matrix.index) == {"lightgbm_1", "lightgbm_2", "linear_1"}  # no ensembles
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    assert (matrix.to_numpy() > 0.5).all()  # three models of one signal agree


def test_importance_p_values_tell_a_signal_from_a_column_the_model_drops(everything):
    table = everything[0]["importance"].set_index("feature")
    assert table.index[0] == "x1"
    assert table.loc["x1", "p_value"] < 0.01 and table.loc["x1", "p99_low"] > 0
    assert table.loc["row_id", "importance"] == 0 and table.loc["row_id", "p_value"] == 1
    assert (table["p99_low"] <= table["importance"]).all()
    assert (table["importance"] <= table["p99_high"]).all()


def test_importance_heatmap_has_a_column_per_model(aml, everything):
    heat = everything[0]["importance_heatmap"]
    assert set(heat.index) == set(ROWS.columns) - {"target"}
    assert "weighted_ensemble" in heat.columns and heat.shape[1] == 6
    assert heat.index[0] == "x1" and (heat.loc["row_id"] == 0).all()


def test_partial_dependence_is_flat_for_a_column_the_model_never_reads(aml):
    frame = ROWS.drop(columns="target").head(60)
    pdp, ice = dependence(aml, frame, ["row_id", "x1"])  # row_id: dropped as an identifier
    flat = pdp[pdp["feature"] == "row_id"]["average"]
    assert len(flat) > 5 and np.ptp(flat.to_numpy()) == 0
    per_row = ice[ice["feature"] == "row_id"].groupby("row")["prediction"].agg(np.ptp)
    assert (per_row == 0).all()
    rising = pdp[pdp["feature"] == "x1"].sort_values("value")["average"].to_numpy()
    assert rising[-1] - rising[0] > 0.5  # x1 drives the label up


def test_ice_lines_average_to_the_partial_dependence(everything):
    out, _ = everything
    mean = out["ice"].groupby(["feature", "value"])["prediction"].mean()
    pdp = out["pdp"].set_index(["feature", "value"])["average"]
    np.testing.assert_allclose(mean.loc[pdp.index], pdp, atol=1e-9)


def test_contributions_of_a_booster_add_up_to_its_probabilities(aml, tmp_path):
    out = aml.explain(ROWS, kinds=["shap"], model="lightgbm_1", plot_dir=tmp_path)
    c = out.contributions
    proba = aml.predict_proba(ROWS.drop(columns="target"), model="lightgbm_1")
    for label in ("no", "yes"):
        np.testing.assert_allclose(c.prediction.xs(label, level="class"), proba[label],
                                   atol=1e-6)
    assert list(out["shap"].columns) == list(ROWS.columns.drop("target"))
    assert (out["shap"]["row_id"] == 0).all()  # dropped: contributes nothing
    assert c.missing == {} and (tmp_path / "shap.png").is_file()


def test_contributions_of_a_stacked_ensemble_are_refused_by_name(aml):
    with pytest.raises(InputError, match="weighted_ensemble_L2.*no native contributions"):
        aml.explain(ROWS, kinds=["shap"])


def test_explain_row_adds_up_and_its_ice_passes_through_the_row(aml, tmp_path):
    row = ROWS.drop(columns="target").iloc[3]
    out = aml.explain_row(row, model="lightgbm_1", data=ROWS, plot=tmp_path / "row.png")
    proba = aml.predict_proba(row.to_frame().T.infer_objects(), model="lightgbm_1").iloc[0]
    klass = proba.idxmax()
    assert out.output == f"P(target={klass})"
    assert out.prediction == pytest.approx(proba[klass], abs=1e-9)
    assert out.base_value + out.contributions.sum() == pytest.approx(out.prediction, abs=1e-6)
    assert out.contributions.abs().is_monotonic_decreasing
    own = out.ice[(out.ice["feature"] == "color") & (out.ice["value"] == row["color"])]
    assert own["prediction"].iloc[0] == pytest.approx(out.prediction, abs=1e-9)
    assert (tmp_path / "row.png").is_file()


@pytest.mark.parametrize("call, message", [
    (lambda a: a.explain(ROWS, kinds=["pdq"]), "unknown explanation kind 'pdq'"),
    (lambda a: a.explain(ROWS, kinds=["residuals"]), "residuals are for regression"),
    (lambda a: a.explain(ROWS.drop(columns="target"), kinds=["importance"]),
     "need.* the label column 'target'"),
    (lambda a: a.explain_row(ROWS.head(2)), "explains one row; this frame has 2"),
    (lambda a: a.explain(ROWS, model="nope"), "no model named 'nope'"),
])
def test_bad_requests_are_one_line_errors(aml, call, message):
    with pytest.raises(InputError, match=message) as err:
        call(aml)
    assert "\n" not in str(err.value)


def test_unlabelled_rows_get_the_kinds_that_need_no_label(aml):
    out = aml.explain(ROWS.drop(columns="target"), kinds=None, n_repeats=2)
    assert set(out.tables) == {"pdp", "ice", "model_correlation"}


def test_raymlx_explain_writes_every_table_and_plot(tmp_path, capsys):
    ROWS.to_csv(tmp_path / "rows.csv", index=False)
    code = main(["explain", str(DATA / "predictor_v1"), str(tmp_path / "rows.csv"),
                 "--output", str(tmp_path / "out"), "--kinds", "importance,confusion"])
    printed = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "confusion.csv", "confusion.png", "importance.csv", "importance.png"]
    assert pd.read_csv(tmp_path / "out" / "importance.csv")["feature"].iloc[0] == "x1"
    assert "importance, best first:" in printed and "x1" in printed


def test_integer_columns_get_partial_dependence_and_row_lines(aml):
    """sklearn refuses integer columns in partial_dependence; raymlx varies them as numbers."""
    frame = ROWS.drop(columns="target").head(40).assign(x1=lambda f: (f.x1 * 2).round()
                                                         .astype(int))
    pdp, _ = dependence(aml, frame, ["x1"])
    assert len(pdp) > 5 and pdp["average"].is_monotonic_increasing
    row = {**frame.iloc[0].to_dict(), "x1": 1}
    out = aml.explain_row(row, model="lightgbm_1", data=frame)
    assert "x1" in set(out.ice["feature"])


def test_a_row_predicted_as_the_first_class_gets_that_class_lines(aml):
    X = ROWS.drop(columns="target")
    proba = aml.predict_proba(X, model="lightgbm_1")
    row = X[proba["no"] > 0.8].iloc[0]
    out = aml.explain_row(row, model="lightgbm_1", data=ROWS)
    assert out.output == "P(target=no)"
    own = out.ice[(out.ice["feature"] == "color") & (out.ice["value"] == row["color"])]
    assert set(out.ice["class"]) == {"no"}
    assert own["prediction"].iloc[0] == pytest.approx(out.prediction, abs=1e-9)


def test_a_label_column_without_values_counts_as_unlabelled(aml):
    out = aml.explain(ROWS.assign(target=None), n_repeats=2)
    assert set(out.tables) == {"pdp", "ice", "model_correlation"}
