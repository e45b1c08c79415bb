"""PBT's exploit and explore driven by scripted results (no Ray)."""

import numpy as np
import pytest
from ray import tune
from ray.tune.experiment import Trial

from raymlx.errors import InputError
from raymlx.schedulers import PBTScheduler
from raymlx.testing.simulator import Simulation

MUTATIONS = {"lr": tune.loguniform(1e-4, 1e-1), "layers": tune.randint(1, 5),
             "act": ["relu", "tanh", "gelu"]}


def population(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [{"lr": float(10 ** rng.uniform(-4, -1)), "layers": int(rng.integers(1, 5)),
             "act": "relu"} for _ in range(n)]


def lr_curve(config, t):
    return abs(np.log10(config["lr"]) + 2.0) + 1.0 / t  # best lr = 1e-2


class RecordingPBT(PBTScheduler):
    """Checks, at each exploit, who was in the bottom and top quantiles."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def _exploit(self, tune_controller, trial, donor, t):
        bottom, top = self.quantiles(tune_controller, self.last_ready[trial.trial_id])
        self.seen.append({"bottom": trial in bottom, "top": donor in top,
                          "donor_ckpt_t": donor.checkpoint.t,
                          "donor_status": donor.status,
                          "donor_config": dict(donor.config)})
        super()._exploit(tune_controller, trial, donor, t)


def run(seed=0, **kwargs):
    sched = RecordingPBT(metric="loss", mode="min", perturbation_interval=4,
                         hyperparam_mutations=MUTATIONS, quantile_fraction=0.25, seed=seed,
                         **kwargs)
    sim = Simulation(sched, population(), lr_curve, workers=8, max_t=24).run()
    return sched, sim


def test_bottom_quantile_clones_a_top_member_and_perturbs_it():
    sched, sim = run()
    assert len(sched.exploits) >= 5
    for seen, record in zip(sched.seen, sched.exploits):
        assert seen["bottom"] and seen["top"]
        old, new = seen["donor_config"], record["config"]
        assert 1e-4 <= new["lr"] <= 1e-1
        ratio = new["lr"] / old["lr"]
        resampled = not (np.isclose(ratio, 0.8) or np.isclose(ratio, 1.2))
        assert resampled or ratio in (pytest.approx(0.8), pytest.approx(1.2))
        assert 1 <= new["layers"] <= 4
        assert new["act"] in MUTATIONS["act"]


def test_a_clone_resumes_from_the_donors_checkpoint():
    sched, sim = run()
    first = sched.exploits[0]
    at = sim.decisions.index((first["trial"], first["t"], "NOOP"))
    following = [t for tid, t, _ in sim.decisions[at + 1:] if tid == first["trial"]]
    # it continued from the donor's state, not from its own
    assert following[0] == sched.seen[0]["donor_ckpt_t"] + 1


def test_a_finished_member_is_never_a_donor_when_the_population_outnumbers_the_workers():
    """8 members on 2 workers run in waves: the later ones are ranked against the finished
    ones at equal training, but cloning a finished member would jump to the end of training
    and end the clone there, so only live members (running or paused) are donors."""
    sched = RecordingPBT(metric="loss", mode="min", perturbation_interval=4,
                         hyperparam_mutations=MUTATIONS, quantile_fraction=0.25, seed=0)
    sim = Simulation(sched, population(), lr_curve, workers=2, max_t=24).run()
    assert len(sched.seen) >= 3
    assert all(seen["donor_status"] in (Trial.RUNNING, Trial.PAUSED) for seen in sched.seen)
    assert all(t == 24 for t in sim.reached().values())


def test_population_improves_towards_the_known_optimum():
    sched, sim = run()
    final = [abs(np.log10(t.config["lr"]) + 2.0) for t in sim.trials]
    start = [abs(np.log10(c["lr"]) + 2.0) for c in population()]
    assert np.median(final) < np.median(start)


def test_same_seed_same_decisions():
    a, _ = run(seed=3)
    b, _ = run(seed=3)
    assert [(e["trial"], e["donor"], e["config"]) for e in a.exploits] == \
           [(e["trial"], e["donor"], e["config"]) for e in b.exploits]


def test_explore_stays_inside_the_domains():
    sched = PBTScheduler(metric="loss", mode="min", hyperparam_mutations=MUTATIONS, seed=0,
                         resample_probability=0.0)
    config = {"lr": 0.099, "layers": 4, "act": "relu"}
    for _ in range(200):
        new = sched.explore(config)
        assert 1e-4 <= new["lr"] <= 1e-1 and new["lr"] in (pytest.approx(0.0792),
                                                           pytest.approx(0.1))
        assert new["layers"] in (3, 4)
        assert new["act"] in ("relu", "tanh")  # a neighbour, clamped at the list's end


def test_never_clones_without_checkpoints():
    sched = PBTScheduler(metric="loss", mode="min", perturbation_interval=2,
                         hyperparam_mutations=MUTATIONS, seed=0)
    sim = Simulation(sched, population(4), lr_curve, workers=4, max_t=12, checkpoint=False)
    with pytest.raises(InputError, match="without reporting a checkpoint"):
        sim.run()
    assert sched.exploits == []


@pytest.mark.parametrize("kwargs, message", [
    ({}, "hyperparam_mutations is required"),
    ({"hyperparam_mutations": {"lr": 0.1}}, r"hyperparam_mutations\[lr\]"),
    ({"hyperparam_mutations": MUTATIONS, "quantile_fraction": 0.7}, "quantile_fraction=0.7"),
    ({"hyperparam_mutations": MUTATIONS, "perturbation_interval": 0}, "perturbation_interval"),
    ({"hyperparam_mutations": MUTATIONS, "perturbation_factors": (0.8, -1)},
     "perturbation_factors"),
])
def test_bad_arguments_get_one_line_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        PBTScheduler(**kwargs)


def test_max_t_stops_members():
    sched = PBTScheduler(metric="loss", mode="min", perturbation_interval=4, max_t=10,
                         hyperparam_mutations=MUTATIONS, seed=0)
    sim = Simulation(sched, population(4), lr_curve, workers=4, max_t=50).run()
    assert max(sim.reached().values()) == 10
