"""Making one signed document: sign the QR payload, render the PDF with it, add the PAdES signature.

`make_document` is the whole CPU-bound part of issuing a document (about 30 ms of rendering and
signing per page on the development machine), written against the DocumentSigner port.
`InProcessMaker` runs it on the caller's event loop with the rendering in a worker thread; the
process pool in hub/adapters/documents_pool.py runs it in other processes, so documents use every
core while the hub's own process keeps consuming.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Executor
from typing import Literal

from hub.documents.pades import sign_pdf
from hub.documents.qr import DocumentClaims, issue_payload
from hub.documents.render import render
from hub.domain.documents import Content, DocumentKind, DocumentRef
from hub.service.ports import DocumentSigner, SigningKey

TITLES = {DocumentKind.AKTA: "Kutipan Akta Kelahiran", DocumentKind.KK: "Kartu Keluarga"}


async def make_document(
    signer: DocumentSigner,
    content: Content,
    ref: DocumentRef,
    key: SigningKey,
    status_uri: str,
    location: str,
    *,
    render_in: Executor | Literal[False] | None = None,
) -> tuple[bytes, str]:
    """(signed PDF, QR payload). Idempotency keys are fresh per call: a retried job signs anew.

    `render_in`: an executor for the rendering, None for the loop's default threads, False to
    render right here (in a process of the pool, where nothing else waits on the loop)."""
    attempt = uuid.uuid4().hex[:12]
    claims = DocumentClaims.from_content(content, ref, status_uri)
    payload = await issue_payload(claims, signer, key.kid, f"{ref.document_id}/qr/{attempt}")
    if render_in is False:
        pdf = render(content, ref, payload)
    else:
        pdf = await asyncio.get_running_loop().run_in_executor(render_in or None, render, content, ref, payload)
    signed = await sign_pdf(
        pdf,
        signer,
        key,
        reason=TITLES[ref.kind],
        location=location,
        idempotency_key=f"{ref.document_id}/pades/{attempt}",
    )
    return signed, payload


class InProcessMaker:
    """Documents made on this event loop, the rendering in `executor` (None: the loop's threads)."""

    def __init__(self, signer: DocumentSigner, executor: Executor | None = None) -> None:
        self._signer, self._executor = signer, executor

    async def make(
        self, content: Content, ref: DocumentRef, key: SigningKey, status_uri: str, location: str
    ) -> tuple[bytes, str]:
        return await make_document(self._signer, content, ref, key, status_uri, location, render_in=self._executor)
