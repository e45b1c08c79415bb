"""Ask/tell drivers for the HPO benchmarks: every searcher, ours and the peers', behind one
``ask() -> (handle, config)`` / ``tell(handle, loss)`` interface, and one loop that keeps
``concurrency`` trials pending at a time.

The loop is what Tune does with ``max_concurrent_trials=c`` and trials of equal cost: it
asks for c configurations, then each time the oldest pending trial finishes it tells its
loss and asks for the next one, so every suggestion after the first c is made with c - 1
trials still pending. How each searcher learns of pending trials is its own:

- raymlx's searchers, Tune's ``HyperOptSearch`` and ``TuneBOHB`` see them as Tune shows
  them, suggested and not yet completed;
- Optuna's samplers see them as RUNNING trials of the study; its TPE runs with
  ``constant_liar=True`` when c > 1, the setting Optuna's documentation gives for parallel
  runs;
- Syne Tune's searchers (BORE, its TPE-style KDE) and Tune's random search ignore them.

No Tune runtime runs: the numbers measure the search, not the trial launcher.
"""

from __future__ import annotations

import datetime
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from raymlx.searchers import (
    BOHBSearch,
    EvolutionSearch,
    GPSearch,
    RandomSearch,
    RLSearch,
    TPESearch,
)

Objective = Callable[[dict], float]


class TuneSearcherDriver:
    """A ``ray.tune.search.Searcher`` driven as Tune drives it. With ``budget_info`` each
    result is first reported with ``hyperband_info`` at budget 1, as Tune's
    ``HyperBandForBOHB`` does with ``max_t=1`` (``TuneBOHB`` learns only from that)."""

    def __init__(self, searcher, space: dict, n: int, budget_info: bool = False) -> None:
        self.searcher, self.budget_info, self._n = searcher, budget_info, 0
        # Tune passes num_samples with the space (Experiment.public_spec)
        searcher.set_search_properties("loss", "min", space, num_samples=n)

    def ask(self):
        self._n += 1
        handle = str(self._n)
        return handle, self.searcher.suggest(handle)

    def tell(self, handle, loss: float) -> None:
        if self.budget_info:
            self.searcher.on_trial_result(handle, {"loss": loss,
                                                   "hyperband_info": {"budget": 1.0}})
        self.searcher.on_trial_complete(handle, result={"loss": loss})


class TuneRandomDriver:
    """Tune's random sampling, through ``generate_variants`` (``BasicVariantGenerator``)."""

    def __init__(self, space: dict, seed: int) -> None:
        self.space, self.rs = space, np.random.RandomState(seed)

    def ask(self):
        from ray.tune.search.variant_generator import generate_variants

        return None, next(generate_variants(self.space, random_state=self.rs))[1]

    def tell(self, handle, loss: float) -> None:
        pass


