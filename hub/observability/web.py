"""The operations endpoints every hub process serves: `/metrics`, `/healthz`, `/readyz`.

A small ASGI application, served by uvicorn inside the process on its own port (HUB_METRICS_PORT),
separate from anything public: the verification page and the reference servers keep their own ports.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.observability import metrics
from hub.observability.health import Readiness
from hub.observability.metrics import REGISTRY

OPS_PATHS = ("/metrics", "/healthz", "/readyz")  # never subject to a test server's injected faults


def create_ops_app(readiness: Readiness | None, *, title: str = "hub operations") -> FastAPI:
    """`readiness` None: a process with no dependencies worth checking (always ready once alive)."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    add_ops_routes(app, readiness)
    return app


def add_ops_routes(app: FastAPI, readiness: Readiness | None) -> None:
    """Adds the three endpoints to an existing application (the reference servers use this)."""

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    async def alive() -> JSONResponse:
        return JSONResponse({"status": "alive"})

    @app.get("/readyz", include_in_schema=False)
    async def ready() -> JSONResponse:
        if readiness is None:
            return JSONResponse({"status": "ready", "dependencies": {}})
        report = await readiness.report()
        return JSONResponse(report.as_json(), status_code=200 if report.ready else 503)


class RequestMetrics:
    """ASGI middleware counting and timing requests by route template: `/v1/persons/{nik}` is one
    label value whatever NIK was asked for, and a path no route matched is `unmatched`."""

    def __init__(self, app, server: str) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPS_PATHS:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def recording(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.HTTP_REQUESTS.labels(self.server, scope["method"], route, str(status[0])).inc()
            metrics.HTTP_SECONDS.labels(self.server, route).observe(time.perf_counter() - started)
