"""A per-trial memory limit: past it, the trial fails with a recorded error and the fit goes
on.

Ray's ``memory`` resource is logical: it keeps a node from taking more trials than its RAM
was declared to hold, but nothing stops one trial from growing past its share, and Ray's
own out-of-memory killer acts only when the whole node is nearly full (and then the victim
is retried, and grows again). So a trial runs under a :class:`MemoryGuard`: a daemon thread
samples the process's private resident memory (``RssAnon``: not the object store's shared
pages the trial reads its data from, nor the libraries' code) every ``interval`` seconds
and, once it has grown by more than the limit since the trial started (a reused Tune actor
may still hold memory from earlier trials), raises :class:`MemoryLimitExceeded` in the
trial's thread (an asynchronous exception,
delivered at that thread's next Python bytecode; the tree learners return to Python between
rounds or chunks of trees). A thread stuck in native code for ``grace`` seconds more cannot
be interrupted that way; the guard then calls ``on_stuck`` (which records the overrun with
the resource manager, so the retry fails at once instead of growing again) and ends the
process.

Memory is read from ``/proc/self/status`` by hand (Linux; elsewhere the peak RSS from
``getrusage``) so that raymlx does not need psutil, which Ray does not install.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
import threading
import time
from collections.abc import Callable


class MemoryLimitExceeded(Exception):
    """Raised inside a trial whose process grew past its memory limit."""


def status_bytes(field: str) -> int | None:
    """A memory field of ``/proc/self/status`` in bytes: ``RssAnon`` (private resident),
    ``VmRSS`` (all resident), ``VmHWM`` (the peak of ``VmRSS`` since start or
    :func:`reset_peak`); None where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak() -> None:
    """Starts ``VmHWM`` again from the resident memory now (Linux ``clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def process_rss() -> int:
    """This process's private resident memory in bytes (``RssAnon``; the peak RSS where
    /proc is missing)."""
    rss = status_bytes("RssAnon")
    if rss is not None:
        return rss
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def node_memory() -> tuple[int, int]:
    """``(used, total)`` bytes of this machine's RAM (used = total - available)."""
    try:
        fields = {}
        with open("/proc/meminfo") as fh:
            for line in fh:
                key, value = line.split(":", 1)
                fields[key] = int(value.split()[0]) * 1024
        total = fields["MemTotal"]
        return total - fields.get("MemAvailable", fields.get("MemFree", 0)), total
    except (OSError, KeyError, ValueError):
        return 0, 0


def _raise_in_thread(thread_id: int, exc: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc))


class MemoryGuard:
    """``with MemoryGuard(limit):`` fails the enclosed code once the process's private
    memory has grown by more than ``limit`` bytes.

    After the block, ``peak`` is the highest private memory sampled and ``exceeded``
    whether the limit was passed; ``message`` says by how much. The exception is only ever
    raised while the block runs: leaving the block withdraws one not yet delivered, so the
    caller checks ``exceeded`` afterwards.
    """

    def __init__(self, limit: float | None, interval: float = 0.1, grace: float = 10.0,
                 on_stuck: Callable[[str], None] | None = None) -> None:
        self.limit = limit
        self.interval = interval
        self.grace = grace
        self.on_stuck = on_stuck
        self.peak = 0
        self.exceeded = False
        self.message = ""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MemoryGuard:
        self.base = self.peak = process_rss()
        if self.limit:
            self._target = threading.get_ident()
            self._active = True
            self._thread = threading.Thread(target=self._watch, daemon=True,
                                            name="raymlx-memory-guard")
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            if self._active:
                self._active = False
                # withdraw an exception the watcher sent that has not been raised yet
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._target),
                                                           None)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self.peak = max(self.peak, process_rss())

    def _watch(self) -> None:
        limit = self.limit
        assert limit is not None  # the watcher runs only with a limit
        fired_at = None
        while not self._stop.wait(self.interval):
            rss = process_rss()
            self.peak = max(self.peak, rss)
            if fired_at is None and rss - self.base > limit:
                with self._lock:
                    if not self._active:
                        return
                    self.exceeded = True
                    self.message = (f"memory limit exceeded: the trial's process grew by "
                                    f"{(rss - self.base) / 2**20:.0f} MiB, over its limit of "
                                    f"{limit / 2**20:.0f} MiB (memory_per_trial)")
                    fired_at = time.time()
                    _raise_in_thread(self._target, MemoryLimitExceeded)
            elif fired_at is not None and time.time() - fired_at > self.grace:
                if self.on_stuck is not None:
                    self.on_stuck(self.message)
                os._exit(137)  # stuck in native code: only ending the process frees it
