"""A name that is both a constructor argument and a method: ``AutoML(refit_full=True)``
and ``aml.refit_full()``, as AutoGluon users know them.

scikit-learn keeps each constructor argument as an attribute of the same name, and an
instance attribute hides a method of that name. :class:`MethodAndArgument` is a data
descriptor, so it wins over the instance: assigning stores the argument's value under
another key, reading gives the bound method. The class's ``get_params`` reads the value
back with :func:`argument_value` (``clone`` and ``set_params`` then work as for any other
argument).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


class MethodAndArgument:
    """Wraps a method whose name is also a constructor argument (see the module)."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self.method = method
        self.key = f"_{method.__name__}_argument"
        self.__doc__ = method.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self.method if obj is None else types.MethodType(self.method, obj)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value


def argument_value(obj: Any, name: str, default: Any = None) -> Any:
    """The constructor argument ``name`` stored by a :class:`MethodAndArgument`."""
    return obj.__dict__.get(f"_{name}_argument", default)
