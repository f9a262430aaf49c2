"""Use case: a Dukcapil officer decides a notification the hub could not decide alone.

Approval completes the registration through the normal pipeline (the review reasons no longer
apply; every other rule still does). Either decision sends the hospital its second result,
replaces the inbox row and is written to the audit log, all in one transaction. A case is decided
once: deciding it again is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hub.domain import codes
from hub.domain.outcomes import ReviewStatus
from hub.errors import OperatorError
from hub.service.pipeline import Handled, Pipeline
from hub.service.ports import AuditEntry, UnitOfWork


class ReviewDecisions:
    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], pipeline: Pipeline, clock: Callable[[], datetime]
    ) -> None:
        self._uow, self._pipeline, self._clock = unit_of_work, pipeline, clock

    async def approve(self, hospital_id: str, message_id: str, officer: str, note: str) -> Handled:
        return await self._decide(hospital_id, message_id, officer, note, approve=True)

    async def reject(self, hospital_id: str, message_id: str, officer: str, note: str) -> Handled:
        return await self._decide(hospital_id, message_id, officer, note, approve=False)

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
