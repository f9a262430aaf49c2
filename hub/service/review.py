"""Use case: a Dukcapil officer decides a notification the hub could not decide alone.

Approval completes the registration through the normal pipeline (the review reasons no longer
apply; every other rule still does). Either decision sends the hospital its second result,
replaces the inbox row and is written to the audit log, all in one transaction. A case is decided
once: deciding it again is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from hub.domain import codes
from hub.domain.decision import MIN_BIRTH_INTERVAL, SAME_DELIVERY_WINDOW, RegistryFacts, normalise_name
from hub.domain.outcomes import ReviewStatus
from hub.domain.values import BirthNotice
from hub.errors import OperatorError
from hub.service.pipeline import Handled, Pipeline
from hub.service.ports import AuditEntry, ReviewCase, UnitOfWork


class ReviewDecisions:
    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], pipeline: Pipeline, clock: Callable[[], datetime]
    ) -> None:
        self._uow, self._pipeline, self._clock = unit_of_work, pipeline, clock

    async def approve(self, hospital_id: str, message_id: str, officer: str, note: str) -> Handled:
        return await self._decide(hospital_id, message_id, officer, note, approve=True)

    async def reject(self, hospital_id: str, message_id: str, officer: str, note: str) -> Handled:
        return await self._decide(hospital_id, message_id, officer, note, approve=False)

    async def compare(self, hospital_id: str, message_id: str) -> ReviewComparison | None:
        """A case with what the registry holds beside the notification's data (a read: nothing is
        written). None: no such case. The registry is asked now, so a decided case shows today's facts."""
        async with self._uow() as uow:
            case = await uow.reviews.get(hospital_id, message_id)
            if case is None:
                return None
            if case.document is None:
                return ReviewComparison(case, None, (), ())
            inspection = self._pipeline.inspect(self._pipeline.reopen(case.document), case.opened_at)
            notice = inspection.profile.notice if inspection.profile is not None else None
            if notice is None:  # it was valid when the case was opened; a later release may read it otherwise
                return ReviewComparison(case, None, (), ())
            facts = await uow.registry.facts(notice)
        return ReviewComparison(case, notice, compared_fields(notice, facts), other_births(notice, facts))

    async def _decide(self, hospital_id: str, message_id: str, officer: str, note: str, *, approve: bool) -> Handled:
        """The case of (hospital, message id): message ids are scoped by the sending hospital."""
        if not note.strip():
            raise OperatorError("a decision needs a note saying why")
        async with self._uow() as uow:
            case = await uow.reviews.get(hospital_id, message_id, lock=True)
            if case is None:
                raise OperatorError(f"no review case for message {message_id}")
            if case.status != ReviewStatus.OPEN:
                raise OperatorError(f"review of {message_id} was already decided ({case.status} by {case.decided_by})")
            prior = await uow.inbox.find(hospital_id, message_id)
            if prior is None:  # the case was opened in the transaction that recorded the message
                raise RuntimeError(f"review case {message_id} has no inbox row")
            if case.document is None:  # only decided cases are purged: an open one always has it
                raise RuntimeError(f"open review case {message_id} lost its notification")
            envelope = self._pipeline.reopen(case.document)
            now, sequence = self._clock(), prior.result_sequence + 1
            if approve:
                evaluation = await self._pipeline.evaluate(
                    uow, case.document, envelope, now, sequence=sequence, reviewed=True, defer=False
                )
            else:
                evaluation = self._pipeline.refused(envelope, codes.REVIEW_REJECTED, sequence)
            handled = await self._pipeline.answer(
                uow, envelope, evaluation, now, delivery=prior.delivery, replaces=True
            )
            status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
            await uow.reviews.decide(hospital_id, message_id, status, officer, note, now)
            await uow.audit.append(
                AuditEntry(
                    officer,
                    f"review.{'approve' if approve else 'reject'}",
                    message_id,
                    note,
                    {"outcome": handled.outcome, "codes": list(handled.codes), "hospital": hospital_id},
                ),
                now,
            )
            await uow.commit()
        return handled


@dataclass(frozen=True, slots=True)
class Compared:
    """One fact as the notification states it and as the registry holds it (None: not stated, or
    not in the registry). `differs`: the notification states it and the registry disagrees or has
    no such record (names compared as the decision compares them)."""

    field: str  # mother.nik, mother.name, mother.birth_date, mother.kk, father.nik, father.name
    notification: str | None
    registry: str | None
    differs: bool


@dataclass(frozen=True, slots=True)
class OtherBirth:
    """Another birth of the same mother in the registry; `too_close`: not the same delivery, and
    sooner than another pregnancy allows (why a case has REVIEW-SUSPECTED-DUPLICATE or -BIRTH-SPACING)."""

    born_at: datetime
    hospital_id: str
    message_id: str
    akta_number: str | None
    stillborn: bool
    too_close: bool


@dataclass(frozen=True, slots=True)
class ReviewComparison:
    """A review case for the officer: the case, the notification (None once its retention period
    after the decision has passed), the compared facts and the mother's other births."""

    case: ReviewCase
    notice: BirthNotice | None
    fields: tuple[Compared, ...]
    births: tuple[OtherBirth, ...]


def compared_fields(notice: BirthNotice, facts: RegistryFacts) -> tuple[Compared, ...]:
    """The parents' facts side by side: what REVIEW-MOTHER-DATA-MISMATCH and REVIEW-FATHER-NOT-FOUND
    are decided on, and the mother's family card."""
    mother, father = facts.mother, facts.father
    rows = [
        _compared("mother.nik", notice.mother_nik, mother.nik if mother else None),
        _compared("mother.name", notice.mother_name, mother.name if mother else None, normalise_name),
        _compared("mother.birth_date", _day(notice.mother_birth_date), _day(mother.birth_date) if mother else None),
        _compared("mother.kk", notice.kk_number, mother.kk_number if mother else None),
    ]
    if notice.father_nik is not None or notice.father_name is not None:
        rows += [
            _compared("father.nik", notice.father_nik, father.nik if father else None),
            _compared("father.name", notice.father_name, father.name if father else None, normalise_name),
        ]
    return tuple(rows)


def other_births(notice: BirthNotice, facts: RegistryFacts) -> tuple[OtherBirth, ...]:
    """The mother's births in the registry other than this notification's, oldest first."""
    found = [
        OtherBirth(
            b.born_at,
            b.hospital_id,
            b.message_id,
            b.akta_number,
            b.stillborn,
            _too_close(notice, b.born_at, b.hospital_id, b.encounter_id),
        )
        for b in facts.mothers_births
        if (b.hospital_id, b.message_id) != (notice.hospital_id, notice.message_id)
    ]
    return tuple(sorted(found, key=lambda b: b.born_at))


def _compared(field: str, stated: str | None, held: str | None, same: Callable[[str], str] = str.strip) -> Compared:
    differs = stated is not None and (held is None or same(stated) != same(held))
    return Compared(field, stated, held, differs)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _too_close(notice: BirthNotice, born_at: datetime, hospital_id: str, encounter_id: str) -> bool:
    """As hub.domain.decision judges the spacing of a mother's births (one delivery: same hospital and
    encounter, within SAME_DELIVERY_WINDOW)."""
    apart = abs(notice.born_at - born_at)
    one_delivery = (hospital_id, encounter_id) == (notice.hospital_id, notice.encounter_id)
    return not (one_delivery and apart <= SAME_DELIVERY_WINDOW) and apart < MIN_BIRTH_INTERVAL
