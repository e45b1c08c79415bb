"""Ctrl-C during a fit: stop at once, free every trial's resources, keep the fit resumable.

Tune's own SIGINT handler ends the experiment and returns as if it had finished, so a fit
could not tell a Ctrl-C from a finished search. raymlx installs its own handler while a fit
runs (:func:`interruptible`):

* outside a Tune experiment it raises :class:`FitInterrupted` where the main thread is;
* inside one (``interruptible(tune=True)``) it only records the request, and
  :class:`StopOnInterrupt`, a Tune callback, raises :class:`FitInterrupted` at the start or
  end of Tune's next loop step (every 0.1 s or sooner). An exception raised from a signal
  handler lands wherever the main thread happens to be, and Tune swallows exceptions in some
  of those places (waiting for its storage sync thread, stopping a trial), which let the fit
  run on; a callback raises it where Tune's loop answers by stopping every trial and
  freeing its resources before re-raising.

A second Ctrl-C raises at once wherever the main thread is. Leaving any :func:`interruptible`
block with a request recorded and no exception raises :class:`FitInterrupted`, so that a
request is never lost.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from ray.tune import Callback

from raymlx._internal.ray_session import temporary_env


class FitInterrupted(Exception):
    """Ctrl-C during a fit (raised by raymlx's SIGINT handler, see :func:`interruptible`)."""


class _State:
    requested = False  # Ctrl-C pressed during the current fit
    depth = 0          # nested interruptible() blocks
    tune_depth = 0     # of which inside a Tune experiment


def was_interrupted(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was caused by, Ctrl-C. Ray's Cython calls (``ray.wait``,
    ``ray.get``) turn an exception raised by a signal handler inside them into a
    ``SystemError`` whose cause is the original."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (KeyboardInterrupt, FitInterrupted)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def interrupt_requested() -> bool:
    """Whether Ctrl-C was pressed during the current fit."""
    return _State.requested


def _handler(signum, frame) -> None:
    first = not _State.requested
    _State.requested = True
    if first and _State.tune_depth > 0:
        return  # StopOnInterrupt raises at Tune's next step
    raise FitInterrupted("interrupted")


@contextmanager
def interruptible(tune: bool = False) -> Iterator[None]:
    """Ctrl-C inside the block ends it with :class:`FitInterrupted` (see the module's
    docstring); ``tune=True`` around ``Tuner.fit`` with :class:`StopOnInterrupt` among its
    callbacks. Only the main thread can set signal handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _State.depth == 0:
        _State.requested = False
    previous = signal.signal(signal.SIGINT, _handler)
    _State.depth += 1
    _State.tune_depth += int(tune)
    try:
        with ExitStack() as stack:
            if tune:  # Tune would otherwise install its own handler over ours
                stack.enter_context(temporary_env(TUNE_DISABLE_SIGINT_HANDLER="1"))
            yield
    finally:
        _State.depth -= 1
        _State.tune_depth -= int(tune)
        signal.signal(signal.SIGINT, previous)
    if _State.requested:  # e.g. Tune's loop ended before its next step
        raise FitInterrupted("interrupted")


class StopOnInterrupt(Callback):
    """Raises :class:`FitInterrupted` in Tune's loop once Ctrl-C was pressed."""

    def _check(self) -> None:
        if _State.requested:
            raise FitInterrupted("interrupted")

    def on_step_begin(self, iteration, trials, **info) -> None:
        self._check()

    def on_step_end(self, iteration, trials, **info) -> None:
        self._check()
