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

from fastapi import FastAPI

from hub.adapters.postgres.database import create_pool, migrate
from hub.adapters.siak.models import Problem
from hub.devtools.problem_http import add_problem_handlers, openapi_with_problems
from hub.devtools.siak.server_faults import (
    FaultInjector,
    FaultMiddleware,
    Faults,
    Stats,
    quiet_dropped_connections,
)
from hub.devtools.siak.server_routes import control, registry
from hub.devtools.siak.server_store import SiakStore
from hub.observability.health import Readiness
from hub.observability.web import RequestMetrics, add_ops_routes

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


async def _database(app: FastAPI) -> str:
    store = getattr(app.state, "store", None)
    if store is None:
        raise RuntimeError("starting: the database is not open yet")
    await store.ping()
    return "ok"


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
    app.add_middleware(RequestMetrics, server="siak")
    add_problem_handlers(app, log)
    add_ops_routes(app, Readiness({"database": lambda: _database(app)}))
    app.include_router(registry)
    app.include_router(control)
    # Replacing app.openapi is FastAPI's documented way to customise the schema; its typing
    # declares openapi a method, which mypy will not let be assigned.
    app.openapi = lambda: openapi_with_problems(app, Problem)  # type: ignore[method-assign]
    quiet_dropped_connections()
    return app
