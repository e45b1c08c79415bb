"""Regularized evolution (Real et al. 2019): aging, tournament parents, one-key mutation."""

import pytest
from ray import tune

from raymlx import InputError
from raymlx.searchers import EvolutionSearch

SPACE = {"a": tune.randint(0, 100), "b": tune.randint(0, 100), "c": tune.choice(list("xyz"))}


def _loss(cfg):
    return cfg["a"] + cfg["b"]


def _searcher(p=5, s=2, seed=0):
    es = EvolutionSearch(metric="loss", mode="min", seed=seed, population_size=p, sample_size=s)
    es.set_search_properties("loss", "min", SPACE)
    return es


def _step(es, i):
    cfg = es.suggest(str(i))
    es.on_trial_complete(str(i), result={"loss": _loss(cfg)})
    return cfg


def test_the_oldest_member_leaves_not_the_worst():
    es = _searcher(p=5)
    seen = [_step(es, i) for i in range(8)]
    assert len(es.population) == 5
    assert [m[0] for m in es.removed] == seen[:3]  # first in, first out
    assert [m[0] for m in es.population] == seen[3:]


def test_children_differ_from_their_parent_in_exactly_one_key():
    es = _searcher(p=6, s=6)  # sample = whole population: the parent is the current best
    for i in range(6):
        _step(es, i)
    for i in range(6, 30):
        best = min(es.population, key=lambda m: m[2])[0]
        child = es.suggest(str(i))
        assert sum(child[k] != best[k] for k in SPACE) == 1
        es.on_trial_complete(str(i), result={"loss": _loss(child)})


def test_first_population_is_random_then_it_improves():
    es = _searcher(p=10, s=3, seed=1)
    losses = [_loss(_step(es, i)) for i in range(200)]
    assert min(losses[100:]) < min(losses[:10])
    assert sum(losses[-20:]) / 20 < sum(losses[:10]) / 10


def test_a_child_finishing_after_its_parent_aged_out_still_joins():
    es = _searcher(p=3, s=2)
    for i in range(3):
        _step(es, i)
    late = es.suggest("late")
    for i in range(3, 8):
        _step(es, i)
    es.on_trial_complete("late", result={"loss": _loss(late)})
    assert es.population[-1][0] == late


def test_arguments_are_checked():
    with pytest.raises(InputError, match="sample_size=9 is invalid"):
        EvolutionSearch(population_size=5, sample_size=9)
