"""The SIAK reference server: the hub's civil-registry REST contract served over the embedded registry.

`create_app(dsn, faults)` builds the FastAPI app without connecting; the pool is opened (and the
schema migrated) when the server starts. `hub siak serve` runs it with uvicorn. The routes are in
`server_routes`, the database work in `server_store`, fault injection in `server_faults`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException

from hub.adapters.postgres.database import create_pool, migrate
from hub.adapters.siak.models import Problem
from hub.devtools.siak.server_faults import (
    DroppedConnection,
    FaultInjector,
    FaultMiddleware,
    Faults,
    Stats,
    quiet_dropped_connections,
)
from hub.devtools.siak.server_problems import Refusal
from hub.devtools.siak.server_routes import control, registry
from hub.devtools.siak.server_store import SiakStore

log = logging.getLogger("hub.siak.server")

TITLE = "SIAK civil registry API (hub contract)"
VERSION = "1.0.0"
DESCRIPTION = """\
The REST contract the birth-registration hub needs from a SIAK-style civil registry (Dukcapil).
There is no public SIAK specification: this is the hub's proposal, served by the reference server
`hub siak serve` over the hub's embedded registry.

**Retry safety.** Every GET is safe to repeat. `POST /v1/births` and `POST /v1/stillbirths` require an
`Idempotency-Key` header and are safe to repeat with the same key: the registry answers a repeated
key with the first answer (200 instead of 201, header `Idempotent-Replayed: true`) and never
registers twice; the same key with a different body is a 409 `IDEMPOTENCY-KEY-REUSED`. After a
timeout or a broken connection, repeat the POST with the same key, or read the outcome with
`GET /v1/births/by-key/{idempotency_key}`. A refused POST (4xx) records nothing under its key.

**Errors** are `application/problem+json` bodies (RFC 9457) with a stable `code` and `retryable`:
true for 5xx (retry with backoff and the same key), false for 4xx (the same request will be
refused again).

Endpoints tagged *reference server only* (`/v1/_faults`, `/v1/_stats`) exist only on the reference
server, for tests and demos; a real registry does not offer them.
"""
TAGS = [
    {"name": "registry", "description": "The contract: lookups and registrations."},
    {
        "name": "reference server only",
        "description": "Fault injection and counters of `hub siak serve`; not part of the contract.",
    },
]


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(dsn: str, faults: Faults, *, clock: Callable[[], datetime] = utc_now, pool_max: int = 10) -> FastAPI:
    """The reference server's app. Nothing connects here: the pool opens in the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = await create_pool(dsn, min_size=1, max_size=pool_max)
        try:
            async with pool.acquire() as conn:
                await migrate(conn, also=("hub.devtools.siak",))
            app.state.store = SiakStore(pool, clock)
            log.info("siak reference server ready faults=%s", app.state.injector.faults)
            yield
        finally:
            await pool.close()

    app = FastAPI(title=TITLE, description=DESCRIPTION, version=VERSION, openapi_tags=TAGS, lifespan=lifespan)
    app.state.injector, app.state.stats = FaultInjector(faults), Stats()
    app.add_middleware(FaultMiddleware, injector=app.state.injector, stats=app.state.stats)
    _add_error_handlers(app)
    app.include_router(registry)
    app.include_router(control)
    app.openapi = lambda: _openapi(app)
    quiet_dropped_connections()
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def refused(_: Request, exc: Refusal):
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError):
        return _invalid_request(exc.errors()).response()

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException):
        code = HTTPStatus(exc.status_code).name.replace("_", "-")
        return Refusal(exc.status_code, code, str(exc.detail)).response(headers=exc.headers)

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception):
        if not isinstance(exc, DroppedConnection):  # a drop is on purpose: its response has started already
            log.exception("unexpected error")
        return Refusal(500, "INTERNAL-ERROR", type(exc).__name__).response()


def _invalid_request(errors) -> Refusal:
    """A missing or malformed Idempotency-Key has its own code; any other invalid input is REQUEST-INVALID."""
    key_errors = [e for e in errors if tuple(e["loc"][:1]) == ("header",)]
    if key_errors:
        code = "IDEMPOTENCY-KEY-REQUIRED" if key_errors[0]["type"] == "missing" else "IDEMPOTENCY-KEY-INVALID"
        return Refusal(400, code, "POST needs an Idempotency-Key header of 1 to 200 characters")
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return Refusal(400, "REQUEST-INVALID", detail)


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document, with the Problem schema and without FastAPI's unused validation-error schema."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        for path in document["paths"].values():
            for operation in path.values():
                response = operation["responses"].get("422", {})
                if "HTTPValidationError" in str(response):
                    del operation["responses"]["422"]
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        app.openapi_schema = document
    return app.openapi_schema
