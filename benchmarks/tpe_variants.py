"""Variants of raymlx's TPE on the BBOB suite: how its good fraction was chosen against
other candidate counts and weights (docs/benchmarks/index.md, "Searchers at
small budgets and under concurrency").

Each variant is ``TPESearch`` with one setting changed, registered in
``hpo_drivers.SEARCHERS`` under a name of its own, then ``bbob.py`` runs as usual with the
same arguments; pass instances that the reported benchmark (1 to 3) does not use.

Reproduce (about 6 and 2 minutes here)::

    .venv/bin/python benchmarks/tpe_variants.py --instances 5,71 --dims 2,5,10 --jobs 2 \\
        --searchers optuna_tpe,v_g15,v_g10,v_c24,v_flat,v_pc24,v_optunalike \\
        --out /tmp/tpe_variants.json
    .venv/bin/python benchmarks/tpe_variants.py --instances 72,73 --dims 5,10 --jobs 2 \\
        --searchers v_g10,v_g15,optuna_tpe --out /tmp/tpe_variants_check.json
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bbob  # noqa: E402
import hpo_drivers  # noqa: E402

from raymlx.searchers import TPESearch  # noqa: E402


class TPEVariant(TPESearch):
    """TPESearch plus two switches the searcher itself does not have: flat weights on the
    good set (no recency ramp), and a candidate count used only while trials are pending."""

    def __init__(self, *args, flat_good: bool = False,
                 pending_candidates: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.flat_good = flat_good
        self.pending_candidates = pending_candidates

    def split(self):
        X_good, w_good, X_bad, w_bad = super().split()
        if self.flat_good:
            w_good = np.ones(len(X_good))
        return X_good, w_good, X_bad, w_bad

    def _propose_joint(self):
        usual = self.n_ei_candidates
        if self.pending_candidates and self._live:
            self.n_ei_candidates = self.pending_candidates
        try:
            return super()._propose_joint()
        finally:
            self.n_ei_candidates = usual


VARIANTS = {
    "v_g10": {"gamma": 0.10},  # Optuna's good fraction in every dimension
    "v_g15": {"gamma": 0.15},  # the fraction used in every dimension before 2026-12-08
    "v_c24": {"n_ei_candidates": 24},  # Optuna's candidate count
    "v_flat": {"flat_good": True},
    "v_pc24": {"pending_candidates": 24},
    "v_optunalike": {"gamma": 0.10, "n_ei_candidates": 24, "flat_good": True,
                     "n_startup": 10},
}
for _name, _settings in VARIANTS.items():
    hpo_drivers.SEARCHERS[_name] = hpo_drivers._ours(TPEVariant, **_settings)


if __name__ == "__main__":
    defaults = ["--functions", "1-24", "--evals", "100", "--concurrency", "1,4"]
    sys.exit(bbob.main(defaults + sys.argv[1:]))
