"""A saved predictor as a Ray Serve application: ``raymlx serve`` and KubeRay's RayService.

One deployment, ``raymlx_predictor``, with a FastAPI ingress:

- ``POST /predict``: a JSON list of row objects (or CSV, ``Content-Type: text/csv``) in,
  ``{"predictions": [...]}`` out, plus ``"probabilities"`` for classification; a bad row
  gets HTTP 400 and one line (:mod:`raymlx.tabular.serving.request_rows`);
- ``GET /schema``: the columns a row needs and what comes back;
- ``GET /healthz``: the replica is up and its model loaded.

Requests are batched across callers with ``@serve.batch`` (Ray Serve collects up to
``max_batch_size`` requests or waits ``batch_wait_timeout_s``), and the model predicts
each batch in a worker thread so the replica keeps accepting requests meanwhile. Each
replica loads the predictor folder itself, so the folder must be readable where the
replicas run (storage every node mounts, as for a fit). Connecting to Ray keeps its
token authentication on. (No ``from __future__ import annotations`` here: FastAPI reads
the handlers' annotations, and Serve's ingress moves them out of this module's namespace.)
"""

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from ray import serve

from raymlx.errors import InputError
from raymlx.tabular.serving.request_rows import (
    answer,
    predictor_schema,
    rows_from_body,
)

log = logging.getLogger("raymlx")

APP_NAME = "raymlx"
DEPLOYMENT = "raymlx_predictor"
MAX_BATCH_SIZE = 64
ERROR_KEY = "__raymlx_error__"  # marks a batched request the predictor refused
BATCH_WAIT_S = 0.001  # a lone request waits this long for company

http = FastAPI(title="raymlx predictor", docs_url=None, redoc_url=None)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@serve.deployment(name=DEPLOYMENT)
@serve.ingress(http)
class PredictorServer:
    """One replica: the loaded predictor, its schema, and the batched scorer."""

    def __init__(self, predictor: str, max_batch_size: int = MAX_BATCH_SIZE,
                 batch_wait_timeout_s: float = BATCH_WAIT_S, model: str | None = None) -> None:
        from raymlx.tabular.automl import AutoML

        self.path = predictor
        self.aml = AutoML.load(predictor)
        self.model = model or self.aml.best_model_
        self.aml.models_.get(self.model)  # an unknown or failed model: one line, here
        self.schema = predictor_schema(self.aml, self.model)
        self.rows_served = 0
        # (methods serve.batch adds, which type checkers do not see)
        self._score.set_max_batch_size(int(max_batch_size))  # type: ignore[attr-defined]
        self._score.set_batch_wait_timeout_s(  # type: ignore[attr-defined]
            float(batch_wait_timeout_s))
        self._warm()

    def _warm(self) -> None:
        """One prediction at start-up, so the first request does not pay for reading the
        fold models' pickles."""
        row: dict[str, Any] = {}
        for c in self.schema["columns"]:
            row[c["name"]] = {"numeric": 0.0, "bool": True, "datetime": "2020-01-01"}.get(
                c["type"], (c.get("most_frequent") or [None])[0])
        try:
            answer(self.aml, pd.DataFrame([row]), self.model)
        except Exception as exc:  # a warm-up only: requests will report their own errors
            log.warning("warm-up prediction failed: %s", exc)

    @http.get("/healthz")
    async def healthz(self) -> dict:
        return {"status": "ok", "model": self.model, "rows_served": self.rows_served}

    @http.get("/schema")
    async def get_schema(self) -> dict:
        return self.schema

    @http.post("/predict")
    async def predict(self, request: Request):
        body = await request.body()
        try:
            frame = rows_from_body(body, request.headers.get("content-type"), self.schema)
        except InputError as exc:  # RequestError: the rows do not fit the schema
            return _error(str(exc).splitlines()[0])
        out = await self._score(frame)
        if ERROR_KEY in out:  # the predictor's own one-line checks refused these rows
            return _error(out[ERROR_KEY])
        self.rows_served += len(frame)
        # encoded here: FastAPI's own encoder walks every value, slower than the model
        return Response(json.dumps(out).encode(), media_type="application/json")

    @serve.batch(max_batch_size=MAX_BATCH_SIZE, batch_wait_timeout_s=BATCH_WAIT_S)
    async def _score(self, frames: list[pd.DataFrame]) -> list[dict]:
        """One model call for the requests Ray Serve gathered, split back per request."""
        loop = asyncio.get_running_loop()
        whole = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        try:
            out = await loop.run_in_executor(None, answer, self.aml, whole, self.model)
        except InputError as exc:
            if len(frames) == 1:
                return [{ERROR_KEY: str(exc).splitlines()[0]}]
            # one request's rows spoilt the batch: each request on its own, so the
            # error goes to the request that caused it
            return [(await self._score_alone(loop, f)) for f in frames]
        answers, start = [], 0
        for f in frames:
            part = {key: values[start:start + len(f)] for key, values in out.items()}
            answers.append(part)
            start += len(f)
        return answers

    async def _score_alone(self, loop, frame: pd.DataFrame) -> dict:
        try:
            return await loop.run_in_executor(None, answer, self.aml, frame, self.model)
        except InputError as exc:
            return {ERROR_KEY: str(exc).splitlines()[0]}


