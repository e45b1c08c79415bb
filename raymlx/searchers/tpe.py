"""TPE: the Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, NeurIPS 2011).

TPE models p(x | y) instead of p(y | x): the observed losses are split at a quantile into
"good" and "bad", a Parzen density is fitted to each (per dimension, following the tree of
conditional choices), and the next point is the candidate drawn from the good density with
the best ratio good/bad, which maximises expected improvement. The maths is hyperopt's
``tpe.suggest`` (gamma 0.25, 24 candidates, 20 random start-up points by default); raymlx
adds the Tune side: conditional spaces with unique labels, seeding, points to evaluate that
are *told* to the model, asynchronous suggestions and save/restore.
"""

from __future__ import annotations

import hyperopt
from hyperopt import tpe

from raymlx.searchers.base import SpaceSearcher
from raymlx.searchers.hyperopt_space import clip_to_space, config_to_vals, to_hyperopt
from raymlx.validation import check_int, check_number


class TPESearch(SpaceSearcher):
    """hyperopt's TPE behind raymlx's searcher contract."""

    def __init__(self, metric=None, mode=None, seed=None, points_to_evaluate=None,
                 space=None, n_startup: int = 20, gamma: float = 0.25,
                 n_ei_candidates: int = 24) -> None:
        check_int("n_startup", n_startup, 1)
        check_number("gamma", gamma, 0, 1, low_open=True, high_open=True)
        check_int("n_ei_candidates", n_ei_candidates, 1)
        super().__init__(metric, mode, seed, points_to_evaluate, space)
        self.n_startup = n_startup
        self.gamma = gamma
        self.n_ei_candidates = n_ei_candidates
        self._domain = None
        self._trials = hyperopt.Trials()

    def _hyperopt_domain(self):
        if self._domain is None:
            self._expr = to_hyperopt(self._space)
            self._domain = hyperopt.Domain(lambda config: 0.0, self._expr)
        return self._domain

    def _propose(self, trial_id: str):
        domain = self._hyperopt_domain()
        tid = self._trials.new_trial_ids(1)[0]
        self._trials.refresh()
        docs = tpe.suggest([tid], domain, self._trials, int(self._rng.integers(2**31 - 1)),
                           n_startup_jobs=self.n_startup, gamma=self.gamma,
                           n_EI_candidates=self.n_ei_candidates, verbose=False)
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        vals = {k: v[0] for k, v in docs[0]["misc"]["vals"].items() if v}
        config = clip_to_space(self._space, hyperopt.space_eval(self._expr, vals))
        return config, tid

    def _observe(self, config, meta, loss: float) -> None:
        domain = self._hyperopt_domain()
        if meta is None:  # a point to evaluate: add it to the model as a finished trial
            vals = config_to_vals(self._space, config, list(domain.params))
            if vals is None:
                return
            tid = self._trials.new_trial_ids(1)[0]
            misc = {"tid": tid, "cmd": domain.cmd, "workdir": None,
                    "idxs": {k: [tid] if v else [] for k, v in vals.items()}, "vals": vals}
            docs = self._trials.new_trial_docs([tid], [None], [{"status": "new"}], [misc])
            self._trials.insert_trial_docs(docs)
            self._trials.refresh()
            meta = tid
        for doc in self._trials._dynamic_trials:
            if doc["tid"] == meta:
                doc["result"] = {"loss": loss, "status": hyperopt.STATUS_OK}
                doc["state"] = hyperopt.JOB_STATE_DONE
        self._trials.refresh()

    def save(self, checkpoint_path: str) -> None:
        self._domain = None  # hyperopt's Domain holds a lambda; rebuilt on demand
        super().save(checkpoint_path)
