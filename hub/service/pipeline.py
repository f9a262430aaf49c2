"""The notification pipeline shared by every way a notification is processed.

`evaluate` reads, validates and decides, carrying the decision out on the registry inside the
caller's unit of work; `answer` queues the result (and civil events) and records the inbox row.
The consumer (register_birth.py), replay (replay.py) and review decisions (review.py) differ only
in how they treat what was processed before.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from hub.config import Topics
from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.decision import (
    AlreadyRegistered,
    Decision,
    RecordStillbirth,
    Register,
    RegistryFacts,
    Reject,
    Review,
    decide,
)
from hub.domain.documents import Content
from hub.domain.outcomes import Handling, Outcome, ResultStatus
from hub.domain.values import BirthNotice
from hub.errors import OperatorError
from hub.intake import results as r
from hub.intake.conformance import conformance_issues
from hub.intake.envelope import Envelope, Unreadable, open_envelope
from hub.intake.profile import ProfileResult, read_notice
from hub.intake.structure import structural_issues
from hub.intake.text import text_issues
from hub.observability import tracing
from hub.service import answers
from hub.service.documents_content import REGISTRATION, Issuer, registration_contents
from hub.service.ports import (
    Delivery,
    DocumentRequest,
    InboxRecord,
    OutboundMessage,
    UnitOfWork,
)
from hub.service.trust import Distrust, SenderTrust

log = logging.getLogger("hub.register")
SENDER_PATH = "Bundle.entry[0].resource.sender"
MAX_RESULT_ISSUES = 100  # a result must stay far below the broker's record limit, however bad the input


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    max_bytes: int
    max_depth: int
    strict_nik: bool


@dataclass(frozen=True, slots=True)
class Handled:
    """What happened to one message, for logs, reports and metrics (no personal data)."""

    outcome: Outcome
    message_id: str | None = None
    hospital_id: str | None = None
    codes: tuple[str, ...] = ()


@dataclass(slots=True)
class Evaluation:
    content: r.ResultContent
    extra: list[OutboundMessage] = field(default_factory=list)
    mother_nik: str | None = None
    sequence: int = 1
    documents: tuple[Content, ...] = ()  # owed with the result: it waits for them
    kk_number: str | None = None


@dataclass(frozen=True, slots=True)
class Inspection:
    """What the intake found: blocking problems, or the profile's result (notice, warnings, roles)."""

    problems: list[Issue] = field(default_factory=list)
    profile: ProfileResult | None = None


