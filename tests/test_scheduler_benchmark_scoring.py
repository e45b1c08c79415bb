"""How benchmarks/schedulers.py scores a run and computes its synthetic curves: a config
that never changes follows its closed-form curve, a PBT mutation does not jump to the new
curve, results after the budget do not count, and a run that misses the target counts as
infinite work (JSON null), not as the work it did."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import schedulers  # noqa: E402

CURVES = {"x0": 0.3, "x1": 0.6, "x2": 0.1, "x3": 0.9}
NOISY = {**CURVES, "x4": 0.2, "x5": 0.5}


@pytest.mark.parametrize("config", [CURVES, NOISY])
def test_an_unchanged_config_follows_final_plus_scale_times_t_to_the_minus_rate(config):
    final, scale, rate = schedulers.curve_terms(config)
    state = None
    for t in range(1, 28):
        state = schedulers.curve_step(config, state)
        assert state["t"] == t
        true = schedulers.observed(config, state)[1]
        assert true == pytest.approx(final + scale * t ** -rate, rel=1e-12)


def test_only_the_noisy_problem_adds_noise_and_it_repeats_for_the_same_config_and_step():
    state = schedulers.curve_step(NOISY, None)
    loss, true = schedulers.observed(NOISY, state)
    assert loss != true and schedulers.observed(NOISY, state) == (loss, true)
    assert len(set(schedulers.observed(CURVES, schedulers.curve_step(CURVES, None)))) == 1


def test_a_mutated_config_moves_to_its_curve_over_several_steps_not_at_once():
    state = None
    for _ in range(9):
        state = schedulers.curve_step(CURVES, state)
    better = {**CURVES, "x0": 0.2, "x2": 0.4, "x3": 0.55}  # lower final loss
    before = schedulers.observed(CURVES, state)[1]
    after = schedulers.observed(better, schedulers.curve_step(better, state))[1]
    final, scale, rate = schedulers.curve_terms(better)
    assert after < before  # it does improve...
    assert after > final + scale * 10 ** -rate  # ...but not to the new curve at once


def test_time_to_ignores_results_after_the_budget():
    points = [(1.0, 0.9, 0.9), (5.0, 0.6, 0.6), (21.0, 0.1, 0.1)]
    assert schedulers.time_to(points, target=0.5, budget=20.0) == (20.0, None)
    assert schedulers.time_to(points, target=0.7, budget=20.0) == (5.0, 2)


def test_time_to_scores_the_noise_free_loss_of_the_lowest_noisy_one():
    points = [(1.0, 0.30, 0.80), (2.0, 0.40, 0.20)]  # a lucky draw first, then a good one
    assert schedulers.time_to(points, target=0.5, budget=20.0) == (20.0, None)
    assert schedulers.incumbent_at(points, 20.0) == 0.80


def test_a_missed_target_is_infinite_work_written_as_null():
    assert schedulers.finite(math.inf) is None
    assert schedulers.finite(12.0) == 12.0
