"""Use cases: corrections (pembetulan) an officer proposes and a supervisor decides.

An officer may not correct a document; they propose the corrected fields with a reason. The
proposal waits, open, until a supervisor approves it (then it is applied through
DocumentDesk.correct, in the same transaction as marking it approved: both or neither) or rejects
it with a note. Nobody decides their own proposal, and none made before the akta's current version
was issued is applied (it would be applied to values its proposer never saw). Every step is written to the audit log with the
field names (never their values) in the same transaction.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime

from hub.domain.documents import AktaContent, Correction, DocumentKind
from hub.errors import OperatorError
from hub.service.document_desk import DocumentDesk
from hub.service.ports import AuditEntry, CorrectionProposal, UnitOfWork

log = logging.getLogger("hub.documents")

FIELDS = ("child_name", "mother_name", "father_name", "place_of_birth")
MAX_VALUE = 100
MAX_TEXT = 500
OPEN, APPROVED, REJECTED = "open", "approved", "rejected"


def checked_correction(changes: Mapping[str, str | None], reason: str) -> Correction:
    """A Correction from form or API input: the named fields (blank ones left unchanged), each
    1 to 100 printable characters, and a reason. Error texts name fields, never values."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise OperatorError(f"these fields cannot be corrected: {', '.join(sorted(unknown))}")
    values: dict[str, str] = {}
    for name in FIELDS:
        value = " ".join((changes.get(name) or "").split())
        if not value:
            continue
        if len(value) > MAX_VALUE or not all(unicodedata.category(c)[0] != "C" for c in value):
            raise OperatorError(f"{name}: 1 to {MAX_VALUE} printable characters")
        values[name] = value
    if not values:
        raise OperatorError("name at least one field to correct")
    return _correction(_text(reason, "reason"), values)


def _text(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise OperatorError(f"a {what} is needed (it goes to the audit log)")
    if len(cleaned) > MAX_TEXT:
        raise OperatorError(f"{what}: at most {MAX_TEXT} characters")
    return cleaned


class ProposalDesk:
    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], documents: DocumentDesk, clock: Callable[[], datetime]
    ) -> None:
        self._uow, self._documents, self._clock = unit_of_work, documents, clock

    async def propose(self, akta_number: str, correction: Correction, actor: str) -> int:
        """Record a proposed correction of the active akta with this number; returns its id."""
        fields = correction.fields()
        if not fields:
            raise OperatorError("name at least one field to correct")
        reason = _text(correction.reason, "reason")
        now = self._clock()
        async with self._uow() as uow:
            akta = await uow.documents.current(DocumentKind.AKTA, akta_number)
            if akta is None or not isinstance(akta.content, AktaContent):
                raise OperatorError("no active akta kelahiran with this number")
            proposal_id = await uow.proposals.propose(akta_number, fields, reason, actor, now)
            await uow.audit.append(
                AuditEntry(
                    actor, "documents.propose", akta_number, reason, {"proposal": proposal_id, "fields": sorted(fields)}
                ),
                now,
            )
            await uow.commit()
        log.info("correction proposed proposal=%d fields=%s", proposal_id, ",".join(sorted(fields)))
        return proposal_id

    async def listed(self, status: str | None = OPEN) -> list[CorrectionProposal]:
        """Proposals with this status (None: all), oldest first."""
        async with self._uow() as uow:
            return await uow.proposals.listed(status)

    async def get(self, proposal_id: int) -> CorrectionProposal:
        async with self._uow() as uow:
            found = await uow.proposals.get(proposal_id)
        if found is None:
            raise OperatorError("no correction proposal with this id")
        return found

    async def approve(self, proposal_id: int, note: str, actor: str) -> list[str]:
        """Apply the proposal's correction and mark it approved, in one transaction; returns the
        kinds of documents to be reissued. Refused, the proposal left open, when the akta got a
        newer version after the proposal was made (it was proposed against other values)."""
        note = note.strip()
        if len(note) > MAX_TEXT:
            raise OperatorError(f"note: at most {MAX_TEXT} characters")
        proposal = await self.get(proposal_id)
        correction = _correction(f"{proposal.reason} (proposal #{proposal.id})", _fields(proposal))
        now = self._clock()

        async def decided(uow: UnitOfWork) -> None:
            found = await self._decide(uow, proposal_id, APPROVED, note, actor, now)
            akta = await uow.documents.current(DocumentKind.AKTA, found.akta_number)
            if akta is not None and akta.ref.issued_at > found.proposed_at:
                # The proposal was made against an older version: its values may undo what the newer
                # one changed. Refused (the transaction, deciding included, is not kept).
                raise OperatorError("the certificate changed since this proposal; propose again")

        return await self._documents.correct(proposal.akta_number, correction, actor, first=decided)

    async def reject(self, proposal_id: int, note: str, actor: str) -> None:
        note = _text(note, "note")
        now = self._clock()
        async with self._uow() as uow:
            await self._decide(uow, proposal_id, REJECTED, note, actor, now)
            await uow.commit()

    async def _decide(
        self, uow: UnitOfWork, proposal_id: int, status: str, note: str, actor: str, now: datetime
    ) -> CorrectionProposal:
        found = await uow.proposals.get(proposal_id, lock=True)
        if found is None:
            raise OperatorError("no correction proposal with this id")
        if found.status != OPEN:
            raise OperatorError(f"this proposal was {found.status} already")
        if found.proposed_by == actor:
            raise OperatorError("a proposal is decided by someone other than its proposer")
        await uow.proposals.decide(proposal_id, status, actor, note, now)
        action = "proposals.approve" if status == APPROVED else "proposals.reject"
        details = {"proposal": proposal_id, "proposed_by": found.proposed_by, "fields": sorted(found.changes)}
        await uow.audit.append(AuditEntry(actor, action, found.akta_number, note, details), now)
        return found


def _correction(reason: str, values: Mapping[str, str]) -> Correction:
    return Correction(
        reason=reason,
        child_name=values.get("child_name"),
        mother_name=values.get("mother_name"),
        father_name=values.get("father_name"),
        place_of_birth=values.get("place_of_birth"),
    )


def _fields(proposal: CorrectionProposal) -> dict[str, str]:
    return {name: str(value) for name, value in proposal.changes.items() if name in FIELDS and value is not None}
