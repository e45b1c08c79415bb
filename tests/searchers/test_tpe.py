"""TPESearch: hyperopt's TPE on conditional Tune spaces, with points told to the model."""

import numpy as np
import pytest
from ray import tune

from raymlx import InputError
from raymlx.models import FAMILIES, get_families, search_space
from raymlx.searchers import RandomSearch, TPESearch
from raymlx.searchers.space import has_domains


def _best(searcher, space, f, n):
    searcher.set_search_properties("loss", "min", space)
    best = np.inf
    for i in range(n):
        cfg = searcher.suggest(str(i))
        loss = f(cfg)
        best = min(best, loss)
        searcher.on_trial_complete(str(i), result={"loss": loss})
    return best


def test_tpe_beats_random_on_a_six_dimensional_sphere_across_seeds():
    # measured once: median best of 7 seeds after 100 evaluations, TPE 10.6, random 48.6
    # (on a 2-D quadratic at 60 evaluations hyperopt's own fmin is no better than random)
    space = {f"x{i}": tune.uniform(-10, 10) for i in range(6)}
    f = lambda c: sum((c[f"x{i}"] - i) ** 2 for i in range(6))  # noqa: E731
    tpe = [_best(TPESearch(seed=s, n_startup=10), space, f, 100) for s in range(7)]
    rnd = [_best(RandomSearch(seed=s), space, f, 100) for s in range(7)]
    assert np.median(tpe) < np.median(rnd) / 2.5


def test_max_mode_is_turned_into_a_loss():
    space = {"x": tune.uniform(0, 1)}
    s = TPESearch(metric="score", mode="max", seed=0, n_startup=5)
    s.set_search_properties("score", "max", space)
    for i in range(30):
        cfg = s.suggest(str(i))
        s.on_trial_complete(str(i), result={"score": cfg["x"]})
    assert min(loss for _, loss in s.history) == pytest.approx(-max(c["x"] for c, _ in s.history))
    assert np.mean([c["x"] for c, _ in s.history[-10:]]) > 0.6


def test_shared_keys_across_families_and_points_told_to_the_model():
    space = search_space(get_families())  # random forest and extra trees share keys
    first = {"model": {"family": "knn", "params": {"n_neighbors": 10, "weights": "distance",
                                                   "p": 2}}}
    s = TPESearch(metric="loss", mode="min", seed=0, points_to_evaluate=[first], n_startup=3)
    s.set_search_properties("loss", "min", space)
    assert s.suggest("p") == first
    s.on_trial_complete("p", result={"loss": 0.5})
    done = [t for t in s._trials.trials if t["result"].get("status") == "ok"]
    knn = list(FAMILIES).index("knn")
    assert len(done) == 1 and done[0]["misc"]["vals"]["model"] == [knn]
    for i in range(10):
        cfg = s.suggest(str(i))
        assert not has_domains(cfg)
        s.on_trial_complete(str(i), result={"loss": 1.0})


def test_arguments_are_checked():
    with pytest.raises(InputError, match="gamma=2 is invalid"):
        TPESearch(gamma=2)
