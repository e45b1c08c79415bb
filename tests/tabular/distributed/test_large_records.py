"""Leaderboard rows of large-data trials from their ledger entries
(raymlx.tabular.distributed.fit._records): what each way of ending says."""

from __future__ import annotations

from raymlx.tabular.distributed.fit import _records
from raymlx.tabular.metrics import get_metric

AUC = get_metric("roc_auc", "binary")


def _entry(metrics: dict, checkpoint: str | None = None, error: str | None = None) -> dict:
    return {"model": {"family": "lightgbm", "params": {"learning_rate": 0.1}},
            "metrics": metrics, "checkpoint": checkpoint, "error": error, "trial_id": "t1"}


def test_each_way_a_trial_ends_has_its_own_row():
    finished = _entry({"final": True, "score": 0.93, "fit_time_s": 12.0,
                       "predict_time_s": 0.5, "rounds": 150, "workers": 2}, "/ck")
    records = _records([
        finished,
        _entry({"rounds": 25, "score": 0.81, "partial": True}),
        _entry({"rounds": 575, "score": 0.9, "partial": False}),
        _entry({}, error="OutOfMemoryError: worker died"),
        _entry({}),
    ], AUC)
    assert [r.name for r in records] == [f"lightgbm_{i}" for i in range(1, 6)]
    ok = records[0]
    assert (ok.score_val, ok.models_path, ok.note) == (
        0.93, "/ck/fold_models.pkl", "150 boosting rounds on 2 workers")
    assert records[1].error == "stopped by the scheduler after 25 boosting rounds " \
                               "(roc_auc 0.81 so far)"
    assert records[2].error == ("stopped at the time limit after 575 boosting rounds, "
                                "before it had scored the holdout")
    assert records[3].error == "OutOfMemoryError: worker died"
    assert records[4].error == "stopped at the time limit"


def test_the_large_portfolio_starts_lightgbm_at_its_default_learning_rate():
    from raymlx.tabular.distributed.fit import large_portfolio
    from raymlx.tabular.models import FAMILIES, portfolio_configs

    families = [FAMILIES["lightgbm"], FAMILIES["xgboost"]]
    large = large_portfolio(families, None)
    memory = portfolio_configs(families)
    assert large[0]["model"] == {"family": "lightgbm", "params": {"learning_rate": 0.1}}
    assert memory[0]["model"]["params"]["learning_rate"] == 0.05  # not changed in place
    assert large[1:] == memory[1:]
    custom = {"lightgbm": [{"learning_rate": 0.3}]}
    assert large_portfolio(families, custom) == portfolio_configs(families, custom)


def test_lightgbm_bags_about_a_million_rows_a_round_on_large_tables():
    from raymlx.tabular.distributed.trial import row_sampling

    lr = {"learning_rate": 0.1}
    assert row_sampling("lightgbm", lr, 4_000_000) == {**lr, "bagging_fraction": 0.25,
                                                        "bagging_freq": 1}
    assert row_sampling("lightgbm", lr, 50_000_000)["bagging_fraction"] == 0.1  # the floor
    assert row_sampling("lightgbm", lr, 900_000) == lr  # every row, as in memory
    assert row_sampling("xgboost", {"eta": 0.1}, 4_000_000) == {"eta": 0.1}
    own = {"learning_rate": 0.1, "subsample": 0.5, "subsample_freq": 2}
    assert row_sampling("lightgbm", own, 4_000_000) == own  # the user's own sampling
