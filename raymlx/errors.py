"""Errors raymlx raises for problems a user can fix.

Every check on user input ends in an ``InputError`` with one line that names what was wrong
and what to do, raised before any training starts.
"""

from __future__ import annotations


class InputError(ValueError):
    """A bad table, argument, path or saved folder, explained in one line."""


class LoadError(InputError):
    """A saved predictor folder that is missing, broken, foreign or from another format."""


class DiskFullError(InputError):
    """A write that ran out of disk space; what was saved before it is left intact."""


class FitError(RuntimeError):
    """A fit that produced no usable model (every trial failed or ran out of time)."""


def last_line(text: str, default: str) -> str:
    """The last non-empty line of an error's text, at most 300 characters: Tune wraps a
    trial's exception in a traceback whose last line names the original one."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else default)[:300]
