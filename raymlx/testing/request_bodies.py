"""Hostile request bodies for property-based tests of ``raymlx serve`` (hypothesis).

:func:`request_bodies` draws, for a served predictor's published schema
(:func:`~raymlx.tabular.serving.request_rows.predictor_schema`), the bodies a careless or
hostile caller sends to ``POST /predict``: JSON lists of rows whose values have the wrong
type (text or ``true`` in a number column, a list or an object in a category column),
integers too large for a float, ``"NaN"``/``"Infinity"`` as text, unicode, dates that
are not dates, columns left out or never seen, rows that are not objects, a body that is
not a list, truncated JSON, bytes that are not UTF-8, an empty body or list, more rows
than a request may carry, and the same as CSV (ragged lines, a header alone). Each drawn
body lists the kinds it holds.

:func:`respond` is what a replica does with a body (the checks of
:mod:`~raymlx.tabular.serving.request_rows`, then the predictor), without HTTP; the
property the tests hold is that every body is answered (one prediction per row) or
refused with an ``InputError`` of one line (HTTP 400), and never raises anything else
(HTTP 500). ``tests/tabular/test_fuzz_serving.py`` holds it in process and over HTTP
against ``raymlx serve``; ``benchmarks/fuzz_serving.py`` counts the outcomes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

VALUE_KINDS = ("text_in_number", "bool_in_number", "huge_int", "nan_as_text", "inf_as_text",
               "list_in_category", "object_in_category", "unicode_value", "not_a_date",
               "null_value", "number_in_category", "numbers_as_text")
SHAPE_KINDS = ("rows", "rows_key", "missing_column", "extra_column", "row_not_object",
               "not_a_list", "empty_list", "too_many_rows", "truncated_json", "not_utf8",
               "empty_body", "csv", "csv_ragged", "csv_header_only", "unknown_type")


@dataclass
class Body:
    """One drawn request: its bytes, content type, the rows it carries when it is a
    well-formed list, and the kinds of input it holds."""

    data: bytes
    content_type: str
    rows: int | None
    kinds: set[str] = field(default_factory=set)


def _good(column: dict[str, Any], rng: np.random.Generator) -> Any:
    kind = column["type"]
    if kind == "numeric":
        return float(np.round(rng.normal(), 3)) if rng.random() > 0.1 else None
    if kind == "bool":
        return bool(rng.random() < 0.5)
    if kind == "datetime":
        return f"2020-0{int(rng.integers(1, 10))}-1{int(rng.integers(0, 10))}"
    seen = column.get("most_frequent") or ["a"]
    return seen[int(rng.integers(0, len(seen)))]


APPLIES = {"text_in_number": ("numeric",), "bool_in_number": ("numeric",),
           "huge_int": ("numeric",), "numbers_as_text": ("numeric",),
           "list_in_category": ("category",), "object_in_category": ("category",),
           "number_in_category": ("category",), "not_a_date": ("datetime",)}


def _bad(kind: str, column: dict[str, Any], rng: np.random.Generator) -> Any:
    """A value of ``kind`` for ``column``; the kinds that do not apply give a good one."""
    numeric, category = column["type"] == "numeric", column["type"] == "category"
    if kind == "text_in_number" and numeric:
        return str(rng.choice(["tall", "1,5", "12 kg", "", " "]))
    if kind == "bool_in_number" and numeric:
        return bool(rng.random() < 0.5)
    if kind == "huge_int" and numeric:
        return 10 ** int(rng.integers(309, 500))
    if kind == "nan_as_text":
        return str(rng.choice(["NaN", "nan", "null", "None"]))
    if kind == "inf_as_text":
        return str(rng.choice(["Infinity", "-inf", "1e999"]))
    if kind == "list_in_category" and category:
        return ["a", 1]
    if kind == "object_in_category" and category:
        return {"value": "a"}
    if kind == "unicode_value":
        return str(rng.choice(["ünïcödé", "日本語", "🙂", "\u202e", "a\x00b"]))
    if kind == "not_a_date" and column["type"] == "datetime":
        return str(rng.choice(["yesterday", "2020-13-45", "99999-01-01", ""]))
    if kind == "null_value":
        return None
    if kind == "number_in_category" and category:
        return float(rng.normal())
    if kind == "numbers_as_text" and numeric:
        return f"{rng.normal():.3f}"
    return _good(column, rng)


def _rows(schema: dict[str, Any], n: int, value_kinds: list[str],
          rng: np.random.Generator) -> list[dict[str, Any]]:
    columns = schema["columns"]
    rows = [{c["name"]: _good(c, rng) for c in columns} for _ in range(n)]
    for kind in value_kinds:  # each bad value lands in one random cell it applies to
        fits = [c for c in columns if c["type"] in APPLIES.get(kind, (c["type"],))]
        if fits:
            c = fits[int(rng.integers(0, len(fits)))]
            rows[int(rng.integers(0, n))][c["name"]] = _bad(kind, c, rng)
    return rows


def _csv(rows: list[dict[str, Any]]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8", "surrogatepass")


@st.composite
def request_bodies(draw: Any, schema: dict[str, Any], max_rows: int = 8) -> Body:
    """A strategy of :class:`Body` for a predictor whose ``GET /schema`` is ``schema``."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    # half the bodies are plain lists of rows, where the values are what is under test
    shape = draw(st.sampled_from(SHAPE_KINDS + ("rows",) * (len(SHAPE_KINDS) - 1)))
    value_kinds = draw(st.lists(st.sampled_from(VALUE_KINDS), max_size=3, unique=True))
    n = draw(st.integers(1, max_rows))
    kinds = {shape, *value_kinds}
    rows = _rows(schema, n, value_kinds, rng)
    names = [c["name"] for c in schema["columns"]]
    if shape == "missing_column" and names:
        gone = names[int(rng.integers(0, len(names)))]
        del rows[int(rng.integers(0, n))][gone]
    elif shape == "extra_column":
        for row in rows:
            row["never_seen_" + str(rng.integers(0, 99))] = float(rng.normal())
    if shape in ("csv", "csv_ragged", "csv_header_only"):
        text = _csv(rows)
        if shape == "csv_ragged":
            text += b"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22\n"
        elif shape == "csv_header_only":
            text = text.split(b"\n")[0] + b"\n"
        return Body(text, "text/csv", None, kinds)
    if shape == "too_many_rows":
        from raymlx.tabular.serving.request_rows import MAX_ROWS

        rows = rows * (MAX_ROWS // n + 1)
    payload: Any = rows
    if shape == "rows_key":
        payload = {"rows": rows}
    elif shape == "row_not_object":
        payload = [*rows[:-1], list(rows[-1].values())]
    elif shape == "not_a_list":
        payload = draw(st.sampled_from([{"x": 1}, 3, "rows", None, True]))
    elif shape == "empty_list":
        payload = []
    data = json.dumps(payload, allow_nan=True, default=str).encode("utf-8", "surrogatepass")
    if shape == "truncated_json":
        data = data[:max(1, int(len(data) * rng.random()))]
    elif shape == "not_utf8":
        data = b"\xff\xfe" + data
    elif shape == "empty_body":
        data = b""
    content_type = "application/xml" if shape == "unknown_type" else "application/json"
    well_formed = shape in ("rows", "rows_key", "extra_column", "missing_column",
                            "too_many_rows")
    return Body(data, content_type, len(rows) if well_formed else None, kinds)


def respond(aml: Any, schema: dict[str, Any], body: Body) -> dict[str, Any]:
    """What a replica answers for ``body`` (``POST /predict`` without HTTP): the answer,
    or the one-line ``InputError`` a 400 carries. Anything else raised is a 500."""
    from raymlx.tabular.serving.request_rows import answer, rows_from_body

    frame = rows_from_body(body.data, body.content_type, schema)
    return answer(aml, frame, schema.get("model"))


def peer_respond(aml: Any, body: Body) -> dict[str, Any]:
    """The endpoint a user writes by hand around the same predictor (the peer in
    ``benchmarks/fuzz_serving.py``): the body into a DataFrame, then predict."""
    if body.content_type == "text/csv":
        import io

        frame = pd.read_csv(io.BytesIO(body.data))
    else:
        payload = json.loads(body.data)
        frame = pd.DataFrame(payload["rows"] if isinstance(payload, dict) else payload)
    return {"predictions": aml.predict(frame).tolist()}


def outcome(call: Any) -> tuple[str, str]:
    """(``answered``/``refused``/``crashed``, a short detail) for ``call()``."""
    from raymlx.errors import InputError

    try:
        out = call()
    except InputError as exc:
        text = str(exc)
        return ("refused" if text and "\n" not in text.strip() else "crashed",
                text.splitlines()[0] if text else "")
    except Exception as exc:  # noqa: BLE001 - the outcome being counted
        return "crashed", f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:120]}"
    return "answered", str(len(out.get("predictions", [])))
