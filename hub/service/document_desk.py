"""Use cases of the back office on issued documents: look up, copy (view, reprint), correct
(pembetulan), revoke.

A correction never edits an issued document: it records a document job for new versions of the
akta and of the family card on which the child appears, with the corrected fields, and a further
result for the hospital (the next result sequence of the same message id, so a re-send of the
message id fetches the corrected documents). The worker issues them and supersedes the old ones;
their QR codes then verify as "superseded". Revocation marks one version revoked. Both are written
to the audit log with the operator and the reason, in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from hub.config import Topics
from hub.domain.documents import (
    AktaContent,
    Content,
    Correction,
    DocumentKind,
    DocumentStatus,
    KkContent,
    corrected_akta,
    corrected_kk,
)
from hub.domain.outcomes import ResultStatus
from hub.errors import OperatorError
from hub.intake import results as r
from hub.service import answers
from hub.service.documents_content import CORRECTION
from hub.service.ports import AuditEntry, DocumentRequest, StoredDocument, UnitOfWork

log = logging.getLogger("hub.documents")


class DocumentDesk:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], topics: Topics, clock: Callable[[], datetime]) -> None:
        self._uow, self._topics, self._clock = unit_of_work, topics, clock

    async def find(self, number_or_id: str) -> list[StoredDocument]:
        """Every version of the document with this akta number, KK number or document id."""
        async with self._uow() as uow:
            if len(number_or_id) == 36 and number_or_id.count("-") == 4:
                found = await uow.documents.get(number_or_id)
                return [] if found is None else await uow.documents.versions(found.ref.kind, found.ref.number)
            kind = DocumentKind.KK if number_or_id.isdigit() else DocumentKind.AKTA
            return await uow.documents.versions(kind, number_or_id)

    async def get(self, document_id: str) -> StoredDocument:
        async with self._uow() as uow:
            found = await uow.documents.get(document_id)
        if found is None:
            raise OperatorError("no document with this id")
        return found

    async def correct(
        self,
        akta_number: str,
        correction: Correction,
        actor: str,
        *,
        first: Callable[[UnitOfWork], Awaitable[object]] | None = None,
    ) -> list[str]:
        """Queue the corrected akta and family card; returns the kinds of documents to be reissued.

        `first`: more work in the same transaction, done before the correction (deciding the
        proposal it applies, say); if it or the correction fails, neither is kept."""
        if not correction.fields():
            raise OperatorError("name at least one field to correct")
        async with self._uow() as uow:
            if first is not None:
                await first(uow)
            akta = await uow.documents.current(DocumentKind.AKTA, akta_number)
            if akta is None or not isinstance(akta.content, AktaContent):
                raise OperatorError("no active akta kelahiran with this number")
            now = self._clock()
            contents = await self._corrected(uow, akta, correction, now)
            prior = await uow.inbox.find(akta.hospital_id, akta.message_id)
            if prior is None:
                raise OperatorError("the notification behind this akta is not in the inbox")
            sequence = prior.result_sequence + 1
            result = r.ResultContent(
                answers.result_event_id(prior.hospital_id, akta.message_id, sequence),
                akta.message_id,
                prior.hospital_id,
                ResultStatus.REGISTERED,
                (),
                _numbers(akta.content, contents),
            )
            await uow.documents.request(
                DocumentRequest(
                    akta.message_id,
                    sequence,
                    CORRECTION,
                    akta.kk_number,
                    contents,
                    r.build_result(result, now),
                    prior.hospital_id,
                    correction.fields(),
                )
            )
            await uow.inbox.replace(replace(prior, result_event_id=result.event_id, result_sequence=sequence))
            await uow.registry.correct_child(akta.content.child_nik, correction)
            await uow.audit.append(
                AuditEntry(
                    actor,
                    "documents.correct",
                    akta_number,
                    correction.reason,
                    {"fields": sorted(correction.fields()), "sequence": sequence},
                ),
                now,
            )
            await uow.commit()
        log.info("correction queued message_id=%s fields=%s", akta.message_id, ",".join(sorted(correction.fields())))
        return [type(c).__name__ for c in contents]

    async def _corrected(
        self, uow: UnitOfWork, akta: StoredDocument, correction: Correction, now: datetime
    ) -> tuple[Content, ...]:
        assert isinstance(akta.content, AktaContent)
        issued_on = now.astimezone(akta.content.born_at.tzinfo).date()
        contents: list[Content] = [corrected_akta(akta.content, correction, issued_on)]
        card = await uow.documents.current(DocumentKind.KK, akta.kk_number)
        if (
            card is not None
            and isinstance(card.content, KkContent)
            and any(m.nik == akta.content.child_nik for m in card.content.members)
        ):
            contents.append(corrected_kk(card.content, akta.content.child_nik, correction, issued_on))
        return tuple(contents)

    async def copy(self, document_id: str, actor: str, *, reason: str = "", reprint: bool = False) -> StoredDocument:
        """A document's stored PDF for someone in the back office, audited: a reprint
        ("documents.reprint", with a reason) or a look at it on screen ("documents.view")."""
        if reprint and not reason.strip():
            raise OperatorError("a reprint needs a reason")
        async with self._uow() as uow:
            found = await uow.documents.get(document_id)
            if found is None:
                raise OperatorError("no document with this id")
            details = {"kind": found.ref.kind.value, "version": found.ref.version, "status": found.ref.status.value}
            action = "documents.reprint" if reprint else "documents.view"
            await uow.audit.append(AuditEntry(actor, action, document_id, reason.strip(), details), self._clock())
            await uow.commit()
        return found

    async def show(self, document_id: str, actor: str) -> StoredDocument:
        """A document version with what it states (names, date of birth, address) for someone in
        the back office to see on screen, audited like a look at its PDF ("documents.view", with
        `shown: content` in the details)."""
        async with self._uow() as uow:
            found = await uow.documents.get(document_id)
            if found is None:
                raise OperatorError("no document with this id")
            details = {
                "kind": found.ref.kind.value,
                "version": found.ref.version,
                "status": found.ref.status.value,
                "shown": "content",
            }
            await uow.audit.append(AuditEntry(actor, "documents.view", document_id, "", details), self._clock())
            await uow.commit()
        return found

    async def revoke(self, document_id: str, reason: str, actor: str) -> StoredDocument:
        """Revoke one document version: its QR verifies as revoked from the next status list on."""
        if not reason.strip():
            raise OperatorError("a revocation needs a reason")
        async with self._uow() as uow:
            found = await uow.documents.get(document_id)
            if found is None:
                raise OperatorError("no document with this id")
            if found.ref.status is DocumentStatus.REVOKED:
                raise OperatorError("this document is already revoked")
            now = self._clock()
            await uow.documents.set_status(document_id, DocumentStatus.REVOKED, reason, now)
            await uow.outbox.add(
                [answers.document_status_changed(self._topics, found, DocumentStatus.REVOKED, reason, actor, now)]
            )
            await uow.audit.append(
                AuditEntry(
                    actor,
                    "documents.revoke",
                    document_id,
                    reason,
                    {"kind": found.ref.kind.value, "version": found.ref.version},
                ),
                now,
            )
            await uow.commit()
        return found


def _numbers(akta: AktaContent, contents: tuple[Content, ...]) -> dict[str, str | int]:
    card = next((c for c in contents if isinstance(c, KkContent)), None)
    numbers: dict[str, str | int] = {
        "nik": akta.child_nik,
        "akta-number": akta.akta_number,
        "akta-variant": akta.variant.value,
        "registration-type": akta.registration_type,
    }
    if card is not None:
        numbers.update({"kk-number": card.kk_number, "kk-version": card.kk_version})
    return numbers
