"""AutoML(callbacks=[...]): the user's Ray Tune callbacks see every trial of the fit, and
Tune's MLflowLoggerCallback writes each trial's config, score and fit time to a real local
MLflow file store (mlflow-skinny, from the dev extra)."""

import numpy as np
import pytest
from ray.tune import Callback

from raymlx import AutoML
from raymlx.errors import InputError
from raymlx.tabular.engine.ledger import load_fit_state


class Recorder(Callback):
    """Keeps every finished trial's config and last result (it runs on the driver)."""

    def __init__(self) -> None:
        self.finished: list[tuple[dict, dict]] = []

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.finished.append((trial.config["model"], dict(trial.last_result)))


def _trials(aml):
    board = aml.leaderboard()
    return board[~board.model.str.startswith("weighted_ensemble")]


def test_a_callback_sees_every_trial_with_its_config_and_score(ray_session, binary_frame,
                                                                tmp_path):
    recorder = Recorder()
    aml = AutoML(label="target", families=["lightgbm", "linear"], max_models=3, num_folds=2,
                 path=tmp_path, verbosity=0, callbacks=[recorder]).fit(binary_frame)
    trials = _trials(aml)
    assert len(recorder.finished) == len(trials) == 3
    assert sorted(m["family"] for m, _ in recorder.finished) == sorted(trials.family)
    np.testing.assert_allclose(sorted(r["score"] for _, r in recorder.finished),
                               sorted(trials.score_val), rtol=1e-12)
    state, _ = load_fit_state(aml.experiment_path_)
    assert isinstance(state["params"]["callbacks"][0], Recorder)  # resume calls it too
    loaded = AutoML.load(aml.save(tmp_path / "pred"))
    assert loaded.get_params()["callbacks"] is None  # a predictor carries no tracker


def test_mlflow_gets_every_trials_config_score_and_fit_time(ray_session, binary_frame,
                                                            tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    # MLflow 3 keeps its file store behind this switch (the SQL stores need the full mlflow)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = f"file://{tmp_path / 'mlruns'}"
    logger = MLflowLoggerCallback(tracking_uri=uri, experiment_name="raymlx-test",
                                  save_artifact=False)
    aml = AutoML(label="target", families=["lightgbm", "linear"], max_models=3, num_folds=2,
                 path=tmp_path / "runs", verbosity=0, callbacks=[logger]).fit(binary_frame)
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("raymlx-test")
    runs = client.search_runs([experiment.experiment_id])
    trials = _trials(aml)
    assert len(runs) == len(trials) == 3
    assert all(r.info.status == "FINISHED" for r in runs)
    assert sorted(r.data.params["model/family"] for r in runs) == sorted(trials.family)
    np.testing.assert_allclose(sorted(r.data.metrics["score"] for r in runs),
                               sorted(trials.score_val), rtol=1e-9)
    np.testing.assert_allclose(sorted(r.data.metrics["fit_time_s"] for r in runs),
                               sorted(trials.fit_time_s), rtol=1e-9)


@pytest.mark.parametrize("bad", [Recorder(), ["not a callback"], [Recorder, Recorder()]])
def test_callbacks_that_are_not_tune_callbacks_are_one_line(binary_frame, bad):
    with pytest.raises(InputError, match="callbacks must be a list of ray.tune.Callback"):
        AutoML(label="target", callbacks=bad).fit(binary_frame)
