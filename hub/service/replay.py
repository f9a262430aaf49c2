"""Use case: re-drive a notification through the normal pipeline, never registering twice.

- A message id processed with any outcome but `rejected` is counted as already processed: nothing
  is written, nothing is sent.
- A rejected message is evaluated again; if it is still rejected nothing changes, otherwise (the
  registry was corrected, the mother added) it is processed and the hospital gets a new result.
- A message the hub never saw (it was down, the range reaches past it) is processed normally.
- `dry_run` runs the same code up to the first registry write, which it does not make, and rolls
  the transaction back: the report says what would happen, nothing is written anywhere, not even
  to an external registry.

Replay decides at once, also with an external registry (no saga): the operator sees the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hub.domain.outcomes import Handling, ReplayKind, ResultStatus
from hub.intake.envelope import Envelope, Unreadable
from hub.service.pipeline import Handled, Pipeline
from hub.service.ports import Delivery, UnitOfWork
from hub.service.trust import Distrust

ALREADY, NEW, REJECTED, UNREADABLE, SKIPPED = (
    ReplayKind.ALREADY,
    ReplayKind.NEW,
    ReplayKind.REJECTED,
    ReplayKind.UNREADABLE,
    ReplayKind.SKIPPED,
)


@dataclass(frozen=True, slots=True)
class ReplayFilter:
    hospital_id: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replay outcome: `kind` is one of the report's columns, `handled` the detail."""

    kind: str
    handled: Handled


class ReplayMessages:
    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], pipeline: Pipeline, clock: Callable[[], datetime]
    ) -> None:
        self._uow, self._pipeline, self._clock = unit_of_work, pipeline, clock

    async def replay(
        self, raw: bytes, delivery: Delivery, *, dry_run: bool, only: ReplayFilter = ReplayFilter()
    ) -> Replayed:
        envelope = self._pipeline.open(raw)
        async with self._uow() as uow:
            # Judged again as when it was first read: the keys valid at the record's time.
            if why := await self._pipeline.distrust(uow, raw, delivery, envelope, self._clock()):
                return await self._untrusted(uow, raw, delivery, envelope, why, dry_run, only)
            if isinstance(envelope, Unreadable):
                return await self._unreadable(uow, raw, delivery, envelope, dry_run, only)
            prior = await uow.inbox.find(envelope.hospital_id, envelope.message_id)
            if not _selected(only, envelope.hospital_id, prior.codes if prior else ()):
                return Replayed(SKIPPED, Handled(SKIPPED, envelope.message_id))
            if prior is not None and prior.status != ResultStatus.REJECTED:
                return Replayed(
                    ALREADY, Handled(ResultStatus(prior.status), prior.message_id, prior.hospital_id, prior.codes)
                )
            now = self._clock()
            if dry_run:
                uow.registry = _ReadOnly(uow.registry)
            try:
                evaluation = await self._pipeline.evaluate(
                    uow, raw, envelope, now, defer=False, sequence=prior.result_sequence + 1 if prior else 1
                )
            except _WouldWrite as would:
                return Replayed(NEW, Handled(would.status, envelope.message_id, envelope.hospital_id))
            status = evaluation.content.status
            if prior is not None and status == ResultStatus.REJECTED:
                codes = tuple(issue.code.code for issue in evaluation.content.issues)
                return Replayed(REJECTED, Handled(status, envelope.message_id, envelope.hospital_id, codes))
            if prior is None and not await uow.inbox.delivered(delivery):
                await uow.inbox.record_delivery(delivery, envelope.hospital_id, envelope.message_id, status)
            handled = await self._pipeline.answer(
                uow, envelope, evaluation, now, delivery=delivery, replaces=prior is not None
            )
            if not dry_run:
                await uow.commit()
        return Replayed(REJECTED if status == ResultStatus.REJECTED else NEW, handled)

    async def _untrusted(
        self, uow: UnitOfWork, raw: bytes, delivery: Delivery, envelope, why: Distrust, dry_run: bool, only
    ) -> Replayed:
        """Still not trusted: counted as rejected with its code; a record never seen before is kept
        and answered as the consumer would have."""
        message_id = envelope.message_id if isinstance(envelope, Envelope) else None
        handled = Handled(ResultStatus.REJECTED, message_id, why.hospital_id, (why.code.code,))
        if not _selected(only, why.hospital_id, handled.codes):
            return Replayed(SKIPPED, handled)
        if not await uow.inbox.delivered(delivery):
            await uow.inbox.record_delivery(delivery, why.hospital_id, message_id, Handling.DEAD_LETTER)
            await self._pipeline.untrusted(uow, raw, delivery, envelope, why, self._clock())
            if not dry_run:
                await uow.commit()
        return Replayed(REJECTED, handled)

    async def _unreadable(
        self, uow: UnitOfWork, raw: bytes, delivery: Delivery, why: Unreadable, dry_run: bool, only: ReplayFilter
    ) -> Replayed:
        handled = Handled(UNREADABLE, codes=(why.reason.code,))
        if only.hospital_id or (only.code and only.code != why.reason.code):
            return Replayed(SKIPPED, handled)
        if not await uow.inbox.delivered(delivery):  # never seen: keep it on the DLQ as the consumer would
            await uow.inbox.record_delivery(delivery, None, None, Handling.DEAD_LETTER)
            await self._pipeline.dead_letter(uow, raw, delivery, why)
            if not dry_run:
                await uow.commit()
        return Replayed(UNREADABLE, handled)


class _WouldWrite(Exception):
    def __init__(self, status: ResultStatus) -> None:
        super().__init__(status)
        self.status = status


class _ReadOnly:
    """A registry for dry runs: every read goes through, the first write stops the evaluation."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def register_birth(self, *args, **kwargs):
        raise _WouldWrite(ResultStatus.REGISTERED)

    async def record_stillbirth(self, *args, **kwargs):
        raise _WouldWrite(ResultStatus.STILLBIRTH)


def _selected(only: ReplayFilter, hospital_id: str | None, codes: tuple[str, ...]) -> bool:
    if only.hospital_id and hospital_id != only.hospital_id:
        return False
    return not only.code or only.code in codes
