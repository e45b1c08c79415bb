"""Argument constraints as data, checked in one place.

A class lists its arguments' constraints once, as a mapping from argument name to a
:class:`Constraint` (scikit-learn's ``_parameter_constraints`` idea), and calls
:func:`validate` where its work starts (``AutoML.fit``, a searcher's constructor). Each
failure is one :class:`~raymlx.errors.InputError` line that quotes the bad value and what is
allowed: ``num_folds=1 is invalid; it must be an integer from 2 to 20``.

Written here rather than taken from scikit-learn: its ``utils._param_validation`` is private
API and raises its own error type, where raymlx promises ``InputError`` with this wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from raymlx.errors import InputError


class Constraint:
    """What one argument may be; ``a | b`` allows either."""

    def allows(self, value: Any) -> bool:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def check(self, name: str, value: Any) -> None:
        """Raises the one-line ``InputError`` when ``value`` is not allowed."""
        if not self.allows(value):
            raise InputError(f"{name}={value!r} is invalid; {self.describe()}")

    def __or__(self, other: Constraint) -> Constraint:
        return AnyOf((self, other))


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool) and not np.isnan(value)


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer in ``[low, high]`` (``high`` None: no upper bound)."""

    low: int
    high: int | None = None

    def allows(self, value: Any) -> bool:
        return _is_int(value) and self.low <= value and (self.high is None
                                                        or value <= self.high)

    def describe(self) -> str:
        span = (f"an integer from {self.low} to {self.high}" if self.high is not None
                else f"an integer >= {self.low}")
        return f"it must be {span}"


@dataclass(frozen=True)
class Real(Constraint):
    """A real number (not NaN) inside the interval; ``*_open`` excludes that bound."""

    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def allows(self, value: Any) -> bool:
        if not _is_real(value):
            return False
        ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        return bool(ok)

    def describe(self) -> str:
        if self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            span = f"in {left}{self.low}, {self.high}{right}"
        else:
            span = f"> {self.low}" if self.low_open else f">= {self.low}"
        return f"it must be a number {span}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a few fixed values (compared with ``==``, types included)."""

    values: tuple

    def allows(self, value: Any) -> bool:
        return any(value is v or (type(value) is type(v) and value == v)
                   for v in self.values)

    def describe(self) -> str:
        shown = [v for v in self.values if v is not None]
        text = ", ".join(str(v) if isinstance(v, str) else repr(v) for v in shown)
        return f"choose one of: {text}" + (" or None" if None in self.values else "")


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False (numpy booleans included)."""

    def allows(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "give True or False"


@dataclass(frozen=True)
class Text(Constraint):
    """A non-empty string."""

    what: str = "a non-empty string"

    def allows(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value)

    def describe(self) -> str:
        return f"give {self.what}"


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """An instance of one of ``types`` (imported lazily, by dotted name, so that a
    constraint table does not import what it names)."""

    types: tuple[str, ...]
    what: str

    def allows(self, value: Any) -> bool:
        import importlib

        for dotted in self.types:
            module, _, name = dotted.rpartition(".")
            if isinstance(value, getattr(importlib.import_module(module), name)):
                return True
        return False

    def describe(self) -> str:
        return f"give {self.what}"


@dataclass(frozen=True)
class Checked(Constraint):
    """A value ``check(value)`` accepts; it raises ``InputError`` with its own message."""

    check_value: Callable[[Any], Any]

    def allows(self, value: Any) -> bool:  # pragma: no cover - check() is overridden
        return True

    def check(self, name: str, value: Any) -> None:
        self.check_value(value)

    def describe(self) -> str:  # pragma: no cover
        return "see the argument's documentation"


@dataclass(frozen=True)
class AnyOf(Constraint):
    """Any one of ``parts`` (``Integer(1) | Options((None,))``)."""

    parts: tuple[Constraint, ...]

    def __or__(self, other: Constraint) -> Constraint:
        return AnyOf((*self.parts, other))

    def allows(self, value: Any) -> bool:
        return any(p.allows(value) for p in self.parts)

    def describe(self) -> str:
        nones = [p for p in self.parts if isinstance(p, Options) and p.values == (None,)]
        others = [p for p in self.parts if p not in nones]
        text = "; or ".join(p.describe() for p in others)
        return text + (" or None" if nones else "")


NONE = Options((None,))


def validate(values: Mapping[str, Any], constraints: Mapping[str, Constraint]) -> None:
    """Checks every argument named in ``constraints`` (in their order)."""
    for name, constraint in constraints.items():
        constraint.check(name, values[name])


def check_int(name: str, value: Any, low: int, high: int | None = None,
              allow_none: bool = False) -> None:
    """``value`` is an integer in ``[low, high]`` (``high`` None: no upper bound)."""
    (Integer(low, high) | NONE if allow_none else Integer(low, high)).check(name, value)


def check_number(name: str, value: Any, low: float, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> None:
    """``value`` is a real number inside the interval; ``*_open`` excludes that bound."""
    Real(low, high, low_open, high_open).check(name, value)
