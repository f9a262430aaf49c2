"""Use case: handle one birth notification, exactly once.

Idempotent by message id and by delivery: every effect of a message (inbox row, registry writes,
outbox rows) commits in one unit of work, so a crash before the commit changes nothing and a
redelivery after it finds the delivery recorded and does nothing. A hospital that re-sends a
message id gets the same result again; a new message id for a birth that is already registered
gets `ok` with the existing numbers.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from hub.config import Topics
from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.decision import AlreadyRegistered, Decision, RecordStillbirth, Register, Reject, RegistryFacts, Review, decide
from hub.domain.values import BirthNotice
from hub.errors import PermanentError
from hub.intake import results as r
from hub.intake.envelope import Envelope, Unreadable, open_envelope
from hub.intake.profile import read_notice
from hub.intake.structure import structural_issues
from hub.service import answers
from hub.service.ports import Delivery, InboxRecord, UnitOfWork

log = logging.getLogger("hub.register")


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    max_bytes: int
    max_depth: int
    strict_nik: bool


@dataclass(frozen=True, slots=True)
class Handled:
    """What happened to one delivery, for logs and metrics (no personal data)."""

    outcome: str
    message_id: str | None = None
    hospital_id: str | None = None
    codes: tuple[str, ...] = ()


class RegisterBirths:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        topics: Topics,
        limits: IntakeLimits,
        region_known: Callable[[str], bool],
        clock: Callable[[], datetime],
    ) -> None:
        self._uow, self._topics, self._limits = unit_of_work, topics, limits
        self._region_known, self._clock = region_known, clock

    async def handle(self, raw: bytes, delivery: Delivery) -> Handled:
        envelope = open_envelope(raw, max_bytes=self._limits.max_bytes, max_depth=self._limits.max_depth)
        try:
            return await self._in_transaction(raw, delivery, envelope, self._readable)
        except PermanentError as exc:
            # The registry refused inside the transaction, which rolled back: answer in a new one.
            log.warning("registration refused message_id=%s code=%s", getattr(envelope, "message_id", None), exc.code)
            refused = codes.CATALOGUE.get(exc.code, codes.INTAKE_UNEXPECTED)
            return await self._in_transaction(raw, delivery, envelope, partial(self._refused, refused))

    async def _in_transaction(self, raw: bytes, delivery: Delivery, envelope: Envelope | Unreadable, body) -> Handled:
        async with self._uow() as uow:
            if await uow.inbox.delivered(delivery):
                return Handled("already-processed")
            if isinstance(envelope, Unreadable):
                handled = await self._dead_letter(uow, raw, delivery, envelope)
            else:
                handled = await body(uow, raw, delivery, envelope)
            await uow.commit()
        return handled

    async def _dead_letter(self, uow: UnitOfWork, raw: bytes, delivery: Delivery, why: Unreadable) -> Handled:
        await uow.inbox.record_delivery(delivery, None, "dead-letter")
        await uow.inbox.record_dead_letter(delivery, why.reason.code, why.detail)
        await uow.outbox.add([answers.dead_letter(self._topics, raw, delivery, why.reason.code, why.detail)])
        return Handled("dead-letter", codes=(why.reason.code,))

    async def _readable(self, uow: UnitOfWork, raw: bytes, delivery: Delivery, envelope: Envelope) -> Handled:
        prior = await uow.inbox.find(envelope.message_id)
        if prior is not None:
            await uow.inbox.record_delivery(delivery, envelope.message_id, "resent-result")
            await uow.outbox.copy_event(prior.result_event_id)
            return Handled("resent-result", prior.message_id, prior.hospital_id, prior.codes)
        now = self._clock()
        content, extra = await self._process(uow, raw, envelope, now)
        return await self._answer(uow, delivery, envelope, content, extra, now)

    async def _refused(self, code, uow: UnitOfWork, raw: bytes, delivery: Delivery, envelope: Envelope) -> Handled:
        content = _Reply(envelope, answers.result_event_id(envelope.message_id)).rejected([Issue(code)])
        return await self._answer(uow, delivery, envelope, content, [], self._clock())

    async def _answer(self, uow: UnitOfWork, delivery: Delivery, envelope: Envelope, content: r.ResultContent,
                      extra: list, now: datetime) -> Handled:
        await uow.outbox.add([answers.result_message(self._topics, content, now), *extra])
        record = InboxRecord(envelope.message_id, content.hospital_id, content.status, content.event_id,
                             tuple(issue.code.code for issue in content.issues), delivery)
        await uow.inbox.record(record)
        await uow.inbox.record_delivery(delivery, envelope.message_id, content.status)
        return Handled(content.status, envelope.message_id, content.hospital_id, record.codes)

    async def _process(self, uow: UnitOfWork, raw: bytes, envelope: Envelope, now: datetime):
        reply = _Reply(envelope, answers.result_event_id(envelope.message_id))
        if any(issue.blocks for issue in envelope.issues):
            return reply.rejected(envelope.issues), []
        try:
            problems = structural_issues(envelope.document)
            profile = None if problems else read_notice(envelope.document, now=now, strict_nik=self._limits.strict_nik,
                                                        region_known=self._region_known)
        except Exception as exc:  # park: an input the rules did not foresee must not block the partition
            _log_intake_bug(envelope.message_id, exc)
            return reply.rejected([Issue(codes.INTAKE_UNEXPECTED)]), []
        if problems:
            return reply.rejected(problems), []
        reply.roles, reply.notes = profile.roles, [i for i in profile.issues if not i.blocks]
        if profile.notice is None:
            return reply.rejected(profile.issues), []
        notice = profile.notice
        decision = decide(notice, await _facts(uow, notice), now)
        return await self._carry_out(uow, raw, notice, decision, reply, now)

    async def _carry_out(self, uow: UnitOfWork, raw: bytes, notice: BirthNotice, decision: Decision, reply, now):
        match decision:
            case Register():
                registration = await uow.registry.register_birth(notice, decision, now)
                notes = [Issue(codes.LATE_REGISTRATION)] if decision.late else []
                content = reply.accepted(r.STATUS_REGISTERED, notes, answers.registration_numbers(registration, decision))
                return content, answers.civil_events(self._topics, notice, decision, registration)
            case RecordStillbirth():
                await uow.registry.record_stillbirth(notice, now)
                return reply.accepted(r.STATUS_STILLBIRTH, [Issue(codes.STILLBIRTH_RECORDED)], {}), []
            case AlreadyRegistered(existing=existing):
                numbers = {"nik": existing.child_nik, "akta-number": existing.akta_number,
                           "kk-number": existing.kk_number, "kk-version": existing.kk_version}
                numbers = {k: val for k, val in numbers.items() if val is not None}
                return reply.accepted(r.STATUS_DUPLICATE, [Issue(codes.DUPLICATE_NOTIFICATION)], numbers), []
            case Review(reasons=reasons):
                await uow.reviews.open(notice, raw, tuple(reason.code.code for reason in reasons))
                return reply.accepted(r.STATUS_REVIEW, [Issue(codes.REVIEW_PENDING), *reasons], {}), []
            case Reject(issues=issues):
                return reply.rejected(issues), []
        raise AssertionError(f"unhandled decision {decision!r}")


def _log_intake_bug(message_id: str, exc: Exception) -> None:
    """Name the failing line, not the exception's text: that text may quote the input."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    log.error("intake failed unexpectedly, answered INTAKE-UNEXPECTED message_id=%s error=%s at=%s:%d",
              message_id, type(exc).__name__, frame.filename.rsplit("/", 1)[-1], frame.lineno)


