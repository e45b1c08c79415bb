"""Tables given as many files or as a Ray Dataset: a folder, a glob, a list of paths, a
``ray.data.Dataset``.

Before anything reads rows, every file's column names are read from its header (Parquet
footers, CSV first lines) and compared with the first file's, so a file with a missing or
extra column, a corrupt file, an empty folder or a pattern that matches nothing is one
:class:`~raymlx.errors.InputError` line naming the file. Paths with a scheme
(``s3://``, ``gs://``...) are not listed or checked here: they go to pyarrow / Ray Data
unchanged, which resolve their filesystem.

:func:`load_many` reads such a table into one DataFrame (the in-memory path);
:func:`open_dataset` opens it as a lazy ``ray.data.Dataset`` (batch scoring on the
cluster). The single-file and DataFrame cases stay :func:`raymlx.tabular.data.load_table`'s.
"""

from __future__ import annotations

import csv
import glob
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from raymlx.errors import InputError

if TYPE_CHECKING:
    import ray.data

PARQUET = (".parquet", ".pq")
CSV = (".csv", ".tsv", ".txt")
GLOB_CHARS = frozenset("*?[")


def is_dataset(data: Any) -> bool:
    """Whether ``data`` is a ``ray.data.Dataset`` (without importing Ray when it is not)."""
    return any(c.__module__.startswith("ray.data") and c.__name__ == "Dataset"
               for c in type(data).__mro__)


def is_many(data: Any) -> bool:
    """Whether ``data`` is a table this module reads: a Dataset, a list of paths, a folder
    or a glob pattern (a single file and a DataFrame are not)."""
    if is_dataset(data):
        return True
    if isinstance(data, (list, tuple)):
        return True
    if isinstance(data, (str, Path)):
        text = str(data)
        return _is_uri(text) or bool(GLOB_CHARS & set(text)) or Path(text).expanduser().is_dir()
    return False


def _is_uri(text: str) -> bool:
    return "://" in text


def _format_of(path: str) -> str:
    """``csv`` or ``parquet`` by the suffix; a remote path without one (a bucket folder)
    is taken as Parquet."""
    low = path.lower()
    if low.endswith(CSV):
        return "csv"
    if low.endswith(PARQUET) or _is_uri(low):
        return "parquet"
    raise InputError(f"{path!r} is neither a CSV nor a Parquet file (by its suffix)")


def _listed(folder: Path) -> list[str]:
    """The data files under ``folder`` (recursively, as Hive-partitioned Parquet is laid
    out), skipping hidden and underscore files such as ``_SUCCESS`` and ``.crc``."""
    files = [p for p in folder.rglob("*") if p.is_file()
             and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)]
    return sorted(str(p) for p in files if p.name.lower().endswith(PARQUET + CSV))


