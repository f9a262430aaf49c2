"""The public verification service (no sign-in): a page to check a document, the status lists and
the published keys.

    GET  /                       the page: paste a QR payload, or upload a photo of it or the PDF
    POST /verify                 the page with the verdict (form: payload, file)
    POST /api/verify             JSON {"payload": "DK1:..."} → the verdict as JSON
    GET  /status/{regency}/{year} the signed status list (application/statuslist+cwt), cached
    GET  /keys                   the published keys (JSON), for offline verifiers

Payloads travel in POST bodies only, so no personal data lands in URLs or access logs. The status
shown is the registry's current one, read from the same store the status lists are made from.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated

import asyncpg
import jinja2
from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.config import Settings
from hub.documents.qr import verify_payload
from hub.documents.scan import payloads_in
from hub.documents.status_list import issue_status_list
from hub.documents.trust import UNKNOWN_KEY, TrustList
from hub.service.ports import DocumentSigner
from hub.service.verification import Verdict

MAX_UPLOAD = 10 * 1024 * 1024
STATUS_LIST_TYPE = "application/statuslist+cwt"
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class VerifyRequest(BaseModel):
    payload: str


def create_verify_app(pool: asyncpg.Pool, signer: DocumentSigner, settings: Settings) -> FastAPI:
    app = FastAPI(title="Document verification (hub)", docs_url=None, redoc_url=None, openapi_url=None)
    page = jinja2.Environment(autoescape=True, loader=jinja2.FunctionLoader(_template)).get_template("verify.html")
    lists: dict[tuple[str, int], tuple[float, bytes]] = {}
    keys: list[tuple[float, TrustList]] = []  # the published keys, asked of the signer at most once per window
    window = settings.status_list_ttl_seconds / 2

    async def trust(*, fresh: bool = False) -> TrustList:
        if fresh or not keys or keys[0][0] < time.monotonic():
            keys[:] = [(time.monotonic() + window, TrustList.from_signing_keys(await signer.published_keys()))]
        return keys[0][1]

    async def verdicts(payloads: list[str]) -> list[Verdict]:
        checks = [verify_payload(p, await trust()) for p in payloads]
        if any(c.reason == UNKNOWN_KEY for c in checks):  # a key rotated since: ask the signer again
            checks = [verify_payload(p, await trust(fresh=True)) for p in payloads]
        return [await _verdict(pool, check) for check in checks]

    @app.get("/", response_class=HTMLResponse)
    async def form() -> HTMLResponse:
        return HTMLResponse(page.render(verdicts=[], error=None), headers=_HEADERS)

    @app.post("/verify", response_class=HTMLResponse)
    async def verify(
        payload: Annotated[str, Form()] = "", file: Annotated[UploadFile | None, File()] = None
    ) -> HTMLResponse:
        payloads = [payload.strip()] if payload.strip() else []
        if file is not None and file.filename:
            payloads += await asyncio.to_thread(payloads_in, await file.read(MAX_UPLOAD))
        if not payloads:
            return HTMLResponse(
                page.render(verdicts=[], error="Tidak ada kode QR dokumen / no document QR code found"),
                status_code=422,
                headers=_HEADERS,
            )
        return HTMLResponse(page.render(verdicts=await verdicts(payloads), error=None), headers=_HEADERS)

    @app.post("/api/verify")
    async def verify_json(body: VerifyRequest) -> JSONResponse:
        (verdict,) = await verdicts([body.payload])
        return JSONResponse(verdict.as_json(), headers={"Cache-Control": "no-store"})

    @app.get("/status/{regency}/{year}")
    async def status_list(regency: str, year: int) -> Response:
        if not (regency.isdigit() and len(regency) == 4):
            return JSONResponse({"detail": "regency is a 4-digit Kemendagri code"}, status_code=404)
        cached = lists.get((regency, year))
        if cached is None or cached[0] < time.monotonic():
            token = await _status_list(pool, signer, settings, regency, year)
            cached = (time.monotonic() + window, token)
            lists[(regency, year)] = cached
        return Response(
            cached[1],
            media_type=STATUS_LIST_TYPE,
            headers={"Cache-Control": f"public, max-age={int(window)}"},
        )

    @app.get("/keys")
    async def published() -> JSONResponse:
        return JSONResponse((await trust()).to_json())

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _verdict(pool: asyncpg.Pool, check) -> Verdict:
    if not check.valid or check.document_id is None:
        return Verdict(check)
    async with PostgresUnitOfWork(pool) as uow:
        stored = await uow.documents.get(check.document_id)
    if stored is None:
        return Verdict(check, None, "not issued by this registry")
    return Verdict(check, stored.ref.status)


async def _status_list(
    pool: asyncpg.Pool, signer: DocumentSigner, settings: Settings, regency: str, year: int
) -> bytes:
    async with PostgresUnitOfWork(pool) as uow:
        statuses, size = await uow.documents.statuses(regency, year)
    key = await signer.current_key()
    uri = f"{settings.public_base_url.rstrip('/')}/status/{regency}/{year}"
    now = datetime.now(UTC)
    return await issue_status_list(uri, statuses, size, signer, key.kid, now, settings.status_list_ttl_seconds)


def _template(name: str) -> str:
    return resources.files("hub.entrypoints").joinpath("templates", name).read_text()
