"""What a served predictor accepts and answers, without Ray: the schema it publishes, a
request body (a JSON list of row objects, or CSV) checked against it, and the answer.

Bad input gets one line naming the row and the column at fault (``RequestError``), before
any row reaches the model, so one bad request never fails the others batched with it.
A column the predictor dropped at fit time (an identifier, a constant) may be sent or left
out; a column it reads must be in every row, with ``null`` for a missing value; columns it
never saw are ignored.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from raymlx.errors import InputError

MAX_ROWS = 10_000  # rows per request; more belong in batch scoring (raymlx predict)
_KIND_TEXT = {"numeric": "a number", "bool": "true or false", "category": "a text or number",
              "datetime": "a date or time as text"}


class RequestError(InputError):
    """A request the predictor cannot score, in one line (answered with HTTP 400)."""


def predictor_schema(aml: Any, model: str | None = None) -> dict[str, Any]:
    """What ``GET /schema`` answers: the columns a row needs, and what comes back."""
    prep = aml.preprocessor_
    columns = []
    for c in prep.columns_:
        entry: dict[str, Any] = {"name": c.name, "type": c.kind, "expects": _KIND_TEXT[c.kind]}
        if c.kind == "category":
            entry["categories"] = len(c.categories)
            entry["most_frequent"] = [str(v) for v in c.categories[:10]]
        columns.append(entry)
    problem = aml.problem_
    return {
        "label": problem.label,
        "problem_type": problem.problem_type,
        "classes": [_plain(c) for c in problem.classes] if problem.is_classification else None,
        "model": model or aml.best_model_,
        "columns": columns,
        "ignored_columns": dict(prep.dropped_),
        "max_rows_per_request": MAX_ROWS,
    }


def rows_from_body(body: bytes, content_type: str | None, schema: dict[str, Any]) -> pd.DataFrame:
    """The request's rows as a frame of the columns the predictor reads, checked: one
    object block (numbers as floats), which the row path of
    :mod:`raymlx.tabular.row_path` reads without pandas' per-column costs."""
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        columns, n = _csv_rows(body)
    elif kind in ("application/json", "text/json", ""):
        columns, n = _json_rows(body, schema)
    else:
        raise RequestError(f"unsupported content type {kind!r}; send application/json (a "
                           "list of row objects) or text/csv")
    if n == 0:
        raise RequestError("the request has no rows")
    if n > MAX_ROWS:
        raise RequestError(f"the request has {n} rows, more than {MAX_ROWS}; "
                           "score large tables with `raymlx predict`")
    return _checked(columns, n, schema)


def _json_rows(body: bytes, schema: dict[str, Any]) -> tuple[dict[str, list], int]:
    try:
        rows = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"the body is not valid JSON: {str(exc).splitlines()[0]}") from None
    if isinstance(rows, dict) and isinstance(rows.get("rows"), list):
        rows = rows["rows"]
    if not isinstance(rows, list):
        raise RequestError("send a JSON list of row objects, e.g. "
                           '[{"age": 41, "job": "admin."}]')
    needed = [c["name"] for c in schema["columns"]]
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RequestError(f"row {i} is {type(row).__name__}, not an object of "
                               "column: value")
        lacking = [n for n in needed if n not in row]
        if lacking:
            raise RequestError(f"row {i} lacks the column{'s' * (len(lacking) > 1)} "
                               f"{', '.join(map(repr, lacking[:5]))}; send null for a "
                               "missing value")
    return {n: [row[n] for row in rows] for n in needed}, len(rows)


def _csv_rows(body: bytes) -> tuple[dict[str, list], int]:
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except pd.errors.EmptyDataError:
        return {}, 0
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise RequestError(f"the CSV body could not be read: {str(exc).splitlines()[0]}") \
            from None
    return {str(c): frame[c].tolist() for c in frame.columns}, len(frame)


def _checked(columns: dict[str, list], n: int, schema: dict[str, Any]) -> pd.DataFrame:
    """Each read column's values checked against its type, numbers made floats."""
    lacking = [c["name"] for c in schema["columns"] if c["name"] not in columns]
    if lacking:
        raise RequestError(f"the rows lack the column{'s' * (len(lacking) > 1)} "
                           f"{', '.join(map(repr, lacking[:5]))}")
    cells = np.empty((n, len(schema["columns"])), dtype=object)
    for j, c in enumerate(schema["columns"]):
        values = columns[c["name"]]
        if c["type"] == "numeric":
            values = [_number(v, i, c["name"]) for i, v in enumerate(values)]
        else:
            for i, v in enumerate(values):
                if isinstance(v, (list, dict)):
                    raise RequestError(f"row {i}: column {c['name']!r} must be "
                                       f"{c['expects']} or null, not a {type(v).__name__}")
        cells[:, j] = values
    return pd.DataFrame(cells, columns=[c["name"] for c in schema["columns"]], dtype=object)


def _number(v: Any, i: int, name: str) -> float:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return math.nan
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            out = float(v)
        except OverflowError:  # an integer past a float's range (JSON allows any size)
            out = math.inf
    elif isinstance(v, str):
        try:
            out = float(v.strip()) if v.strip() else math.nan
        except ValueError:
            raise RequestError(f"row {i}: column {name!r} must be a number or null, "
                               f"not {v!r}") from None
    else:
        raise RequestError(f"row {i}: column {name!r} must be a number or null, not {v!r}")
    if math.isinf(out):
        raise RequestError(f"row {i}: column {name!r} is infinite; send a finite number "
                           "or null")
    return out


def answer(aml: Any, frame: pd.DataFrame, model: str | None = None) -> dict[str, Any]:
    """``{"predictions": [...]}``, with ``"probabilities"`` (one ``{class: p}`` per row)
    for classification, from ``model`` (default: the predictor's best)."""
    if not aml.problem_.is_classification:
        return {"predictions": [_plain(v) for v in aml.predict(frame, model=model).tolist()]}
    proba = aml.predict_proba(frame, model=model)
    names = [str(c) for c in proba.columns]
    values = proba.to_numpy()
    codes = aml.models_.decide(values, model or aml.best_model_)
    labels = np.asarray(proba.columns, dtype=object)[codes]
    return {"predictions": [_plain(v) for v in labels],
            "probabilities": [dict(zip(names, map(float, row))) for row in values]}


def _plain(v: Any) -> Any:
    """A JSON-able Python value for a label or prediction (NumPy scalars unwrapped)."""
    return v.item() if isinstance(v, np.generic) else v
