"""The signing reference server: the hub's document-signing REST contract over any DocumentSigner.

`create_app(signer, faults)` builds the FastAPI app; `hub signer serve` runs it with uvicorn over the
local key store, and tests run it over an in-memory signer. The routes and wire models are in
`server_routes`, the idempotency records in `server_store`. Fault injection and problem answers are
the SIAK reference server's (hub/devtools/siak/server_faults.py, server_problems.py): the same
faults, the same RFC 9457 bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI

from hub.devtools.problem_http import add_problem_handlers, openapi_with_problems
from hub.devtools.siak.server_faults import (
    FaultInjector,
    FaultMiddleware,
    Faults,
    quiet_dropped_connections,
)
from hub.devtools.signer.server_routes import Problem, control, signing
from hub.devtools.signer.server_store import SignatureStore, SignerStats
from hub.observability.web import RequestMetrics, add_ops_routes
from hub.service.ports import DocumentSigner

log = logging.getLogger("hub.signer.server")

TITLE = "Document signing API (hub contract)"
VERSION = "1.0.0"
REMEMBERED_KEYS = 10_000
DESCRIPTION = """\
The REST contract the birth-registration hub needs from a document-signing service: in production a
certified signing provider (PSrE, such as BSrE of BSSN), here served by the reference server
`hub signer serve` over the hub's local key store. There is no public specification the hub could
use: this is the hub's proposal.

**What travels.** Only SHA-256 digests go to the service, never a document or personal data. The
service signs them with ECDSA on P-256 (ES256) and returns DER signatures; verifiers check them with
the published certificates (`GET /v1/keys`).

**Retry safety.** Every GET is safe to repeat: it changes nothing. `POST /v1/signatures` requires an
`Idempotency-Key` header and is safe to repeat with the same key: the service records each signature
under its key and answers a repeat with the recorded signature (200 instead of 201, header
`Idempotent-Replayed: true`), never signing twice; the same key with another digest is a 409
`IDEMPOTENCY-KEY-REUSED`. After a timeout or a broken connection, repeat the POST with the same key.
A refused POST (4xx) records nothing under its key. The reference server remembers the last 10,000
keys, in memory; a production service keeps them durably for at least a day.

**Errors** are `application/problem+json` bodies (RFC 9457) with a stable `code` and `retryable`:
true for 5xx and 429 (retry with backoff and the same key), false for 4xx (the same request will be
refused again).

Endpoints tagged *reference server only* (`/v1/_faults`, `/v1/_stats`) exist only on the reference
server, for tests and demos; a real signing service does not offer them.
"""
TAGS = [
    {"name": "signing", "description": "The contract: published keys and signatures."},
    {
        "name": "reference server only",
        "description": "Fault injection and counters of `hub signer serve`; not part of the contract.",
    },
]


DIGEST_HINT = {"digest": "must be the padded base64 of a 32-byte SHA-256 digest"}


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    signer: DocumentSigner,
    faults: Faults,
    *,
    clock: Callable[[], datetime] = utc_now,
    remembered_keys: int = REMEMBERED_KEYS,
) -> FastAPI:
    """The reference server's app over `signer`. Building it calls nothing on the signer."""
    app = FastAPI(title=TITLE, description=DESCRIPTION, version=VERSION, openapi_tags=TAGS)
    app.state.signer, app.state.stats = signer, SignerStats()
    app.state.store = SignatureStore(signer, app.state.stats, clock, capacity=remembered_keys)
    app.state.injector = FaultInjector(faults)
    app.add_middleware(FaultMiddleware, injector=app.state.injector, stats=app.state.stats)
    app.add_middleware(RequestMetrics, server="signer")
    add_problem_handlers(app, log, DIGEST_HINT)
    add_ops_routes(app, None)  # the keys are in hand once the app exists: alive is ready
    app.include_router(signing)
    app.include_router(control)
    # Replacing app.openapi is FastAPI's documented way to customise the schema; its typing
    # declares openapi a method, which mypy will not let be assigned.
    app.openapi = lambda: openapi_with_problems(app, Problem)  # type: ignore[method-assign]
    quiet_dropped_connections()
    return app