async def _facts(uow: UnitOfWork, notice: BirthNotice) -> RegistryFacts:
    registry = uow.registry
    return RegistryFacts(
        hospital=await uow.hospitals.hospital(notice.hospital_id),
        same_birth=await registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order),
        mother=await registry.person(notice.mother_nik),
        family=await registry.family(notice.kk_number),
        father=await registry.person(notice.father_nik) if notice.father_nik else None,
        mothers_births=tuple(await registry.births_of_mother(notice.mother_nik)),
    )


class _Reply:
    """Builds the result content, placing role-relative issue paths at the hospital's entries."""

    def __init__(self, envelope: Envelope, event_id: str) -> None:
        self.envelope, self.event_id = envelope, event_id
        self.roles: dict[str, str] = {}
        self.notes: list[Issue] = []

    def rejected(self, issues) -> r.ResultContent:
        return self._content(r.STATUS_REJECTED, [*issues, *self.notes], {})

    def accepted(self, status: str, issues, numbers) -> r.ResultContent:
        return self._content(status, [*issues, *self.notes], numbers)

    def _content(self, status: str, issues: list[Issue], numbers) -> r.ResultContent:
        placed = tuple(self._place(issue) for issue in _unique(issues))
        return r.ResultContent(self.event_id, self.envelope.message_id, self.envelope.hospital_id, status, placed, numbers)

    def _place(self, issue: Issue) -> Issue:
        if not issue.expression:
            return issue
        role, _, rest = issue.expression.partition(".")
        if role not in self.roles:
            return issue
        path = self.roles[role] + (f".{rest}" if rest else "")
        return Issue(issue.code, path, issue.detail, issue.severity)


def _unique(issues: list[Issue]) -> list[Issue]:
    return list(dict.fromkeys(issues))
