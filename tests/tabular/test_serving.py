"""``raymlx serve``: a saved predictor on Ray Serve, answering real HTTP requests on
loopback (good rows as JSON and CSV, bad rows with one line, batched concurrent callers,
the schema and health routes), and the request checks on their own."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raymlx import AutoML
from raymlx.errors import InputError
from raymlx.tabular.serving.request_rows import MAX_ROWS, RequestError, answer, rows_from_body
from raymlx.testing.request_bodies import request_bodies, respond
from tests.conftest import make_binary_frame

SCHEMA = {"columns": [{"name": "x", "type": "numeric", "expects": "a number"},
                      {"name": "c", "type": "category", "expects": "a text or number"}]}


def _rows(body, content_type="application/json"):
    return rows_from_body(body if isinstance(body, bytes) else json.dumps(body).encode(),
                          content_type, SCHEMA)


def test_json_rows_become_a_frame_of_the_read_columns():
    frame = _rows([{"x": 1, "c": "a", "extra": 5}, {"x": None, "c": None}, {"x": "2.5", "c": 3}])
    assert list(frame.columns) == ["x", "c"]
    np.testing.assert_array_equal(frame["x"].to_numpy(dtype=float), [1.0, np.nan, 2.5])
    assert _rows({"rows": [{"x": 0, "c": "b"}]})["c"].tolist() == ["b"]
    csv = _rows(b"x,c,other\n1,a,9\n,b,9\n", "text/csv; charset=utf-8")
    np.testing.assert_array_equal(csv["x"].to_numpy(dtype=float), [1.0, np.nan])


@pytest.mark.parametrize("body,content_type,message", [
    (b"{nope", "application/json", "not valid JSON"),
    ({"x": 1}, "application/json", "send a JSON list of row objects"),
    ([[1, "a"]], "application/json", "row 0 is list, not an object"),
    ([{"x": 1, "c": "a"}, {"x": 2}], "application/json", "row 1 lacks the column 'c'"),
    ([{"x": "old", "c": "a"}], "application/json", "row 0: column 'x' must be a number"),
    ([{"x": True, "c": "a"}], "application/json", "column 'x' must be a number"),
    ([{"x": 1, "c": ["a"]}], "application/json", "column 'c' must be a text or number"),
    ([{"x": 10**400, "c": "a"}], "application/json", "row 0: column 'x' is infinite"),
    ([], "application/json", "the request has no rows"),
    (b"x\n1\n", "text/csv", "the rows lack the column 'c'"),
    (b"x,c\ninf,a\n", "text/csv", "row 0: column 'x' is infinite"),
    (b"<rows/>", "application/xml", "unsupported content type 'application/xml'"),
])
def test_bad_requests_get_one_line(body, content_type, message):
    with pytest.raises(RequestError, match=message) as info:
        _rows(body, content_type)
    assert "\n" not in str(info.value)


def test_too_many_rows_are_refused():
    with pytest.raises(RequestError, match=f"more than {MAX_ROWS}"):
        _rows([{"x": 1, "c": "a"}] * (MAX_ROWS + 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(ray_session, tmp_path_factory):
    """A binary predictor saved, and `raymlx serve` running it with two replicas."""
    folder = tmp_path_factory.mktemp("serve")
    df = make_binary_frame(400, 0)
    aml = AutoML(label="target", families=["lightgbm", "linear"], max_models=2, num_folds=3,
                 path=folder / "runs", verbosity=0, refit_full=True).fit(df)
    saved = aml.save(folder / "predictor")
    port = _free_port()
    address = ray_session.get_runtime_context().gcs_address
    proc = subprocess.Popen(
        [sys.executable, "-m", "raymlx.cli", "serve", str(saved), "--replicas", "2",
         "--cpus-per-replica", "0.25", "--port", str(port), "--address", address],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    lines: list[str] = []  # the command's output, read as it comes
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    # up once the command says so (every replica has loaded the predictor), not when the
    # first replica answers: a Ctrl-C before that interrupts the start instead
    while not any(line.startswith("serving ") for line in lines):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            reader.join(10)
            pytest.fail("the server did not come up in 120 s: " + "".join(lines))
        time.sleep(0.5)
    assert requests.get(url + "/healthz", timeout=10).status_code == 200
    yield url, aml, df.drop(columns="target"), proc, lines, reader
    if proc.poll() is None:
        proc.kill()


def test_predict_answers_labels_and_probabilities(served):
    url, aml, X = served[:3]
    rows = json.loads(X.iloc[:5].to_json(orient="records"))
    r = requests.post(url + "/predict", json=rows, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = aml.predict_proba(X.iloc[:5])
    assert body["predictions"] == aml.predict(X.iloc[:5]).tolist()
    got = pd.DataFrame(body["probabilities"])[["no", "yes"]].to_numpy()
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-6)
    csv = requests.post(url + "/predict", data=X.iloc[:5].to_csv(index=False),
                        headers={"Content-Type": "text/csv"}, timeout=30)
    assert csv.status_code == 200 and csv.json()["predictions"] == body["predictions"]


def test_bad_rows_get_a_400_with_one_line(served):
    url, _, X = served[:3]
    row = json.loads(X.iloc[:1].to_json(orient="records"))[0]
    r = requests.post(url + "/predict", json=[row, {**row, "x1": "tall"}], timeout=30)
    assert r.status_code == 400
    assert r.json() == {"error": "row 1: column 'x1' must be a number or null, not 'tall'"}
    lacking = {k: v for k, v in row.items() if k != "color"}
    r = requests.post(url + "/predict", json=[lacking], timeout=30)
    assert r.status_code == 400 and "lacks the column 'color'" in r.json()["error"]
    assert requests.get(url + "/predict", timeout=30).status_code == 405


def test_schema_and_health(served):
    url, aml = served[:2]
    schema = requests.get(url + "/schema", timeout=30).json()
    assert schema["label"] == "target" and schema["classes"] == ["no", "yes"]
    assert [c["name"] for c in schema["columns"]] == [c.name for c in aml.preprocessor_.columns_]
    assert "row_id" in schema["ignored_columns"]  # an identifier, dropped at fit time
    health = requests.get(url + "/healthz", timeout=30).json()
    assert health["status"] == "ok" and health["model"] == aml.best_model_


def test_concurrent_callers_each_get_their_own_rows(served):
    url, aml, X = served[:3]
    expected = aml.predict(X.iloc[:40]).tolist()

    def one(i):
        row = json.loads(X.iloc[i:i + 1].to_json(orient="records"))
        with requests.Session() as s:
            r = s.post(url + "/predict", json=row, timeout=60)
        return r.status_code, r.json()["predictions"][0]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(40)))
    assert [s for s, _ in results] == [200] * 40
    assert [p for _, p in results] == expected


def _fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_fuzz(60)
@given(data=st.data())
def test_hostile_bodies_are_answered_or_refused_in_one_line(served, data):
    """raymlx.testing.request_bodies, in process: each body gets one prediction per row
    or a one-line InputError (a 400), never another exception (a 500)."""
    url, aml = served[:2]
    schema = _schema(url)
    body = data.draw(request_bodies(schema))
    try:
        out = respond(aml, schema, body)
    except InputError as err:
        assert str(err) and "\n" not in str(err), (repr(str(err)), body.kinds)
        return
    if body.rows is not None:
        assert len(out["predictions"]) == body.rows, body.kinds


@_fuzz(20)
@given(data=st.data())
def test_hostile_bodies_over_http_get_200_or_400(served, data):
    url = served[0]
    body = data.draw(request_bodies(_schema(url)))
    r = requests.post(url + "/predict", data=body.data,
                      headers={"Content-Type": body.content_type}, timeout=60)
    assert r.status_code in (200, 400), (r.status_code, r.text[:300], body.kinds)
    if r.status_code == 400:
        error = r.json()["error"]
        assert error and "\n" not in error, (error, body.kinds)
    elif body.rows is not None:
        assert len(r.json()["predictions"]) == body.rows, body.kinds


_SCHEMAS: dict[str, dict] = {}


def _schema(url: str) -> dict:
    if url not in _SCHEMAS:
        _SCHEMAS[url] = requests.get(url + "/schema", timeout=30).json()
    return _SCHEMAS[url]


def test_ctrl_c_stops_the_app(served):
    url, _, _, proc, lines, reader = served
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(10)
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert "serving" in out and "stopped serving" in out
    with pytest.raises(requests.RequestException):
        requests.get(url + "/healthz", timeout=5).raise_for_status()


def test_a_regression_answer_has_no_probabilities(ray_session, wine_red, tmp_path):
    aml = AutoML(label="quality", problem_type="regression", families=["linear"],
                 max_models=1, num_folds=2, path=tmp_path, verbosity=0).fit(wine_red)
    out = answer(aml, wine_red.drop(columns="quality").iloc[:3])
    assert set(out) == {"predictions"} and len(out["predictions"]) == 3
    assert all(isinstance(v, float) for v in out["predictions"])
