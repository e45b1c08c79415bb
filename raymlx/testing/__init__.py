"""Conformance suites to import in your own tests (they need pytest), as Optuna ships its
sampler tests: subclass one, name the subclass ``Test...``, and pytest runs the contract.

- :class:`SearcherTestCase` (``raymlx.testing.searchers``): any Tune ``Searcher``;
- :class:`SchedulerTestCase` (``raymlx.testing.schedulers``): any Tune ``TrialScheduler``,
  driven by the Ray-free :class:`Simulation` (``raymlx.testing.simulator``);
- :class:`FamilyTestCase` (``raymlx.testing.families``): a model family of
  ``raymlx.tabular``.

raymlx runs every one of its own searchers, schedulers and families through them.
"""

from __future__ import annotations

from typing import Any

_WHERE = {"SearcherTestCase": "searchers", "SchedulerTestCase": "schedulers",
          "FamilyTestCase": "families", "Simulation": "simulator"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"raymlx.testing.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'raymlx.testing' has no attribute {name!r}")