def expand_paths(data: str | Path | Sequence[str | Path], what: str) -> list[str]:
    """The files a folder, a glob or a list of paths (each of those) stands for, in a
    fixed order; one-line errors for nothing found and for mixed formats."""
    items = [data] if isinstance(data, (str, Path)) else list(data)
    if not items:
        raise InputError(f"the {what} is an empty list of paths")
    files: list[str] = []
    for item in items:
        if not isinstance(item, (str, Path)):
            raise InputError(f"the {what} list holds {item!r}; give paths to CSV or "
                             "Parquet files or folders")
        text = str(item)
        if _is_uri(text):
            files.append(text)
            continue
        path = Path(text).expanduser()
        if GLOB_CHARS & set(text):
            found = sorted(p for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not found:
                raise InputError(f"the {what} pattern {text!r} matches no files")
            files.extend(found)
        elif path.is_dir():
            found = _listed(path)
            if not found:
                raise InputError(f"the {what} folder {text!r} holds no CSV or Parquet files")
            files.extend(found)
        elif path.is_file():
            files.append(str(path))
        else:
            raise InputError(f"the {what} file {text!r} does not exist")
    formats = {_format_of(f) for f in files}
    if len(formats) > 1:
        raise InputError(f"the {what} mixes CSV and Parquet files; give one format")
    return files


def csv_separator(path: str) -> str:
    """The field separator of a CSV / TSV file, sniffed from its first 64 KiB."""
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        head = fh.read(64 * 1024)
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if path.lower().endswith(".tsv") else ","


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line (its type's name when it has none):
    pandas and pyarrow raise many types, and the user needs one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _columns(path: str, fmt: str, what: str) -> list[str]:
    """A file's column names from its footer or header line, not its rows."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        return list(pd.read_csv(path, nrows=0, sep=csv_separator(path)).columns)
    except Exception as exc:
        raise InputError(f"could not read the {what} file {path!r}: {first_line(exc)}") from None


def check_files(files: list[str], what: str) -> None:
    """Every local file's columns are the first file's (remote files are not checked
    here)."""
    local = [f for f in files if not _is_uri(f)]
    if not local:
        return
    fmt = _format_of(local[0])
    first = _columns(local[0], fmt, what)
    for path in local[1:]:
        cols = _columns(path, fmt, what)
        if cols != first:
            missing = [c for c in first if c not in cols]
            extra = [c for c in cols if c not in first]
            if missing:
                problem = f"has no column {missing[0]!r}"
            elif extra:
                problem = f"has a column {extra[0]!r}"
            else:
                problem = "has the same columns in another order"
            raise InputError(f"the {what} file {path!r} {problem}, unlike the first file "
                             f"{local[0]!r}; every file needs the same columns")
    if fmt == "parquet":
        _check_types(local, what)


def _check_types(files: list[str], what: str) -> None:
    """Parquet files whose column types Arrow cannot merge (text in one, numbers in
    another), found from the footers the way Ray Data merges them (types promoted where
    they can be: int and float, or a column of nulls, merge)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(f) for f in files]
    try:
        pa.unify_schemas(schemas, promote_options="permissive")
        return
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    merged = schemas[0]
    for path, schema in zip(files[1:], schemas[1:]):
        for field in schema:
            known = merged.field(field.name) if field.name in merged.names else None
            if known is None:
                continue
            try:
                pa.unify_schemas([pa.schema([known]), pa.schema([field])],
                                 promote_options="permissive")
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                raise InputError(
                    f"the {what} file {path!r} stores column {field.name!r} as "
                    f"{field.type}, where the files before it have {known.type}; every "
                    "file needs the same column types") from None
        merged = pa.unify_schemas([merged, schema], promote_options="permissive")


def load_many(data: Any, what: str) -> pd.DataFrame:
    """A Dataset, folder, glob or list of paths read into one DataFrame (rows in file
    order)."""
    if is_dataset(data):
        return data.to_pandas()
    files = expand_paths(data, what)
    check_files(files, what)
    try:
        if _format_of(files[0]) == "parquet":
            import pyarrow.dataset as pads

            fs, paths = _filesystem(files)
            source = paths[0] if len(paths) == 1 else paths  # one remote path may be a folder
            return pads.dataset(source, format="parquet", filesystem=fs).to_table().to_pandas()
        frames = [pd.read_csv(f, sep=csv_separator(f)) if not _is_uri(f) else pd.read_csv(f)
                  for f in files]
        return pd.concat(frames, ignore_index=True)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"could not read the {what}: {first_line(exc)}") from None


def _filesystem(files: list[str]) -> tuple[Any, list[str]]:
    """The pyarrow filesystem of URIs (one for all, by the first) and their paths on it;
    (None, files) for local paths."""
    if not _is_uri(files[0]):
        return None, files
    import pyarrow.fs as pafs

    fs, _ = pafs.FileSystem.from_uri(files[0])
    return fs, [pafs.FileSystem.from_uri(f)[1] for f in files]


def open_dataset(data: Any, what: str) -> ray.data.Dataset:
    """A lazy ``ray.data.Dataset`` over a Dataset, folder, glob, list of paths or single
    file (the files checked first)."""
    if is_dataset(data):
        return data
    import ray.data

    files = expand_paths(data, what)
    check_files(files, what)
    if _format_of(files[0]) == "parquet":
        return ray.data.read_parquet(files)
    local = [f for f in files if not _is_uri(f)]
    sep = csv_separator(local[0]) if local else ","
    if sep == ",":
        return ray.data.read_csv(files)
    import pyarrow.csv as pacsv

    return ray.data.read_csv(files, parse_options=pacsv.ParseOptions(delimiter=sep))
