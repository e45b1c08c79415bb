"""RLSearch: REINFORCE with a moving-average baseline on a softmax policy per decision."""

import numpy as np
import pytest
from ray import tune

from raymlx import InputError
from raymlx.searchers import RLSearch

ARMS = {"arm": tune.choice([0, 1, 2, 3, 4])}


def _searcher(seed=0, **kw):
    s = RLSearch(metric="loss", mode="min", seed=seed, **kw)
    s.set_search_properties("loss", "min", ARMS)
    return s


def test_update_is_the_exact_softmax_score_function_gradient():
    s = _searcher()
    s.suggest("a")
    s.on_trial_complete("a", result={"loss": 1.0})  # first reward only sets the baseline
    assert s.baseline == -1.0 and np.all(s.logits["arm"] == 0)
    s.logits["arm"] = np.array([0.0, 1.0, 0.0, 0.0, -1.0])
    p = s.probabilities("arm", 5)
    s._live["b"] = ({"arm": 1}, {"arm": (1, 5)})
    s.on_trial_complete("b", result={"loss": 0.0})  # reward 0 beats the baseline -1
    advantage = (0.0 - -1.0) / np.sqrt(0.05 * 1.0)
    expected = np.array([0.0, 1.0, 0.0, 0.0, -1.0]) + 0.2 * advantage * (np.eye(5)[1] - p)
    np.testing.assert_allclose(s.logits["arm"], expected)
    assert s.baseline == pytest.approx(0.95 * -1.0 + 0.05 * 0.0)


def test_a_five_armed_bandit_is_solved_within_300_updates():
    solved = 0
    for seed in range(10):
        s = _searcher(seed=seed)
        rng = np.random.default_rng(100 + seed)
        for i in range(300):
            cfg = s.suggest(str(i))
            reward = float(cfg["arm"] == 3) + 0.1 * rng.normal()
            s.on_trial_complete(str(i), result={"loss": -reward})
        solved += s.probabilities("arm", 5)[3] > 0.9
    assert solved >= 9


def test_numeric_domains_are_binned_inside_their_bounds():
    s = RLSearch(metric="loss", mode="min", seed=0, bins=4)
    s.set_search_properties("loss", "min", {"lr": tune.loguniform(1e-4, 1e-1),
                                            "n": tune.randint(1, 5)})
    for i in range(200):
        cfg = s.suggest(str(i))
        assert 1e-4 <= cfg["lr"] <= 1e-1 and cfg["n"] in (1, 2, 3, 4)
        s.on_trial_complete(str(i), result={"loss": np.log10(cfg["lr"])})
    assert s.probabilities("lr", 4)[0] > 0.5  # the lowest bin of lr gives the lowest loss


def test_arguments_are_checked():
    with pytest.raises(InputError, match="bins=1 is invalid"):
        RLSearch(bins=1)
