"""Hyperband's bracket table and successive halving's arithmetic (no Ray)."""

from raymlx.schedulers.base import rung_levels
from raymlx.schedulers.brackets import Bracket, hyperband_plan


def test_hyperband_plan_is_the_papers_table_for_r81_eta3():
    plan = hyperband_plan(81, 1, 3)
    table = []
    for size, levels in plan:
        counts = [size // 3 ** i for i in range(len(levels))]
        table.append(list(zip(counts, levels)))
    assert table == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]
    assert sum(size for size, _ in plan) == 143


def test_hyperband_plan_with_a_grace_period_counts_resource_in_its_units():
    assert [(n, lv[0]) for n, lv in hyperband_plan(90, 10, 3)] == [(9, 10), (5, 30), (3, 90)]


def test_rung_levels_end_at_max_t():
    assert rung_levels(1, 27, 3) == [1, 3, 9, 27]
    assert rung_levels(1, 100, 3) == [1, 3, 9, 27, 81, 100]
    assert rung_levels(5, 5, 2) == [5]


def test_halving_keeps_floor_n_over_eta_best_first():
    bracket = Bracket(0, 8, [1, 3, 9], 3)
    for i in range(8):
        bracket.add(f"t{i}")
        bracket.scores[f"t{i}"] = float(i % 5)  # t4 = 4 is best, then t3 and t8...
    assert bracket.rung_complete()
    survivors, losers = bracket.halve()
    assert survivors == ["t4", "t3"]  # floor(8 / 3) = 2; ties go to the earlier member
    assert sorted(losers) == sorted(f"t{i}" for i in (0, 1, 2, 5, 6, 7))
    assert bracket.target() == 3 and bracket.history() == [(8, 1), (2, 3)]