def build_app(args: dict[str, Any]) -> serve.Application:
    """The application builder for ``serve run`` and a RayService's ``serveConfigV2``
    (``import_path: raymlx.tabular.serving:build_app``). ``args``: ``predictor`` (a folder
    written by ``AutoML.save``), optional ``model`` (a leaderboard name; default the
    best), ``max_batch_size``, ``batch_wait_timeout_s``, ``num_replicas`` and ``num_cpus``
    (per replica)."""
    if not args.get("predictor"):
        raise InputError("the serving app needs args.predictor, the folder AutoML.save wrote")
    options: dict[str, Any] = {}
    if "num_replicas" in args:
        options["num_replicas"] = int(args["num_replicas"])
    if "num_cpus" in args:
        options["ray_actor_options"] = {"num_cpus": float(args["num_cpus"])}
    # serve.deployment made the class a Deployment, which type checkers do not see
    deployment: Any = PredictorServer
    if options:
        deployment = deployment.options(**options)
    return deployment.bind(str(Path(args["predictor"]).expanduser().resolve()),
                           int(args.get("max_batch_size", MAX_BATCH_SIZE)),
                           float(args.get("batch_wait_timeout_s", BATCH_WAIT_S)),
                           args.get("model"))


def serve_predictor(predictor: str, replicas: int = 1, host: str = "127.0.0.1",
                    port: int = 8000, cpus_per_replica: float = 1.0,
                    max_batch_size: int = MAX_BATCH_SIZE,
                    batch_wait_timeout_s: float = BATCH_WAIT_S,
                    address: str | None = None, model: str | None = None) -> str:
    """Starts (or updates) the application on the Ray cluster and returns its URL once
    every replica has loaded the predictor. The app outlives this call; stop it with
    :func:`stop_serving` (``raymlx serve`` does on Ctrl-C)."""
    from raymlx._internal.ray_session import ensure_ray
    from raymlx.tabular.automl import AutoML

    folder = Path(predictor).expanduser().resolve()
    # a bad folder or model name fails here, in one line, rather than in every replica
    aml = AutoML.load(folder)
    if model is not None:
        aml.models_.get(model)
    if replicas < 1 or cpus_per_replica <= 0 or max_batch_size < 1:
        raise InputError("replicas and max_batch_size must be at least 1 and "
                         "cpus_per_replica above 0")
    ensure_ray(address)
    serve.start(http_options={"host": host, "port": int(port)})
    t0 = time.time()
    serve.run(build_app({"predictor": str(folder), "num_replicas": replicas,
                         "num_cpus": cpus_per_replica, "max_batch_size": max_batch_size,
                         "batch_wait_timeout_s": batch_wait_timeout_s, "model": model}),
              name=APP_NAME, route_prefix="/")
    log.info("%d replica(s) of %s up in %.1f s", replicas, folder, time.time() - t0)
    return f"http://{host}:{port}"


def stop_serving() -> None:
    """Deletes the application (other Serve applications on the cluster keep running)."""
    serve.delete(APP_NAME)
