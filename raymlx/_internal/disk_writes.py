"""Writes that run out of disk space end in one line naming the path, and leave what was
there before intact.

A full disk (``ENOSPC``), an exhausted quota (``EDQUOT``) or a file-size limit (``EFBIG``)
raise :class:`raymlx.errors.DiskFullError` instead of an ``OSError`` traceback from deep
inside pickle or shutil. Callers write to a temporary file or folder and swap it in with
``os.replace`` (a save, the fit state), or append and cut back on failure (the ledger), so
the previous state survives the failed write and the same call succeeds once space is
freed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from raymlx.errors import DiskFullError

NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


@contextmanager
def space_checked(path: str | Path, what: str, kept: str) -> Iterator[None]:
    """Turns an out-of-space ``OSError`` inside the block into a one-line
    ``DiskFullError`` that names ``path``, what was being written and what was ``kept``."""
    try:
        yield
    except OSError as err:
        if err.errno not in NO_SPACE:
            raise
        raise DiskFullError(f"no space left to write {what} at {str(path)!r} "
                            f"({os.strerror(err.errno)}); {kept}; free space and "
                            "try again") from None


def append_line(path: Path, line: str, what: str) -> None:
    """Appends ``line`` and a newline to ``path`` in one unbuffered write, flushed to the OS
    at once; on a full disk the file is cut back to its previous length, so no half line
    is left for the next line to join."""
    data = (line + "\n").encode()
    with space_checked(path, what, "the lines written before are intact"):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.fstat(fd).st_size
            try:
                written = os.write(fd, data)
                if written != len(data):  # a short write: the disk filled up mid-line
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            except OSError:
                os.ftruncate(fd, start)
                raise
        finally:
            os.close(fd)
