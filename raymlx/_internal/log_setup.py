"""raymlx's log lines on stderr (``[raymlx] ...``), at the level a ``verbosity`` asks for."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("raymlx")


def setup_logging(verbosity: int) -> None:
    """0: warnings only; 1: progress lines; 2 and above: debugging details too."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[raymlx] %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG))
