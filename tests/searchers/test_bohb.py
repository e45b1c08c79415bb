"""BOHBSearch: the model's budget, the random fraction, and proposals from l(x)/g(x)."""

import numpy as np
import pytest
from ray import tune

from raymlx import InputError
from raymlx.searchers import BOHBSearch

SPACE = {"x": tune.uniform(0, 1), "c": tune.choice(["a", "b", "c"])}  # d = 2


def _loss(cfg):
    return (cfg["x"] - 0.8) ** 2 + (cfg["c"] != "b")


def _feed(s, n, budget, start=0):
    for i in range(start, start + n):
        cfg = s.suggest(str(i))
        s.on_trial_result(str(i), {"loss": _loss(cfg), "training_iteration": budget})
        s.on_trial_complete(str(i), result={"loss": _loss(cfg), "training_iteration": budget})


def _searcher(**kw):
    s = BOHBSearch(metric="loss", mode="min", seed=0, **kw)
    s.set_search_properties("loss", "min", SPACE)
    return s


def test_model_uses_the_largest_budget_with_enough_observations():
    s = _searcher()
    assert s.model_budget() is None
    # d = 2: good = max(d + 1, 15% of n) = 3 points, and the bad set needs 3 more
    _feed(s, 5, budget=1)
    assert s.model_budget() is None
    _feed(s, 1, budget=1, start=50)
    assert s.model_budget() == 1.0
    _feed(s, 5, budget=9, start=100)  # not enough at budget 9 yet: the model stays at 1
    assert s.model_budget() == 1.0
    _feed(s, 1, budget=9, start=200)
    assert s.model_budget() == 9.0


def test_random_fraction_of_proposals_come_from_the_prior(monkeypatch):
    s = _searcher(random_fraction=0.25)
    _feed(s, 30, budget=1)
    calls = {"prior": 0}
    original = s._sample

    def counted():
        calls["prior"] += 1
        return original()

    monkeypatch.setattr(s, "_sample", counted)
    for i in range(400):
        s.suggest(f"r{i}")
    assert 0.18 < calls["prior"] / 400 < 0.32


def test_model_proposals_concentrate_where_the_good_points_are():
    s = _searcher(random_fraction=0.0)
    _feed(s, 40, budget=1)
    picks = [s.suggest(f"m{i}") for i in range(60)]
    assert np.mean([p["c"] == "b" for p in picks]) > 0.8
    # l/g favours the good region's far side, where bad points are rare (optimum 0.8)
    assert 0.6 < np.median([p["x"] for p in picks]) <= 1.0


def test_arguments_are_checked():
    with pytest.raises(InputError, match="random_fraction=2 is invalid"):
        BOHBSearch(random_fraction=2)


def test_results_without_a_budget_still_build_the_model():
    # plain ask/tell (no training_iteration in the result): one budget, and the KDE is used
    s = BOHBSearch(metric="loss", mode="min", seed=0, random_fraction=0.0)
    s.set_search_properties("loss", "min", {"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)})
    for i in range(40):
        cfg = s.suggest(str(i))
        s.on_trial_complete(str(i), result={"loss": (cfg["x"] - 0.2) ** 2 + cfg["y"]})
    assert s.model_budget() == 1.0
    late = [c for c, _ in s.history[-10:]]
    assert np.median([c["y"] for c in late]) < 0.25


@pytest.mark.parametrize("pending_as_bad", [True, False])
def test_trials_that_reported_nothing_yet_join_the_bad_set(pending_as_bad):
    s = _searcher(pending_as_bad=pending_as_bad)
    _feed(s, 20, budget=1)
    good, bad = s._split(1.0)
    s.suggest("running")  # suggested, nothing reported
    s.suggest("reported")
    s.on_trial_result("reported", {"loss": 0.5, "training_iteration": 1})
    good2, bad2 = s._split(1.0)
    assert len(good2) == len(good)
    assert len(bad2) == len(bad) + (1 if pending_as_bad else 0)
    if pending_as_bad:
        x = s._codec().vector(*s._live["running"])
        assert np.isclose(bad2[-1, 0], x[0])


def test_candidates_are_valid_encodings_around_good_rows():
    s = _searcher(num_samples=200)
    _feed(s, 20, budget=1)
    good, _ = s._split(1.0)
    cands = s.sample_around(good, np.array([0.05, 0.2]))
    assert cands.shape == (200, 2)
    assert ((cands[:, 0] >= 0) & (cands[:, 0] <= 1)).all()
    assert set(np.unique(cands[:, 1])) <= {0.0, 1.0, 2.0}
    # narrow numeric kernels: every candidate within a few widths of some good row
    near = np.abs(cands[:, 0][:, None] - good[:, 0][None, :]).min(axis=1)
    assert np.quantile(near, 0.95) < 0.15
    # the categorical value is kept with probability 1 - 0.2, else uniform: ~0.8 + 0.2/3
    kept = np.mean([c in set(good[:, 1]) for c in cands[:, 1]])
    assert kept > 0.75
