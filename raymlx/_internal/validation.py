"""Constructor-argument checks shared by AutoML, the searchers and the schedulers.

Each failure is one :class:`~raymlx.errors.InputError` line that quotes the bad value and
the allowed range, raised before any work starts (scikit-learn's rule: check in one place).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raymlx.errors import InputError


def check_int(name: str, value: Any, low: int, high: int | None = None,
              allow_none: bool = False) -> None:
    """``value`` is an integer in ``[low, high]`` (``high`` None: no upper bound)."""
    if value is None and allow_none:
        return
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        span = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
        raise InputError(f"{name}={value!r} is invalid; it must be {span}"
                         + (" or None" if allow_none else ""))


def check_number(name: str, value: Any, low: float, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> None:
    """``value`` is a real number inside the interval; ``*_open`` excludes that bound."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        span = f"in {left}{low}, {high}{right}" if high is not None else (
            f"> {low}" if low_open else f">= {low}")
        raise InputError(f"{name}={value!r} is invalid; it must be a number {span}")
