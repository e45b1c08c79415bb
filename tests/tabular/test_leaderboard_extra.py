"""leaderboard(extra_info=True) and `raymlx leaderboard --extra`, on the bundled predictor
(no Ray): fit order, dependencies, sizes on disk and per-row predict time."""

from pathlib import Path

import numpy as np
import pandas as pd

from raymlx import AutoML
from raymlx.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


def test_extra_columns_say_order_dependencies_sizes_and_row_time(tmp_path):
    aml = AutoML.load(AutoML.load(DATA / "predictor_v1").save(tmp_path / "pred"))
    board = aml.leaderboard(extra_info=True).set_index("model")
    records = aml.models_.records
    assert sorted(board.fit_order) == list(range(1, len(records) + 1))
    assert list(board.loc[list(records)].fit_order) == list(range(1, len(records) + 1))
    for name, rec in records.items():
        assert board.loc[name, "depends_on"] == [*rec.weights, *rec.inputs]
    bagged = [n for n, r in records.items() if r.ok and not r.weights]
    assert all(board.loc[n, "size_bytes"] == (tmp_path / "pred" / "models" / n
                                              / "fold_models.pkl").stat().st_size
               for n in bagged)
    top = aml.best_model_
    reads = {m for m in aml.models_.records if m != top}  # the stack reads every model below
    needed = set()

    def walk(n):
        for m in board.loc[n, "depends_on"]:
            if m not in needed:
                needed.add(m)
                walk(m)

    walk(top)
    assert needed <= reads
    assert board.loc[top, "size_with_dependencies_bytes"] == board.loc[
        top, "size_bytes"] + sum(board.loc[m, "size_bytes"] for m in needed)
    assert board.predict_s_per_row.isna().all()  # nothing measured it without test rows
    rows = pd.read_csv(DATA / "predictor_v1_rows.csv")
    test = rows.assign(target=aml.predict(rows).to_numpy())
    timed = aml.leaderboard(test, extra_info=True).set_index("model")
    ok = timed.error.isna()
    np.testing.assert_allclose(timed.predict_s_per_row[ok],
                               timed.predict_time_s[ok] / len(test))
    assert (timed.predict_s_per_row[ok] > 0).all()


def test_the_command_line_shows_the_extra_columns(capsys):
    assert main(["leaderboard", str(DATA / "predictor_v1"), "--extra"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert {"fit_order", "depends_on", "size_bytes", "predict_s_per_row"} <= set(header)
    assert "weighted_ensemble" in out
