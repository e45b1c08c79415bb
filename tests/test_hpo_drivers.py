"""The HPO benchmarks' driver (benchmarks/hpo_drivers.py): ``concurrency`` trials pending at
each suggestion after the first ones, as Tune runs them with ``max_concurrent_trials``."""

import sys
from pathlib import Path

import pytest
from ray import tune

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import hpo_drivers  # noqa: E402

from raymlx.searchers import TPESearch  # noqa: E402


@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_suggestion_after_the_first_sees_concurrency_minus_one_pending(
        monkeypatch, concurrency):
    seen: list[int] = []

    class Counting(TPESearch):
        def suggest(self, trial_id):
            seen.append(len(self._live))
            return super().suggest(trial_id)

    monkeypatch.setitem(hpo_drivers.SEARCHERS, "counting", hpo_drivers._ours(Counting))
    space = {"x": tune.uniform(-1, 1), "y": tune.uniform(-1, 1)}
    losses, times = hpo_drivers.run("counting", space, lambda c: c["x"] ** 2 + c["y"] ** 2,
                                    seed=0, n=20, concurrency=concurrency)
    assert len(losses) == len(times) == 20
    assert seen[:concurrency] == list(range(concurrency))
    assert set(seen[concurrency:]) == {concurrency - 1}


def test_the_searcher_is_told_the_budget_as_tune_tells_it():
    made = hpo_drivers.SEARCHERS["raymlx_tpe"]({"x": tune.uniform(0, 1)}, 0, 1, 33)
    assert made.searcher.budget == 33