class OptunaDriver:
    """An Optuna sampler through ``study.ask`` / ``study.tell``."""

    def __init__(self, kind: str, space: dict, seed: int, concurrency: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.dists = {k: optuna_distribution(d) for k, d in space.items()}
        sampler = (optuna.samplers.TPESampler(seed=seed, constant_liar=concurrency > 1)
                   if kind == "tpe" else optuna.samplers.GPSampler(seed=seed))
        self.study = optuna.create_study(direction="minimize", sampler=sampler)

    def ask(self):
        trial = self.study.ask(self.dists)
        return trial, dict(trial.params)

    def tell(self, handle, loss: float) -> None:
        self.study.tell(handle, loss)


class SyneTuneDriver:
    """A Syne Tune single-objective scheduler (``syne_tune.optimizer.baselines``)."""

    def __init__(self, kind: str, space: dict, seed: int) -> None:
        from syne_tune.optimizer import baselines

        cls = {"bore": baselines.BORE, "kde": baselines.TPE}[kind]
        self.scheduler = cls(syne_tune_space(space), metric="loss", do_minimize=True,
                             random_seed=seed)
        self._n = 0

    def ask(self):
        from syne_tune.backend.trial_status import Trial

        suggestion = self.scheduler.suggest()
        trial = Trial(trial_id=self._n, config=suggestion.config,
                      creation_time=datetime.datetime.now())
        self._n += 1
        return trial, dict(suggestion.config)

    def tell(self, handle, loss: float) -> None:
        self.scheduler.on_trial_complete(trial=handle, result={"loss": loss})


def is_log(d) -> bool:
    """Whether a Tune domain samples on a log scale."""
    return type(d.get_sampler()).__name__ == "_LogUniform"


def optuna_distribution(d):
    import optuna.distributions as od
    from ray.tune.search.sample import Categorical, Integer

    if isinstance(d, Categorical):
        return od.CategoricalDistribution(d.categories)
    log = is_log(d)
    if isinstance(d, Integer):
        return od.IntDistribution(int(d.lower), int(d.upper) - 1, log=log)
    return od.FloatDistribution(float(d.lower), float(d.upper), log=log)


def syne_tune_space(space: dict) -> dict:
    """Tune domains as Syne Tune's (whose integer upper bounds are inclusive)."""
    from ray.tune.search.sample import Categorical, Integer
    from syne_tune import config_space as cs

    out: dict[str, Any] = {}
    for k, d in space.items():
        log = is_log(d)
        if isinstance(d, Categorical):
            out[k] = cs.choice(list(d.categories))
        elif isinstance(d, Integer):
            out[k] = (cs.lograndint if log else cs.randint)(int(d.lower), int(d.upper) - 1)
        else:
            out[k] = (cs.loguniform if log else cs.uniform)(float(d.lower), float(d.upper))
    return out


def _ours(cls, **kw):
    def make(space, seed, concurrency, n):
        return TuneSearcherDriver(cls(metric="loss", mode="min", seed=seed, **kw), space, n)
    return make


def _tune_hyperopt(space, seed, concurrency, n):
    from ray.tune.search.hyperopt import HyperOptSearch

    return TuneSearcherDriver(HyperOptSearch(metric="loss", mode="min",
                                             random_state_seed=seed), space, n)


def _tune_bohb(space, seed, concurrency, n):
    from ray.tune.search.bohb import TuneBOHB

    np.random.seed(seed)  # HpBandSter draws its random fraction from numpy's global state
    return TuneSearcherDriver(TuneBOHB(metric="loss", mode="min", seed=seed), space, n,
                              budget_info=True)


SEARCHERS: dict[str, Callable] = {
    "raymlx_random": _ours(RandomSearch),
    "raymlx_tpe": _ours(TPESearch),
    "raymlx_tpe_independent": _ours(TPESearch, multivariate=False),
    "raymlx_gp": _ours(GPSearch),
    "raymlx_bohb": _ours(BOHBSearch),
    "raymlx_evolution": _ours(EvolutionSearch, population_size=20, sample_size=5),
    "raymlx_rl": _ours(RLSearch),
    "tune_random": lambda space, seed, c, n: TuneRandomDriver(space, seed),
    "tune_hyperopt": _tune_hyperopt,
    "tune_bohb": _tune_bohb,
    "optuna_tpe": lambda space, seed, c, n: OptunaDriver("tpe", space, seed, c),
    "optuna_gp": lambda space, seed, c, n: OptunaDriver("gp", space, seed, c),
    "synetune_bore": lambda space, seed, c, n: SyneTuneDriver("bore", space, seed),
    "synetune_kde": lambda space, seed, c, n: SyneTuneDriver("kde", space, seed),
}


def run(name: str, space: dict, f: Objective, seed: int, n: int,
        concurrency: int = 1) -> tuple[list[float], list[float]]:
    """``n`` evaluations of ``f`` by searcher ``name`` with ``concurrency`` trials pending:
    (losses in the order the trials finished, seconds per suggestion)."""
    driver = SEARCHERS[name](space, seed, concurrency, n)
    pending: deque = deque()
    losses: list[float] = []
    times: list[float] = []
    while len(losses) < n:
        while len(pending) < concurrency and len(times) < n:
            t0 = time.perf_counter()
            handle, config = driver.ask()
            times.append(time.perf_counter() - t0)
            pending.append((handle, config))
        handle, config = pending.popleft()
        loss = float(f(config))
        driver.tell(handle, loss)
        losses.append(loss)
    return losses, times