class Pipeline:
    """`defer_registry`: the registry is external (SIAK), so a valid notice becomes a registry saga
    (hub/service/registry_sagas.py) instead of being decided inside the consumer's transaction."""

    def __init__(
        self,
        topics: Topics,
        limits: IntakeLimits,
        region_known: Callable[[str], bool],
        *,
        defer_registry: bool = False,
        issuer: Issuer | None = None,
        trust: SenderTrust | None = None,
    ) -> None:
        self.topics, self.limits, self.region_known = topics, limits, region_known
        self.defer_registry = defer_registry
        # Who sent a record (hub/service/trust.py). The hub's wiring always checks; None is for
        # tests of the later stages, which hand records straight to the pipeline.
        self.trust = trust
        self.issuer = issuer  # None: documents are off, a registration is answered with its numbers only

    def open(self, raw: bytes) -> Envelope | Unreadable:
        """Read a message's envelope within the hub's limits: the one place messages are opened."""
        return open_envelope(raw, max_bytes=self.limits.max_bytes, max_depth=self.limits.max_depth)

    def reopen(self, stored: bytes) -> Envelope:
        """Open a notification the hub stored after reading it once (saga, review case)."""
        envelope = self.open(stored)
        if not isinstance(envelope, Envelope):
            raise OperatorError("a stored notification can no longer be read")
        return envelope

    async def dead_letter(self, uow: UnitOfWork, raw: bytes, delivery: Delivery, why: Unreadable) -> Handled:
        """Keep an unreadable message on the DLQ with its reason: the one place messages are parked."""
        await uow.inbox.record_dead_letter(delivery, why.reason.code, why.detail)
        letter = answers.dead_letter(self.topics, raw, delivery, why.reason.code, why.detail)
        await uow.outbox.add(answers.stamped([letter], delivery.origin_at))
        return Handled(Handling.DEAD_LETTER, codes=(why.reason.code,))

    async def prefetch_senders(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        """Read what judging these records' senders needs, in one go (before `distrust` on each)."""
        if self.trust is not None and deliveries:
            await self.trust.prefetch(uow, deliveries)

    async def distrust(
        self, uow: UnitOfWork, raw: bytes, delivery: Delivery, envelope: Envelope | Unreadable, now: datetime
    ) -> Distrust | None:
        """Why the record is not trusted (hub/service/trust.py), None when it is."""
        if self.trust is None:
            return None
        return await self.trust.judge(uow, raw, delivery, envelope, now)

    async def untrusted(
        self,
        uow: UnitOfWork,
        raw: bytes,
        delivery: Delivery,
        envelope: Envelope | Unreadable,
        why: Distrust,
        now: datetime,
    ) -> Handled:
        """Keep an untrusted record with the dead letters (with its code) and, when its message id
        can be read, answer the hospital whose topic carried it. Its message id stays free."""
        detail = f"hospital {why.hospital_id}" if why.hospital_id else "not a registered hospital's topic"
        await uow.inbox.record_dead_letter(delivery, why.code.code, detail)
        queued = [answers.dead_letter(self.topics, raw, delivery, why.code.code, detail)]
        message_id = envelope.message_id if isinstance(envelope, Envelope) else None
        if message_id is not None and why.hospital_id is not None:
            content = r.ResultContent(
                why.result_event_id(delivery),
                message_id,
                why.hospital_id,
                ResultStatus.REJECTED,
                (Issue(why.code),),
                {},
            )
            queued.append(answers.result_message(self.topics, content, now))
        await uow.outbox.add(answers.stamped(queued, delivery.origin_at))
        log.warning(
            "untrusted record refused code=%s hospital=%s message_id=%s partition=%d offset=%d",
            why.code.code,
            why.hospital_id,
            message_id,
            delivery.partition,
            delivery.offset,
        )
        return Handled(Handling.DEAD_LETTER, message_id, why.hospital_id, (why.code.code,))

    def inspect(self, envelope: Envelope, now: datetime) -> Inspection:
        """The CPU-bound part: FHIR structure and profile rules. Pure, so it may run in a thread."""
        if any(issue.blocks for issue in envelope.issues):
            return Inspection(problems=list(envelope.issues))
        try:
            document = envelope.document
            problems = text_issues(document) or structural_issues(document) or conformance_issues(document)
            if problems:
                return Inspection(problems=problems)
            return Inspection(
                profile=read_notice(
                    envelope.document, now=now, strict_nik=self.limits.strict_nik, region_known=self.region_known
                )
            )
        except Exception as exc:  # noqa: BLE001 - park: an input the rules did not foresee must not block the partition
            _log_intake_bug(envelope.message_id, exc)
            return Inspection(problems=[Issue(codes.INTAKE_UNEXPECTED)])

    async def evaluate(
        self,
        uow: UnitOfWork,
        raw: bytes,
        envelope: Envelope,
        now: datetime,
        *,
        sequence: int = 1,
        reviewed: bool = False,
        defer: bool | None = None,
        inspection: Inspection | None = None,
        origin_at: datetime | None = None,
    ) -> Evaluation:
        """Validate (unless `inspection` says how that went), decide and carry the decision out; a
        deferred registry write opens a saga in the current trace, noting `origin_at`."""
        reply = _Reply(envelope, answers.result_event_id(envelope.hospital_id, envelope.message_id, sequence))
        inspection = inspection or self.inspect(envelope, now)
        if inspection.profile is None:
            return Evaluation(reply.rejected(inspection.problems), sequence=sequence)
        profile = inspection.profile
        reply.roles, reply.notes = profile.roles, [i for i in profile.issues if not i.blocks]
        if profile.notice is None:
            return Evaluation(reply.rejected(profile.issues), sequence=sequence)
        notice = profile.notice
        if notice.hospital_id != envelope.hospital_id:
            # The trust check judged the sender the envelope names; the notice resolved the sender's
            # reference inside the bundle (e.g. a fullUrl "Organization/100" whose resource id is
            # "200"). Only the hospital that was checked may be the one registered.
            return Evaluation(reply.rejected([Issue(codes.SENDER_NOT_SIGNER, SENDER_PATH)]), sequence=sequence)
        if self.defer_registry if defer is None else defer:
            await uow.sagas.open(
                notice.hospital_id,
                notice.message_id,
                raw,
                trace_context=tracing.current_traceparent(),
                origin_at=origin_at,
            )
            return Evaluation(
                reply.accepted(ResultStatus.PENDING, [], {}), mother_nik=notice.mother_nik, sequence=sequence
            )
        decision = decide(notice, await _facts(uow, notice), now, reviewed=reviewed)
        content, extra, documents = await self._carry_out(uow, raw, notice, decision, reply, now)
        return Evaluation(content, extra, notice.mother_nik, sequence, documents, notice.kk_number)

    def refused(self, envelope: Envelope, code: codes.Code, sequence: int = 1, detail: str | None = None) -> Evaluation:
        """A rejection decided outside the rules (a registry's refusal, an officer's decision)."""
        reply = _Reply(envelope, answers.result_event_id(envelope.hospital_id, envelope.message_id, sequence))
        return Evaluation(reply.rejected([Issue(code, detail=detail)]), sequence=sequence)

    async def answer(
        self,
        uow: UnitOfWork,
        envelope: Envelope,
        evaluation: Evaluation,
        now: datetime,
        *,
        delivery: Delivery,
        replaces: bool = False,
        origin_at: datetime | None = None,
    ) -> Handled:
        """Queue the result and events; record (or, after a replay or review, replace) the inbox row.
        What is queued joins the current trace and notes `origin_at` (see OutboundMessage)."""
        content = evaluation.content
        if evaluation.documents and evaluation.kk_number:  # the result goes out with the signed documents
            await uow.documents.request(
                DocumentRequest(
                    content.message_id,
                    evaluation.sequence,
                    REGISTRATION,
                    evaluation.kk_number,
                    evaluation.documents,
                    r.build_result(content, now),
                    content.hospital_id,
                    trace_context=tracing.current_traceparent(),
                    origin_at=origin_at,
                )
            )
            await uow.outbox.add(answers.stamped(evaluation.extra, origin_at))
        elif content.status != ResultStatus.PENDING:  # the hospital hears nothing until the registry confirmed
            result = answers.result_message(self.topics, content, now)
            await uow.outbox.add(answers.stamped([result, *evaluation.extra], origin_at))
        record = InboxRecord(
            envelope.message_id,
            content.hospital_id,
            content.status,
            content.event_id,
            tuple(issue.code.code for issue in content.issues),
            delivery,
            evaluation.mother_nik,
            evaluation.sequence,
        )
        await (uow.inbox.replace(record) if replaces else uow.inbox.record(record))
        return Handled(content.status, envelope.message_id, content.hospital_id, record.codes)

    async def _carry_out(
        self, uow: UnitOfWork, raw: bytes, notice: BirthNotice, decision: Decision, reply: _Reply, now
    ):
        match decision:
            case Register():
                registration = await uow.registry.register_birth(notice, decision, now)
                notes = [Issue(codes.LATE_REGISTRATION)] if decision.late else []
                content = reply.accepted(
                    ResultStatus.REGISTERED, notes, answers.registration_numbers(registration, decision)
                )
                documents: tuple[Content, ...] = ()
                if self.issuer is not None:
                    hospital = await uow.hospitals.hospital(notice.hospital_id)
                    documents = registration_contents(
                        notice, decision, registration, hospital.regency if hospital else None, self.issuer
                    )
                return content, answers.civil_events(self.topics, notice, decision, registration), documents
            case RecordStillbirth():
                await uow.registry.record_stillbirth(notice, now)
                return reply.accepted(ResultStatus.STILLBIRTH, [Issue(codes.STILLBIRTH_RECORDED)], {}), [], ()
            case AlreadyRegistered(existing=existing):
                numbers = {
                    "nik": existing.child_nik,
                    "akta-number": existing.akta_number,
                    "kk-number": existing.kk_number,
                    "kk-version": existing.kk_version,
                }
                numbers = {k: val for k, val in numbers.items() if val is not None}
                return reply.accepted(ResultStatus.DUPLICATE, [Issue(codes.DUPLICATE_NOTIFICATION)], numbers), [], ()
            case Review(reasons=reasons):
                await uow.reviews.open(notice, raw, tuple(reason.code.code for reason in reasons))
                return reply.accepted(ResultStatus.REVIEW, [Issue(codes.REVIEW_PENDING), *reasons], {}), [], ()
            case Reject(issues=issues):
                return reply.rejected(issues), [], ()
        raise AssertionError(f"unhandled decision {decision!r}")


def _log_intake_bug(message_id: str, exc: Exception) -> None:
    """Name the failing line, not the exception's text: that text may quote the input."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    log.error(
        "intake failed unexpectedly, answered INTAKE-UNEXPECTED message_id=%s error=%s at=%s:%d",
        message_id,
        type(exc).__name__,
        frame.filename.rsplit("/", 1)[-1],
        frame.lineno,
    )


async def _facts(uow: UnitOfWork, notice: BirthNotice) -> RegistryFacts:
    found = await uow.registry.facts(notice)
    return replace(found, hospital=await uow.hospitals.hospital(notice.hospital_id))


class _Reply:
    """Builds the result content, placing role-relative issue paths at the hospital's entries."""

    def __init__(self, envelope: Envelope, event_id: str) -> None:
        self.envelope, self.event_id = envelope, event_id
        self.roles: dict[str, str] = {}
        self.notes: list[Issue] = []

    def rejected(self, issues) -> r.ResultContent:
        return self._content(ResultStatus.REJECTED, [*issues, *self.notes], {})

    def accepted(self, status: ResultStatus, issues, numbers) -> r.ResultContent:
        return self._content(status, [*issues, *self.notes], numbers)

    def _content(self, status: ResultStatus, issues: list[Issue], numbers) -> r.ResultContent:
        distinct = list(dict.fromkeys(issues))
        if len(distinct) > MAX_RESULT_ISSUES:
            more = len(distinct) - MAX_RESULT_ISSUES
            distinct = [*distinct[:MAX_RESULT_ISSUES], Issue(codes.ISSUES_TRUNCATED, detail=f"{more} more")]
        placed = tuple(self._place(issue) for issue in distinct)
        return r.ResultContent(
            self.event_id, self.envelope.message_id, self.envelope.hospital_id, status, placed, numbers
        )

    def _place(self, issue: Issue) -> Issue:
        if not issue.expression:
            return issue
        role, _, rest = issue.expression.partition(".")
        if role not in self.roles:
            return issue
        path = self.roles[role] + (f".{rest}" if rest else "")
        return Issue(issue.code, path, issue.detail, issue.severity)
