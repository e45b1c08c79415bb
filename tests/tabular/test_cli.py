"""The `raymlx` command line: fit, predict, leaderboard, and one-line errors."""

import pandas as pd
import pytest

from raymlx.cli import main
from tests.conftest import make_binary_frame


@pytest.fixture(scope="module")
def saved(ray_session, tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    train = root / "train.csv"
    make_binary_frame(n=300).to_csv(train, index=False)
    make_binary_frame(n=100, seed=7).to_csv(root / "test.csv", index=False)
    code = main(["fit", str(train), "--label", "target", "--output", str(root / "pred"),
                 "--max-models", "3", "--families", "lightgbm,linear,knn",
                 "--num-folds", "3", "--num-stack-levels", "1", "--dynamic-stacking", "off",
                 "--path", str(root / "runs"), "--quiet"])
    assert code == 0
    return root


def test_fit_saves_a_predictor_and_prints_the_leaderboard(saved, capsys):
    assert (saved / "pred" / "manifest.json").is_file()


def test_predict_writes_labels_and_one_probability_column_per_class(saved, capsys):
    out = saved / "predictions.csv"
    assert main(["predict", str(saved / "pred"), str(saved / "test.csv"),
                 "--output", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["prediction", "no", "yes"] and len(pred) == 100
    assert set(pred.prediction) <= {"yes", "no"}
    assert (pred[["no", "yes"]].sum(axis=1) - 1).abs().max() < 1e-9


def test_leaderboard_with_test_data(saved, capsys):
    capsys.readouterr()
    assert main(["leaderboard", str(saved / "pred"), "--test", str(saved / "test.csv")]) == 0
    text = capsys.readouterr().out
    assert "score_test" in text and "weighted_ensemble" in text and "lightgbm_1" in text
    assert "weighted_ensemble_L2" in text and "lightgbm_1_L2" in text  # the stacking layer


def test_errors_are_one_line_with_exit_status_2(tmp_path, capsys):
    code = main(["fit", str(tmp_path / "nope.csv"), "--label", "y", "--output",
                 str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("raymlx: error: the training table file")
    assert len(err.splitlines()) == 1
    code = main(["leaderboard", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not a raymlx predictor folder" in err
