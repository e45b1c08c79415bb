"""Outside code plugged into AutoML: a model family of the user's (by instance, by
registered name, defined in the user's own script), a Tune searcher instance and a Tune
scheduler instance."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from ray.tune.schedulers import ASHAScheduler as TuneASHA
from ray.tune.search.hyperopt import HyperOptSearch

from raymlx import AutoML
from raymlx.tabular.models.base import FoldEstimator, ModelFamily
from raymlx.tabular.models.sklearn import LinearEstimator

REPO = Path(__file__).resolve().parents[2]


class ClassPrior(FoldEstimator):
    """Predicts the training class frequencies (a deliberately weak, recognisable model)."""

    def _fit(self, X, y, X_val, y_val, deadline):
        self.prior_ = np.bincount(y, minlength=self.n_fit_classes) / len(y)

    def _predict(self, X):
        return np.tile(self.prior_, (len(X), 1))


class ClassPriorFamily(ModelFamily):
    name = "class_prior"
    estimator = ClassPrior
    applies_to = ("binary", "multiclass")

    def search_space(self):
        return {}


def test_a_user_family_instance_is_searched_beside_built_in_ones(ray_session, binary_frame,
                                                                 tmp_path):
    aml = AutoML(label="target", families=[ClassPriorFamily(), "linear"], path=tmp_path,
                 verbosity=0).fit(binary_frame)
    board = aml.leaderboard().set_index("model")
    assert {"class_prior_1", "linear_1"} <= set(board.index)
    # a constant per fold: an AUC near chance
    assert board.loc["class_prior_1", "score_val"] == pytest.approx(0.5, abs=0.06)
    assert board.loc["linear_1", "score_val"] > 0.75
    proba = aml.predict_proba(binary_frame.head(5), model="class_prior_1")
    expected = binary_frame["target"].value_counts(normalize=True)
    np.testing.assert_allclose(proba.iloc[0].to_numpy(), expected[["no", "yes"]], atol=0.02)
    loaded = AutoML.load(aml.save(tmp_path / "saved"))
    assert loaded.predict(binary_frame.head(5)).tolist() == aml.predict(
        binary_frame.head(5)).tolist()


SCRIPT = '''
import sys
import numpy as np
import pandas as pd
from raymlx import AutoML, register_family
from raymlx.tabular import FoldEstimator, ModelFamily

class Median(FoldEstimator):  # lives in this script's __main__ only
    def _fit(self, X, y, X_val, y_val, deadline):
        self.value_ = float(np.median(y))
    def _predict(self, X):
        return np.full(len(X), self.value_)

class MedianFamily(ModelFamily):
    name = "median"
    estimator = Median
    applies_to = ("regression",)
    def search_space(self):
        return {}

register_family(MedianFamily())
rng = np.random.default_rng(0)
frame = pd.DataFrame({"x": rng.normal(size=120), "y": rng.normal(size=120) + 3})
aml = AutoML(label="y", families=["median"], path=sys.argv[1], verbosity=0).fit(frame)
aml.save(sys.argv[2])
print("median", aml.predict(frame.head(1)).iloc[0])
'''


def test_a_family_defined_in_the_users_script_runs_saves_and_loads_elsewhere(tmp_path):
    script = tmp_path / "fit_median.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {"RAY_AUTH_MODE": "disabled", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "runs"),
                           str(tmp_path / "saved")], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    fitted = float(done.stdout.split()[-1])
    # a new process without the script's classes loads and predicts the same value
    again = subprocess.run([sys.executable, "-c",
                            "import sys, pandas as pd; from raymlx import AutoML; "
                            "aml = AutoML.load(sys.argv[1]); "
                            "print(aml.predict(pd.DataFrame({'x': [0.0]})).iloc[0])",
                            str(tmp_path / "saved")], capture_output=True, text=True,
                           env=env, timeout=120, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert float(again.stdout.split()[-1]) == pytest.approx(fitted)


test_a_family_defined_in_the_users_script_runs_saves_and_loads_elsewhere = pytest.mark.ray(
    test_a_family_defined_in_the_users_script_runs_saves_and_loads_elsewhere)


def test_a_tune_searcher_instance_runs_after_the_portfolio_and_is_not_changed(
        ray_session, binary_frame, tmp_path):
    mine = HyperOptSearch(random_state_seed=0, n_initial_points=2)
    aml = AutoML(label="target", families=["linear", "knn"], max_models=6, searcher=mine,
                 path=tmp_path, verbosity=0).fit(binary_frame)
    trials = aml.leaderboard().query("family != 'ensemble'")
    assert len(trials) == 6 and trials.error.isna().all()
    portfolio = [{"n_neighbors": 10, "weights": "distance", "p": 2}, {"C": 1.0, "alpha": 1.0}]
    assert sum(c not in portfolio for c in trials.config) == 4  # then 4 from hyperopt
    # the fit ran a copy: the instance given has no space and no trials of its own
    assert getattr(mine, "_space", None) is None and not hasattr(mine, "_hpopt_trials")


def test_a_tune_scheduler_instance_stops_poor_configurations(ray_session, binary_frame,
                                                             tmp_path):
    good = [{"C": 1.0, "alpha": 1.0}] * 3
    poor = [{"C": 1e-6, "alpha": 1.0}] * 6
    mine = TuneASHA(time_attr="folds_done", max_t=5, grace_period=1, reduction_factor=3)
    aml = AutoML(label="target", metric="log_loss", families=["linear"], num_folds=5,
                 hyperparameters={"linear": good + poor}, max_models=9, scheduler=mine,
                 path=tmp_path, verbosity=0).fit(binary_frame)
    trials = aml.leaderboard().query("family != 'ensemble'")
    stopped = trials[trials.error.fillna("").str.startswith(
        "stopped by AsyncHyperBandScheduler after")]
    assert len(stopped) >= 3 and all(c["C"] == 1e-6 for c in stopped.config)


def test_a_family_replacing_a_built_in_name_is_the_one_the_trials_use(ray_session,
                                                                      binary_frame, tmp_path):
    class StrongRidge(LinearEstimator):
        def _fit(self, X, y, X_val, y_val, deadline):
            self.params = {**self.params, "C": 1e-6}  # all but constant
            super()._fit(X, y, X_val, y_val, deadline)

    class MyLinear(ModelFamily):
        name = "linear"
        estimator = StrongRidge
        portfolio = ({"C": 1.0},)

        def search_space(self):
            return {}

    aml = AutoML(label="target", families=[MyLinear()], path=tmp_path, verbosity=0,
                 metric="log_loss").fit(binary_frame)
    # the user's near-constant model, not the built-in linear one (log loss about 0.45 here)
    assert aml.leaderboard().set_index("model").loc["linear_1", "score_val"] > 0.6
