"""Modules that moved when the tabular product went into ``raymlx/tabular/``: old import
paths keep working (with a ``DeprecationWarning``), and predictors and fit folders pickled
by the flat layout still load.

Two mechanisms read one table, :data:`MOVED_MODULES`:

- :class:`MovedModuleFinder`, installed on ``sys.meta_path`` by ``import raymlx``, answers an
  import of an old module (``raymlx.metrics``, ``raymlx.models.lightgbm``) with the module at
  its new place, so both names are the same module object;
- :class:`RenamingUnpickler` also maps the classes that changed name or module
  (:data:`MOVED_NAMES`), for the pickles written before the move.

Written here because this is bookkeeping of raymlx's own history; the import-system and
unpickler hooks are the standard library's (``importlib.abc``, ``pickle.Unpickler``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import pickle
import sys
import warnings
from types import ModuleType
from typing import IO, Any

# old module (and its submodules) -> new module
MOVED_MODULES: dict[str, str] = {
    "raymlx.automl": "raymlx.tabular.automl",
    "raymlx.data": "raymlx.tabular.data",
    "raymlx.metrics": "raymlx.tabular.metrics",
    "raymlx.models": "raymlx.tabular.models",
    "raymlx.ensembles": "raymlx.tabular.ensembles",
    "raymlx.tuning": "raymlx.tabular.engine.search",
    "raymlx.trial": "raymlx.tabular.engine.trial",
    "raymlx.oof_store": "raymlx.tabular.engine.oof_store",
    "raymlx.fit_state": "raymlx.tabular.engine.ledger",
    "raymlx.interrupt": "raymlx.tabular.engine.interrupt",
    "raymlx.progress": "raymlx.tabular.engine.progress",
    "raymlx.predictor": "raymlx.tabular.predictor",
    "raymlx.persistence": "raymlx.tabular.persistence",
    "raymlx.explain": "raymlx.tabular.explain",
    "raymlx.actor_reuse": "raymlx.schedulers.in_order",
    "raymlx.validation": "raymlx._internal.validation",
    "raymlx.ray_session": "raymlx._internal.ray_session",
}

# (old module, old name) -> (new module, new name), for what a pickle may name
MOVED_NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("raymlx.data", "Task"): ("raymlx.tabular.problem", "Problem"),
    ("raymlx.models.base", "Problem"): ("raymlx.tabular.problem", "Problem"),
    ("raymlx.data", "TablePreprocessor"): ("raymlx.tabular.preprocess", "TablePreprocessor"),
    ("raymlx.data", "_Column"): ("raymlx.tabular.preprocess", "_Column"),
    ("raymlx.tuning", "ModelRecord"): ("raymlx.tabular.predictor", "ModelRecord"),
}


def new_module_name(name: str) -> str | None:
    """Where the module ``name`` lives now, or None when it did not move."""
    for old, new in MOVED_MODULES.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The module is the one already imported at its new place: nothing to run."""


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds an old module name and hands back the module at its new place."""

    def find_spec(self, fullname: str, path: Any = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        new = new_module_name(fullname)
        if new is None:
            return None
        warnings.warn(f"{fullname} moved to {new}; import it from there",
                      DeprecationWarning, stacklevel=2)
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    """Puts the finder on ``sys.meta_path`` once (``import raymlx`` calls this)."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())  # before the path finders


class RenamingUnpickler(pickle.Unpickler):
    """Unpickles objects that name a class by its old module or name."""

    def find_class(self, module: str, name: str) -> Any:
        module, name = MOVED_NAMES.get((module, name), (module, name))
        module = new_module_name(module) or module
        return super().find_class(module, name)


def load_pickle(fh: IO[bytes]) -> Any:
    """``pickle.load`` that also reads pickles written before the move."""
    return RenamingUnpickler(fh).load()
