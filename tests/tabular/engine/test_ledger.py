"""The fit ledger that resume reads: order, resets, cut-off lines; and one-line errors for
unreachable cluster addresses."""

from __future__ import annotations

import json

import pytest

from raymlx._internal.ray_session import _check_reachable
from raymlx.errors import InputError
from raymlx.tabular.engine.ledger import (
    LEDGER_FILE,
    fit_folder,
    read_ledger,
    reset_phase,
    trial_index,
)
from raymlx.tabular.engine.resume import drop_layers_above, same_config


def _line(phase, trial_id, experiment, index):
    return json.dumps({"phase": phase, "trial_id": trial_id, "experiment": experiment,
                       "index": index, "model": {}, "metrics": {}, "checkpoint": None,
                       "error": None, "time": 0.0})


def test_entries_come_back_in_creation_order_run_by_run(tmp_path):
    lines = [_line("search", "b", "search", 2), _line("search", "a", "search", 1),
             _line("search", "d", "search-resumed-1", 1), _line("search", "c", "search", 3),
             _line("L2", "s1", "L2", 1)]
    (tmp_path / LEDGER_FILE).write_text("\n".join(lines) + '\n{"phase": "sea')  # cut off
    ledger = read_ledger(tmp_path)
    assert [e["trial_id"] for e in ledger["search"]] == ["a", "b", "c", "d"]
    assert [e["trial_id"] for e in ledger["L2"]] == ["s1"]


def test_a_reset_phase_starts_again_empty_and_later_entries_count(tmp_path):
    (tmp_path / LEDGER_FILE).write_text(_line("L2", "old", "L2", 1) + "\n")
    ledger = read_ledger(tmp_path)
    drop_layers_above(ledger, 1, tmp_path)  # layer 1 trained new models
    assert "L2" not in ledger
    with open(tmp_path / LEDGER_FILE, "a") as fh:
        fh.write(_line("L2", "new", "L2-resumed-1", 1) + "\n")
    assert [e["trial_id"] for e in read_ledger(tmp_path)["L2"]] == ["new"]
    reset_phase(tmp_path, "L2")
    assert "L2" not in read_ledger(tmp_path)


def test_trial_folder_names_give_the_creation_counter():
    assert trial_index("run_trial_1a2b3c4d_00017_17_model=x_2026-11-27_21-00-00") == 17
    assert trial_index("run_large_trial_5140bcec_2_family=lightgbm_2026-12-02_15-45-17") == 2
    assert trial_index("odd") == 1 << 30


def test_configs_compare_as_the_ledger_stores_them():
    assert same_config({"family": "knn", "params": {"p": (1, 2)}},
                        {"params": {"p": [1, 2]}, "family": "knn"})
    assert not same_config({"family": "knn", "params": {"p": 1}},
                            {"family": "knn", "params": {"p": 2}})


@pytest.mark.parametrize("address", ["127.0.0.1:1", "[::1]:1", "localhost:99999",
                                     "head:6379/"])
def test_an_unreachable_address_is_a_one_line_error(address):
    with pytest.raises(InputError, match="could not connect to the Ray cluster") as err:
        _check_reachable(address)
    assert "\n" not in str(err.value)



def test_two_fits_started_in_the_same_millisecond_get_their_own_folders(tmp_path):
    first, second = fit_folder(tmp_path / "runs", 1e9), fit_folder(tmp_path / "runs", 1e9)
    assert first != second and first.is_dir() and second.is_dir()
    assert second.name == first.name + "-2"
