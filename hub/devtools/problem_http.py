"""What the reference servers (SIAK, signer) share: problem+json error handling, the OpenAPI
document with the Problem schema instead of FastAPI's validation-error schema, the `responses=`
entries of problems, and the test-only controls (faults and counters)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from hub.devtools.siak.server_faults import DroppedConnection, Faults
from hub.devtools.siak.server_problems import PROBLEM_MEDIA_TYPE, Refusal

REPLAYED = {"Idempotent-Replayed": {"description": "`true` on a replayed answer.", "schema": {"type": "string"}}}


def add_problem_handlers(app: FastAPI, log: logging.Logger, hints: Mapping[str, str] | None = None) -> None:
    """Every error as a problem: refusals as raised, invalid requests naming the fields (never what
    was sent), HTTP errors by status, and anything unforeseen as a logged 500."""

    @app.exception_handler(Refusal)
    async def refused(_: Request, exc: Refusal):
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError):
        return invalid_request(list(exc.errors()), hints or {}).response()

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException):
        code = HTTPStatus(exc.status_code).name.replace("_", "-")
        return Refusal(exc.status_code, code, str(exc.detail)).response(headers=exc.headers)

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception):
        if not isinstance(exc, DroppedConnection):  # a drop is on purpose: its response has started already
            log.exception("unexpected error")
        return Refusal(500, "INTERNAL-ERROR", type(exc).__name__).response()


def invalid_request(errors: list[Any], hints: Mapping[str, str]) -> Refusal:
    """The problem for a request that does not match the schema. It names the fields and never
    quotes what was sent: a wrong field may hold anything, personal data included. `hints`: a
    friendlier message per field name for a malformed value."""
    header = [e for e in errors if tuple(e["loc"][:1]) == ("header",)]
    if header:
        code = "IDEMPOTENCY-KEY-REQUIRED" if header[0]["type"] == "missing" else "IDEMPOTENCY-KEY-INVALID"
        return Refusal(400, code, "POST needs an Idempotency-Key header of 1 to 200 characters")
    return Refusal(400, "REQUEST-INVALID", "; ".join(_describe(e, hints) for e in errors))


def _describe(error: dict[str, Any], hints: Mapping[str, str]) -> str:
    loc = [str(part) for part in error["loc"]]
    if error["type"] == "extra_forbidden":  # the field's name was chosen by the sender: do not repeat it
        return f"{'.'.join(loc[:-1])}: unknown field"
    if error["type"] == "json_invalid":
        return "body: not valid JSON"
    if loc and loc[-1] in hints and error["type"] != "missing":
        return f"{'.'.join(loc)}: {hints[loc[-1]]}"
    return f"{'.'.join(loc)}: {error['msg']}"


def openapi_with_problems(app: FastAPI, problem: type[BaseModel]) -> dict[str, Any]:
    """FastAPI's document, with the Problem schema and without FastAPI's unused validation-error schema."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        for path in document["paths"].values():
            for operation in path.values():
                if "HTTPValidationError" in str(operation["responses"].get("422", {})):
                    del operation["responses"]["422"]
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = problem.model_json_schema(ref_template="#/components/schemas/{model}")
        app.openapi_schema = document
    return app.openapi_schema


def problems(described: Mapping[int, str], common: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries: each status with its Problem body and the codes it carries."""
    every = {**described, **common}
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {"description": every[status], "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
        for status in sorted(every)
    }


def control_router(stats_description: str) -> APIRouter:
    """GET/PUT /v1/_faults and GET /v1/_stats: the reference server's controls, never the contract.
    They read the app's `injector` and `stats` (each with `as_json()`) from `app.state`."""
    control = APIRouter(prefix="/v1", tags=["reference server only"])

    @control.get("/_faults", response_model=Faults, summary="The injected faults (reference server only)")
    async def get_faults(request: Request) -> Faults:
        return request.app.state.injector.faults

    @control.put(
        "/_faults",
        response_model=Faults,
        summary="Replace the injected faults (reference server only)",
        description="Replaces every fault (omitted fields take their defaults) and reseeds the random "
        "decisions. Exempt from faults itself, so `down` can be switched off again.",
        responses=problems({400: "`REQUEST-INVALID`: the body does not match the schema."}, {}),
    )
    async def put_faults(faults: Faults, request: Request) -> Faults:
        request.app.state.injector.replace(faults)
        return faults

    @control.get("/_stats", summary="Counters since start (reference server only)", description=stats_description)
    async def get_stats(request: Request) -> dict[str, Any]:
        return request.app.state.stats.as_json()

    return control
