"""``infer_limit``: the final model is the first candidate (the fit's final model, pruned
ensembles, single models) whose measured per-row latency is under the limit; the
leaderboard shows what was measured."""

import numpy as np
import pandas as pd
import pytest

from raymlx import AutoML, InputError
from raymlx.tabular.engine.infer_limit import PRUNED, choose_within_limit
from raymlx.tabular.engine.refit import fit_folder_inputs


@pytest.fixture(scope="module")
def fitted(ray_session, tmp_path_factory):
    """A generous limit: the fit's own final ensemble is kept, and timed."""
    from tests.conftest import make_binary_frame

    aml = AutoML(label="target", families=["lightgbm", "linear", "knn"], max_models=5,
                 num_folds=3, path=tmp_path_factory.mktemp("infer"), verbosity=0,
                 infer_limit=10.0, infer_limit_batch_size=2000).fit(make_binary_frame(600, 1))
    inputs, _ = fit_folder_inputs(aml.experiment_path_)
    return aml, inputs


def test_a_generous_limit_keeps_the_final_model_and_shows_its_latency(fitted):
    aml, inputs = fitted
    assert inputs.latency_rows is not None and len(inputs.latency_rows) == 2000
    board = aml.leaderboard()
    assert "infer_s_per_row" in board.columns
    best = board.set_index("model").loc[aml.best_model_]
    assert aml.models_.records[aml.best_model_].weights  # the ensemble, not pruned
    assert 0 < best.infer_s_per_row < 10.0 and "chosen by infer_limit" in best.note


def test_a_tight_limit_prunes_or_falls_back_to_a_faster_model(fitted):
    aml, inputs = fitted
    final = aml.best_model_
    assert len(aml.models_.records[final].weights) >= 3  # something to prune
    full_latency = aml.models_.records[final].infer_s_per_row
    limit = full_latency * 0.6
    chosen = choose_within_limit(aml, inputs, limit)
    rec = aml.models_.records[chosen]
    assert chosen != final and aml.best_model_ == chosen
    assert rec.infer_s_per_row <= limit or "none met" in rec.note
    pruned = [r for n, r in aml.models_.records.items() if n.startswith(PRUNED)]
    assert pruned, "the ensemble over the limit was pruned first"
    assert "chosen by infer_limit" not in (aml.models_.records[final].note or "")
    original = set(aml.models_.records[final].weights)
    for p in pruned:  # members only ever leave, and the weights stay a distribution
        assert set(p.weights) < original and np.isclose(sum(p.weights.values()), 1.0)
        assert not np.isnan(p.score_val)
    assert aml.predict(inputs.latency_rows.iloc[:5]).shape == (5,)


def test_an_unreachable_limit_keeps_the_fastest_and_says_so(fitted):
    aml, inputs = fitted
    chosen = choose_within_limit(aml, inputs, 1e-12)
    timed = {n: r.infer_s_per_row for n, r in aml.models_.records.items()
             if not np.isnan(r.infer_s_per_row)}
    assert chosen == min(timed, key=timed.get)
    assert "none met infer_limit" in aml.models_.records[chosen].note


def test_bad_limits_get_one_line():
    tiny = pd.DataFrame({"x": [1, 2], "y": [0, 1]})
    with pytest.raises(InputError, match="infer_limit"):
        AutoML(label="y", infer_limit=0).fit(tiny)
    with pytest.raises(InputError, match="infer_limit_batch_size"):
        AutoML(label="y", infer_limit=0.1, infer_limit_batch_size=0).fit(tiny)
