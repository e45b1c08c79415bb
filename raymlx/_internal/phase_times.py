"""The seconds each phase of a fit takes, recorded where the phase runs and reported by
``AutoML.fit_summary`` (``phase_times_``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    """Adds the seconds the block takes to ``phases[name]``."""
    t0 = time.time()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.time() - t0
