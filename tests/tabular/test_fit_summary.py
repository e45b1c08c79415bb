"""``AutoML.fit_summary``: what a fit did, printed and plotted, and kept through save/load."""

from __future__ import annotations

import pytest
from matplotlib.image import imread

from raymlx import AutoML
from tests.conftest import make_binary_frame

pytestmark = pytest.mark.usefixtures("ray_session")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    aml = AutoML(label="target", families=["lightgbm", "linear"], max_models=4, num_folds=2,
                 num_stack_levels=0, time_limit=90, seed=0, verbosity=0,
                 path=tmp_path_factory.mktemp("runs"))
    return aml.fit(make_binary_frame(300, 0))


def test_the_summary_accounts_for_every_trial_and_the_time(fitted, tmp_path, capsys):
    s = fitted.fit_summary(plot=tmp_path)
    printed = capsys.readouterr().out
    assert s["problem"] == {"type": "binary", "label": "target", "classes": ["no", "yes"],
                            "metric": "roc_auc", "features": fitted.problem_.n_features}
    assert s["data_path"]["path"] == "memory"
    families = s["trials_per_family"]
    board = s["leaderboard"]
    for fam in ("lightgbm", "linear"):
        assert families[fam]["trials"] == (board["family"] == fam).sum()
        assert families[fam]["best_model"] in set(board["model"])
    assert sum(f["trials"] for f in families.values()) == 4
    phases = s["phase_times_s"]
    assert list(phases)[:3] == ["Ray start-up", "search (layer 1)", "ensemble (layer 1)"]
    assert all(v >= 0 for v in phases.values())
    assert sum(phases.values()) <= s["fit_time_s"] + 0.5 and s["fit_time_s"] <= 90 + 15
    weights = s["ensemble_weights"]
    assert s["best_model"] == fitted.best_model_
    assert not weights or abs(sum(weights.values()) - 1) < 1e-9
    assert f"final model: {fitted.best_model_}" in printed
    assert "trials per family:" in printed and "search (layer 1)" in printed
    for name in ("leaderboard", "search_history", "ensemble_weights"):
        assert s["plots"][name] == tmp_path / f"{name}.png"
        single = name == "ensemble_weights" and not weights  # one bar: a shorter figure
        assert imread(s["plots"][name]).shape[0] > (150 if single else 250)


def test_every_trial_knows_when_it_finished(fitted):
    bagged = [r for r in fitted.models_.records.values() if r.ok and not r.weights]
    assert all(fitted.fit_started_ < r.finished_at < fitted.fit_started_ + 90 for r in bagged)


def test_a_loaded_predictor_keeps_its_summary(fitted, tmp_path):
    loaded = AutoML.load(fitted.save(tmp_path / "p"))
    s = loaded.fit_summary(show=False)
    assert s["phase_times_s"] == fitted.phase_times_
    assert s["trials_per_family"] == fitted.fit_summary(show=False)["trials_per_family"]
