"""A phase with more trials than ``CHUNK_TRIALS`` runs as several Tune experiments
(``search``, ``search-part2``, ...) that share one searcher and the fit's callbacks: every
trial is counted once in the leaderboard, the ledger and the progress log, and the
searcher does not repeat itself across parts."""

import json
import logging
from pathlib import Path

from raymlx import AutoML
from raymlx.tabular.engine import search
from raymlx.tabular.engine.ledger import LEDGER_FILE


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _configs(ledger_lines):
    return [json.dumps(e["model"], sort_keys=True) for e in ledger_lines]


def test_a_long_phase_runs_as_parts_and_counts_every_trial_once(ray_session, binary_frame,
                                                                 tmp_path, monkeypatch):
    monkeypatch.setattr(search, "CHUNK_TRIALS", 4)
    logged = _Lines()
    logging.getLogger("raymlx").addHandler(logged)  # wherever the suite sends the log
    try:
        aml = AutoML(label="target", families=["linear"], max_models=10, num_folds=2,
                     num_stack_levels=0, path=tmp_path, verbosity=1).fit(binary_frame)
    finally:
        logging.getLogger("raymlx").removeHandler(logged)
    lines = [json.loads(x) for x in
             (Path(aml.experiment_path_) / LEDGER_FILE).read_text().splitlines()]
    found = [e for e in lines if e["phase"] == "search"]
    assert len(found) == 10
    assert sorted({e["experiment"] for e in found}) == ["search", "search-part2",
                                                         "search-part3"]
    assert len({e["trial_id"] for e in found}) == 10
    assert len(set(_configs(found))) == 10  # the searcher went on, it did not start again
    board = aml.leaderboard()
    assert (~board.model.str.startswith("weighted_ensemble")).sum() == 10
    progress = [m for m in logged.messages if m.startswith("trial ")]
    assert any(m.startswith("trial 10/10 ") for m in progress), progress[-3:]
    assert not any(m.startswith("trial 11/") for m in progress)

