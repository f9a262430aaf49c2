"""Use case: issue the signed documents a registration owes, exactly once, off the consumer's path.

The registering transaction (consumer, saga worker, review decision, replay, correction) records a
document job instead of the hospital's result. A worker claims the job (locked to its transaction),
and for each document: takes the next version and a status-list slot, signs the QR payload, renders
the PDF (in a worker thread: CPU-bound), adds the PAdES signature, and stores it, superseding the
previous version. In the same transaction it queues the hospital's result with the documents
attached and the `civil.documents-issued` event, and marks the job done. Outcomes:

- signer unavailable (remote service down, circuit open) or refusing a key that was just rotated:
  nothing is kept, the job is due again after a jittered exponential backoff;
- a crash anywhere: the transaction rolls back, the lock vanishes, the job is due again; document
  ids derive from (kind, number, version), so the set issued is the same one, exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from hub.config import Topics
from hub.documents.maker import InProcessMaker
from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.documents import (
    Content,
    DocumentKind,
    DocumentRef,
    KkContent,
    SignedDocument,
    document_id,
)
from hub.errors import PermanentError, SignerUnavailable
from hub.intake.results import attach_documents
from hub.observability import metrics, tracing
from hub.service import answers
from hub.service.documents_content import CORRECTION, Issuer, identity
from hub.service.ports import (
    DocumentJob,
    DocumentMaker,
    DocumentSigner,
    SigningKey,
    UnitOfWork,
)
from hub.service.retry import backoff

log = logging.getLogger("hub.documents")


class DocumentWorker:
    """Carries out due document jobs: `signer` names the current key, `maker` makes each document
    (in this process, or in a pool of processes)."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        signer: DocumentSigner,
        issuer: Issuer,
        topics: Topics,
        clock: Callable[[], datetime],
        *,
        retry_initial: float,
        retry_max: float,
        maker: DocumentMaker | None = None,
    ) -> None:
        self._uow, self._signer, self._issuer, self._topics, self._clock = unit_of_work, signer, issuer, topics, clock
        self._initial, self._max = retry_initial, retry_max
        self._maker = maker or InProcessMaker(signer)

    async def run_one(self) -> str | None:
        """Carry out one due job; returns its message id, or None when nothing is due. Traced as
        `hub.documents.issue` in the trace of the work that requested it."""
        async with self._uow() as uow:
            now, started = self._clock(), time.perf_counter()
            job = await uow.documents.claim_due(now)
            if job is None:
                return None
            attributes = {"hub.message.id": job.request.message_id, "hub.attempt": job.attempts + 1}
            with tracing.span("hub.documents.issue", parent=job.request.trace_context, attributes=attributes) as span:
                try:
                    await self._carry_out(uow, job, now)
                except (SignerUnavailable, PermanentError) as exc:
                    tracing.failed(span, exc)
                    failure: Exception | None = exc
                else:
                    await uow.commit()
                    _issued(job, time.perf_counter() - started)
                    return job.request.message_id
        await self._retry_later(job, now, failure)
        return job.request.message_id

    async def _carry_out(self, uow: UnitOfWork, job: DocumentJob, now: datetime) -> None:
        key = await self._signer.current_key()
        issued, supersedes = [], {}
        for content in job.request.contents:
            with tracing.span("hub.documents.sign", attributes={"hub.document.kind": _kind(content)}):
                document = await self._issue(uow, content, key, now)
            previous = await uow.documents.store(
                document,
                kk_number=job.request.kk_number,
                message_id=job.request.message_id,
                hospital_id=job.request.hospital_id,
                reason=job.request.reason,
                stale=await _newer_card_active(uow, content),
            )
            if previous:
                supersedes[document.ref.document_id] = previous
            issued.append(document)
        note = codes.DOCUMENTS_CORRECTED if job.request.reason == CORRECTION else codes.DOCUMENTS_ISSUED
        bundle = attach_documents(job.request.result, issued, Issue(note), supersedes)
        result = answers.bundle_message(self._topics, bundle, job.request.message_id, job.request.hospital_id)
        event = answers.documents_issued(self._topics, job, issued, supersedes, now)
        await uow.outbox.add(answers.stamped([result, event], job.request.origin_at))
        for _ in range(job.owed_copies):  # the hospital re-sent the message id while we worked
            await uow.outbox.copy_event(result.event_id)
        await uow.documents.finish(job.id)

    async def _issue(self, uow: UnitOfWork, content: Content, key: SigningKey, now: datetime) -> SignedDocument:
        kind, number, regency = identity(content)
        version = await uow.documents.next_version(kind, number)
        slot = await uow.documents.allocate_slot(regency, content.issued_on.year)
        ref = DocumentRef(document_id(kind, number, version), kind, number, version, now, slot)
        signed, payload = await self._maker.make(
            content, ref, key, self._issuer.status_uri(slot.regency, slot.year), self._issuer.name(regency)
        )
        return SignedDocument(ref, content, signed, payload, key.kid)

    async def _retry_later(self, job: DocumentJob, now: datetime, failure: Exception | None) -> None:
        wait = backoff(job.attempts + 1, self._initial, self._max)
        code = failure.code.code if isinstance(failure, PermanentError) else ""
        error = f"{type(failure).__name__}: {code}"[:300]
        async with self._uow() as uow:
            await uow.documents.retry_at(job.id, now + timedelta(seconds=wait), error)
            await uow.commit()
        log.warning(
            "documents not issued yet, retried later message_id=%s attempt=%d wait_s=%.1f error=%s",
            job.request.message_id,
            job.attempts + 1,
            wait,
            type(failure).__name__,
        )


def _issued(job: DocumentJob, seconds: float) -> None:
    """Count a committed job's documents, by kind, and how long the job took."""
    for content in job.request.contents:
        metrics.DOCUMENTS_ISSUED.labels(_kind(content)).inc()
    metrics.DOCUMENT_SECONDS.observe(seconds)
    log.info(
        "documents issued message_id=%s reason=%s documents=%d",
        job.request.message_id,
        job.request.reason,
        len(job.request.contents),
    )


def _kind(content: Content) -> str:
    """akta or kk: the metric's and the span's short name of a document kind."""
    return "kk" if isinstance(content, KkContent) else "akta"


async def _newer_card_active(uow: UnitOfWork, content: Content) -> bool:
    """With an external registry, two births into one family may finish their sagas out of order:
    a card for an older KK version must not replace the card of a newer one."""
    if not isinstance(content, KkContent):
        return False
    current = await uow.documents.current(DocumentKind.KK, content.kk_number)
    return (
        current is not None
        and isinstance(current.content, KkContent)
        and current.content.kk_version > content.kk_version
    )
