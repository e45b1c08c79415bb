"""Successive halving, Hyperband and BOHB driven by scripted results (no Ray)."""

import numpy as np
import pytest
from ray import tune

from raymlx.errors import InputError
from raymlx.schedulers import BOHBScheduler, HyperbandScheduler, SuccessiveHalvingScheduler
from raymlx.searchers import BOHBSearch
from raymlx.testing.simulator import TERMINATED, Simulation


def crossing_curve(config, t):
    """Loss falls with training; config x sets both the asymptote and the speed."""
    x = config["x"]
    return (x - 0.3) ** 2 + (1.0 + x) / (1.0 + t)


def configs(n, seed=0):
    rng = np.random.default_rng(seed)
    return [{"x": float(v)} for v in rng.uniform(0, 1, n)]


def test_hyperband_runs_the_papers_brackets_for_one_iteration():
    sched = HyperbandScheduler(metric="loss", mode="min", max_t=81, reduction_factor=3)
    sim = Simulation(sched, configs(143), crossing_curve, workers=4, max_t=81).run()
    assert [b.history() for b in sched.brackets] == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]
    # resume accounting (trials continue from their checkpoint): 1581 units, not Ray's 1767
    assert sim.iterations == 1581
    assert all(t.status == TERMINATED for t in sim.trials)
    assert sum(1 for t in sim.reached().values() if t == 81) == 10


def test_successive_halving_keeps_the_best_of_each_rung():
    sched = SuccessiveHalvingScheduler(metric="loss", mode="min", max_t=27)
    pool = configs(27, seed=1)
    sim = Simulation(sched, pool, crossing_curve, workers=3, max_t=27).run()
    (bracket,) = sched.brackets
    assert bracket.history() == [(27, 1), (9, 3), (3, 9), (1, 27)]
    assert sim.iterations == 27 + 9 * 2 + 3 * 6 + 1 * 18  # 81
    reached = sim.reached()
    ids = [t.trial_id for t in sim.trials]
    at_one = {i: crossing_curve(pool[n], 1) for n, i in enumerate(ids)}
    best9 = sorted(at_one, key=at_one.get)[:9]
    assert {i for i in ids if reached[i] >= 3} == set(best9)


def test_max_mode_keeps_the_largest_scores():
    sched = SuccessiveHalvingScheduler(metric="acc", mode="max", max_t=9)
    pool = [{"x": i / 10} for i in range(9)]
    sim = Simulation(sched, pool, lambda c, t: c["x"], workers=2, max_t=9, metric="acc",
                     mode="max").run()
    reached = sim.reached()
    assert reached["t008"] == 9 and reached["t007"] == 3 and reached["t006"] == 3
    assert max(reached[f"t00{i}"] for i in range(6)) == 1


def test_a_bracket_the_search_cannot_fill_is_closed_and_halved():
    sched = SuccessiveHalvingScheduler(metric="loss", mode="min", max_t=27)  # size 27
    sim = Simulation(sched, configs(10), crossing_curve, workers=2, max_t=27).run()
    assert sched.brackets[0].history() == [(10, 1), (3, 3), (1, 9), (1, 27)]
    assert sorted(sim.reached().values())[-1] == 27


def test_hyperband_does_not_deadlock_under_a_concurrency_limit():
    sched = HyperbandScheduler(metric="loss", mode="min", max_t=27)
    sim = Simulation(sched, configs(40), crossing_curve, workers=2, max_t=27,
                     max_concurrent=4).run()
    assert all(t.status == TERMINATED for t in sim.trials)
    assert max(sim.reached().values()) == 27


def test_bohb_scheduler_feeds_every_rung_result_to_the_searcher():
    space = {"x": tune.uniform(0, 1)}
    searcher = BOHBSearch(metric="loss", mode="min", seed=0, space=space)
    sched = BOHBScheduler(metric="loss", mode="min", max_t=81, searcher=searcher)
    Simulation(sched, [{}] * 143, crossing_curve, workers=4, max_t=81,
               searcher=searcher).run()
    counts = {b: len(v) for b, v in searcher.observations.items()}
    # every configuration evaluated at a budget, halving losers included
    assert counts == {1.0: 81, 3.0: 27 + 34, 9.0: 9 + 11 + 15, 27.0: 3 + 3 + 5 + 8,
                      81.0: 1 + 1 + 1 + 2 + 5}
    assert searcher.model_budget() == 81.0  # 10 points > 2 (d + 1) good + 1 (d) bad


def test_bohb_scheduler_needs_bohb_search_and_shakes_hands_with_it():
    with pytest.raises(InputError, match=r"needs searcher=raymlx.searchers.BOHBSearch"):
        BOHBScheduler(metric="loss", mode="min", max_t=9)
    searcher = BOHBSearch(metric="loss", mode="min", seed=0)
    assert not searcher.budgets_from_scheduler
    sched = BOHBScheduler(metric="loss", mode="min", max_t=9, searcher=searcher)
    assert sched.searcher is searcher and searcher.budgets_from_scheduler


@pytest.mark.parametrize("kwargs, message", [
    ({"max_t": 0}, "max_t=0"),
    ({"grace_period": 100, "max_t": 10}, "grace_period=100"),
    ({"reduction_factor": 1}, "reduction_factor=1"),
    ({"time_attr": ""}, "time_attr"),
    ({"mode": "maximize"}, "mode='maximize'"),
])
def test_bad_arguments_get_one_line_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        HyperbandScheduler(**kwargs)
    with pytest.raises(InputError, match="bracket_size"):
        SuccessiveHalvingScheduler(bracket_size=0)


def test_missing_time_attr_in_results_is_explained():
    sched = HyperbandScheduler(metric="loss", mode="min", max_t=9, time_attr="epoch")
    with pytest.raises(InputError, match="'epoch'"):
        Simulation(sched, configs(3), crossing_curve, max_t=9).run()
