"""The contract every raymlx scheduler keeps (driven by the simulator, no Ray)."""

import numpy as np
import pytest
from ray import tune

from raymlx.errors import InputError
from raymlx.schedulers import (
    ASHAScheduler,
    BOHBScheduler,
    HyperbandScheduler,
    PBTScheduler,
    SuccessiveHalvingScheduler,
)
from raymlx.searchers import BOHBSearch
from tests.schedulers.simulator import TERMINATED, Simulation

MUTATIONS = {"x": tune.uniform(0, 1)}
FACTORIES = {
    "sh": lambda **kw: SuccessiveHalvingScheduler(max_t=9, **kw),
    "hyperband": lambda **kw: HyperbandScheduler(max_t=9, **kw),
    "asha": lambda **kw: ASHAScheduler(max_t=9, **kw),
    "asha_stopping": lambda **kw: ASHAScheduler(max_t=9, variant="stopping", **kw),
    "bohb": lambda **kw: BOHBScheduler(max_t=9, **kw),
    "pbt": lambda **kw: PBTScheduler(perturbation_interval=2, hyperparam_mutations=MUTATIONS,
                                     seed=0, **kw),
}


def curve(config, t):
    return (config["x"] - 0.3) ** 2 + 1.0 / t


def simulate(name, n=20):
    sched = FACTORIES[name](metric="loss", mode="min")
    rng = np.random.default_rng(0)
    searcher = None
    if name == "bohb":
        searcher = BOHBSearch(metric="loss", mode="min", seed=0, space={"x": tune.uniform(0, 1)})
    configs = [{"x": float(v)} for v in rng.uniform(0, 1, n)]
    sim = Simulation(sched, configs, curve, workers=3, max_t=9, searcher=searcher).run()
    return sched, sim


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_trial_ends_and_the_best_reaches_max_t(name):
    sched, sim = simulate(name)
    assert all(t.status == TERMINATED for t in sim.trials)
    assert max(sim.reached().values()) == 9


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_same_inputs_same_decisions(name):
    _, a = simulate(name)
    _, b = simulate(name)
    assert a.decisions == b.decisions


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_state_round_trips_through_save_and_restore(name, tmp_path):
    sched, _ = simulate(name)
    sched.save(str(tmp_path / "state.pkl"))
    fresh = FACTORIES[name](metric="loss", mode="min")
    fresh.restore(str(tmp_path / "state.pkl"))
    assert fresh.state_dict() == sched.state_dict()


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_metric_and_mode_come_from_tune_config_or_fail_clearly(name):
    sched = FACTORIES[name]()
    assert sched.set_search_properties("loss", "min")
    assert sched.set_search_properties("loss", "min")  # the same again is fine
    assert not sched.set_search_properties("acc", "max")  # a conflict is refused
    with pytest.raises(InputError, match="needs metric and mode"):
        FACTORIES[name]()._check_ready()
    with pytest.raises(InputError, match="mode='best'"):
        FACTORIES[name](mode="best")
    with pytest.raises(InputError, match="time_attr"):
        FACTORIES[name](time_attr=None)
