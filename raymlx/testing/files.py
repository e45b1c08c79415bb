"""Hostile CSV files for property-based tests of raymlx's file reading (hypothesis).

:func:`csv_files` draws a table with :func:`raymlx.testing.tables.tables` and writes it as
CSV bytes, then damages the bytes the way files arrive in practice: another delimiter, a
byte-order mark, Windows line ends, Latin-1 instead of UTF-8, a file cut short, random bytes
inserted, an unbalanced quote, a ragged row, only the header, nothing at all, or no CSV at
all. The property the tests hold (``tests/tabular/test_fuzz_inputs.py``) is that fitting
on such a file, up to the start of Ray (:func:`raymlx.testing.tables.prepare_only`), works
or raises ``InputError`` with one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from raymlx.testing.tables import Example, tables

DAMAGE_KINDS = ("clean", "semicolon", "tab", "bom", "crlf", "latin1", "truncated",
                "inserted_bytes", "unbalanced_quote", "ragged_row", "header_only", "empty",
                "not_csv")


@dataclass
class FileExample:
    """CSV bytes, the label the fit is asked for, and the kinds they hold."""

    data: bytes
    label: str
    table: Example
    kinds: set[str] = field(default_factory=set)

    def write(self, folder: Path, name: str = "train.csv") -> Path:
        path = Path(folder) / name
        path.write_bytes(self.data)
        return path


def _damage(kind: str, text: str, rng: np.random.Generator) -> bytes:
    data = text.encode("utf-8")
    lines = text.splitlines(keepends=True)
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    if kind == "latin1":
        return (text.replace("a", "é", 3) + "ü\n").encode("latin-1", errors="replace")
    if kind == "truncated":
        return data[: int(rng.integers(0, max(1, len(data))))]
    if kind == "inserted_bytes":
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            at = int(rng.integers(0, len(out) + 1))
            out[at:at] = rng.bytes(int(rng.integers(1, 4)))
        return bytes(out)
    if kind == "unbalanced_quote" and len(lines) > 1:
        k = int(rng.integers(1, len(lines)))
        lines[k] = '"' + lines[k]
        return "".join(lines).encode("utf-8")
    if kind == "ragged_row" and len(lines) > 1:
        k = int(rng.integers(1, len(lines)))
        lines[k] = lines[k].rstrip("\n") + ",1,2,3\n"
        return "".join(lines).encode("utf-8")
    if kind == "header_only":
        return "".join(lines[:1]).encode("utf-8")
    if kind == "empty":
        return b""
    if kind == "not_csv":
        return rng.bytes(int(rng.integers(1, 400)))
    return data


@st.composite
def csv_files(draw: Any) -> FileExample:
    """A hypothesis strategy of :class:`FileExample`."""
    table = draw(tables())
    kind = draw(st.sampled_from(DAMAGE_KINDS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sep = {"semicolon": ";", "tab": "\t"}.get(kind, ",")
    text = table.train.to_csv(index=False, sep=sep)
    return FileExample(_damage(kind, text, rng), table.label, table,
                       table.kinds | {f"file:{kind}"})


__all__ = ["DAMAGE_KINDS", "FileExample", "csv_files"]
