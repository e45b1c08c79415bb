"""A REINFORCE controller (Williams 1992; Zoph & Le 2017 for architecture search; the
searcher AutoGluon shipped as ``RLSearcher``).

The policy is an independent softmax per decision of the space: every ``choice`` is one
decision, and every numeric domain is discretised into ``bins`` equal intervals (in log
space for log domains; a value is then drawn uniformly inside the chosen interval, so
integers and floats stay on their domain). In a conditional space only the decisions on
the chosen path are drawn and updated. After a trial with reward R = -loss, each active
decision's logits move along the exact score-function gradient of a softmax,
theta += lr * A * (onehot(action) - p), with advantage A = (R - b) / s: b is the
exponential moving-average baseline (decay ``baseline_decay``, started at the first
reward, as in AutoGluon and ENAS) and s a running standard deviation of the rewards, so
that ``lr`` does not depend on the metric's scale (our addition; the paper uses raw R - b).
Softmax per decision instead of the LSTM controller is enough for hyperparameters; the
update is asynchronous (each finished trial updates the policy at once).
"""

from __future__ import annotations

import math

import numpy as np

from raymlx._internal.validation import check_int, check_number
from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.encoding import from_unit
from raymlx.searchers.space import build_config


class RLSearch(SpaceSearcher):
    """Policy-gradient search over a (conditional) Tune space."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, lr: float = 0.2, baseline_decay: float = 0.95,
                 bins: int = 10) -> None:
        check_number("lr", lr, 0, low_open=True)
        check_number("baseline_decay", baseline_decay, 0, 1, high_open=True)
        check_int("bins", bins, 2)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.lr = lr
        self.baseline_decay = baseline_decay
        self.bins = bins
        self.logits: dict[str, np.ndarray] = {}
        self.baseline: float | None = None
        self._reward_var = 0.0  # set with the baseline, at the first result

    # -- the policy
    def probabilities(self, label: str, n: int) -> np.ndarray:
        theta = self.logits.setdefault(label, np.zeros(n))
        e = np.exp(theta - theta.max())
        return e / e.sum()

    def _act(self, label: str, n: int, actions: dict) -> int:
        a = int(self._rng.choice(n, p=self.probabilities(label, n)))
        actions[label] = (a, n)
        return a

    def _propose(self, trial_id: str):
        actions: dict = {}

        def label(path, condition):  # one decision per leaf and enclosing choices
            return "/".join(path) + "".join(f"[{i}]" for _, i in condition)

        def choose(path, condition, n):
            return self._act(label(path, condition), n, actions)

        def number(path, condition, domain):
            k = self._act(label(path, condition), self.bins, actions)
            return from_unit(domain, self._rng.uniform(k / self.bins, (k + 1) / self.bins))

        config = build_config(self._space, choose, number, {})
        return config, actions

    # -- learning
    def _observe(self, config, meta, loss: float) -> None:
        if meta is None:  # a point to evaluate: its actions are unknown to the policy
            return
        reward = -loss
        if self.baseline is None:
            self.baseline, self._reward_var = reward, 0.0
            return
        advantage = reward - self.baseline
        self._reward_var = (self.baseline_decay * self._reward_var
                            + (1 - self.baseline_decay) * advantage ** 2)
        scaled = advantage / (math.sqrt(self._reward_var) + 1e-12)
        for label, (a, n) in meta.items():
            p = self.probabilities(label, n)
            grad = -p
            grad[a] += 1.0  # d log softmax(theta)[a] / d theta = onehot(a) - p
            self.logits[label] = self.logits[label] + self.lr * scaled * grad
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
