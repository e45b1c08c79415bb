"""The family and the searcher of my_extensions.py pass raymlx's conformance suites, and
AutoML uses them (``pytest examples/extending``)."""

import my_extensions
import pandas as pd
import pytest
import ray.cloudpickle
from my_extensions import HistGradientBoosting, SobolSearch

from raymlx import AutoML
from raymlx.testing import FamilyTestCase, SearcherTestCase

# This folder is on this test process's path but not on the Ray workers' (they started
# before conftest.py added it): ship the module's classes by value, as Ray advises for code
# the cluster does not have (or use runtime_env={"py_modules": [...]}).
ray.cloudpickle.register_pickle_by_value(my_extensions)


class TestHistGradientBoosting(FamilyTestCase):
    family = HistGradientBoosting()
    fast_params = {"max_iter": 100}
    iterative = True


class TestSobolSearch(SearcherTestCase):
    def make_searcher(self, seed=None, points_to_evaluate=None):
        return SobolSearch(seed=seed, points_to_evaluate=points_to_evaluate)


@pytest.mark.ray
def test_automl_searches_both(ray_running, tmp_path):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame.sample(300, random_state=0)
    aml = AutoML(label="target", families=[HistGradientBoosting(), "linear"],
                 searcher=SobolSearch(seed=0), max_models=5, num_folds=3, path=tmp_path,
                 verbosity=0).fit(data)
    board = aml.leaderboard()
    assert {"hist_gradient_boosting_1", "hist_gradient_boosting_2", "linear_1"} <= set(
        board.model)
    assert board.error.isna().all() and board.score_val.max() > 0.97  # roc_auc
    assert isinstance(aml.predict(data.head(3)), pd.Series)
