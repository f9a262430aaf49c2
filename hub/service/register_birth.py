"""Use case: handle birth notifications from the topic, exactly once, a batch at a time.

Idempotent by message id and by delivery: every effect of a batch (deliveries, inbox rows,
registry writes, outbox rows) commits in one unit of work, and the consumer commits the batch's
offsets only after it. A crash before the commit changes nothing; a redelivery after it finds its
deliveries recorded and does nothing. A hospital that re-sends a message id gets the same result
again; a new message id for a birth that is already registered gets `ok` with the existing numbers.

If the registry refuses one registration, or the database refuses a value as data (a
PermanentError, StoreRefusedData among them, aborts the transaction), the batch is split in halves
and each half handled again, down to the one message that fails, which is answered in a
transaction of its own: the rest of the batch commits. A refusal that cannot be stored either is
dead-lettered with the reason. None of this is retried: the same data fails the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Protocol

from opentelemetry.trace import Span, SpanKind

from hub.config import Topics
from hub.domain import codes
from hub.domain.outcomes import Handling, ResultStatus
from hub.domain.values import BirthNotice
from hub.errors import PermanentError, StoreRefusedData
from hub.intake.envelope import Envelope, Unreadable
from hub.intake.people import family_cards
from hub.observability import tracing
from hub.service import answers
from hub.service.pipeline import Handled, Inspection, Pipeline
from hub.service.ports import Delivery, InboxRecord, UnitOfWork

log = logging.getLogger("hub.register")
# Notifications per transaction: a batch is handled in parts of this many, each validated before
# its transaction opens, so the regencies' locks are never held while notifications are validated,
# and the next part is validated while this one is written (CivilRegistry.prepare reads for a part
# at once). Offsets are still committed for the whole batch, after its last part.
PART = 20
REMEMBERED = 5_000  # outcomes of committed parts kept for a retry of their batch (a few batches' worth)


def _where(delivery: Delivery) -> tuple[str, int, int]:
    return (delivery.topic, delivery.partition, delivery.offset)


ALREADY = Handled(Handling.ALREADY_PROCESSED)
# One thread, so notifications are inspected in order; fhir.resources and the rules are pure.
_VALIDATOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-validate")


async def resend_result(uow: UnitOfWork, prior: InboxRecord, topics: Topics, now: datetime) -> None:
    """Queue the result of a message (hospital, message id) again. While a registry saga or the
    documents are still being made there is no result yet: the worker that makes it sends it once
    more. Once the retention period removed the result's body, the hospital gets its status and
    codes again, marked RESULT-EXPIRED (answers.expired_result)."""
    if prior.status == ResultStatus.PENDING and await uow.sagas.owe_copy(prior.hospital_id, prior.message_id):
        return
    if await uow.outbox.copy_event(prior.result_event_id):
        return
    if await uow.documents.owe_copy(prior.hospital_id, prior.message_id):
        return
    if await uow.outbox.copy_event(prior.result_event_id):  # the documents' job finished meanwhile
        return
    if await uow.outbox.expired(prior.result_event_id):
        await uow.outbox.add([answers.expired_result(topics, prior, now)])
        return
    log.error("no result to send again message_id=%s status=%s", prior.message_id, prior.status)


class Ahead(Protocol):
    """A batch's records being validated from their bytes alone, begun before the hub opened them."""

    async def result(self, index: int) -> Inspection:
        """The inspection of the batch's record `index` (one the hub opened as an Envelope)."""
        ...

    def cancel(self) -> None: ...


class Inspector(Protocol):
    """Where notifications are validated (Pipeline.inspect, pure): the hub's validator thread, or
    worker processes (hub/adapters/validation_pool.py). Results come back per record, in any
    order; the batch awaits them in its own order."""

    async def inspect(self, raw: bytes, envelope: Envelope, now: datetime) -> Inspection: ...

    def ahead(self, raws: list[bytes], now: datetime) -> Ahead | None:
        """Begin validating a whole batch from its bytes while the hub opens the records itself
        (worker processes open each record on their own); None: only `inspect` after opening."""
        ...


class ThreadInspector:
    """In the hub's own process, on its one validator thread: records are validated in order
    while the event loop waits on the database for earlier ones."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def inspect(self, raw: bytes, envelope: Envelope, now: datetime) -> Inspection:
        return await asyncio.get_running_loop().run_in_executor(_VALIDATOR, self._pipeline.inspect, envelope, now)

    def ahead(self, raws: list[bytes], now: datetime) -> None:
        """The thread needs the records opened: it shares the hub's process, which opens them once."""
        return None


@dataclass(frozen=True, slots=True)
class _Message:
    """One record of the batch, opened, with its `hub.consume` span."""

    raw: bytes
    delivery: Delivery
    envelope: Envelope | Unreadable
    span: Span


class RegisterBirths:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        pipeline: Pipeline,
        clock: Callable[[], datetime],
        inspector: Inspector | None = None,
    ) -> None:
        self._uow, self.pipeline, self._clock = unit_of_work, pipeline, clock
        self._inspector = inspector or ThreadInspector(pipeline)
        # What the committed parts of a batch that then failed answered, by delivery: the batch is
        # retried whole (consumer.py), and those parts are then found processed; they are reported
        # with their own outcome, once, not as "already processed".
        self._committed: OrderedDict[tuple[str, int, int], Handled] = OrderedDict()

    async def handle(self, raw: bytes, delivery: Delivery) -> Handled:
        (handled,) = await self.handle_batch([(raw, delivery)])
        return handled

    async def handle_batch(self, items: list[tuple[bytes, Delivery]]) -> list[Handled]:
        """Each message is traced as `hub.consume`, in the trace its delivery names (a new one
        without): validation, decision and the batch's transaction are its children."""
        # Opened in the validator's thread: a hostile megabyte must not hold up the event loop
        # (and with it the consumer's heartbeats) while its brackets are counted and it is parsed.
        raws, now = [raw for raw, _ in items], self._clock()
        ahead = self._inspector.ahead(raws, now)  # worker processes start on the bytes meanwhile
        try:
            envelopes = await asyncio.get_running_loop().run_in_executor(_VALIDATOR, self._open_all, raws)
            messages = [self._traced(*item, envelope) for item, envelope in zip(items, envelopes, strict=True)]
            return await self._handle_all(messages, self._inspect_ahead(messages, ahead, now))
        finally:
            if ahead is not None:  # a batch that failed leaves later chunks unawaited
                ahead.cancel()

    async def _handle_all(self, messages: list[_Message], inspections: dict[int, asyncio.Future]) -> list[Handled]:
        try:
            results: list[Handled] = []
            for start in range(0, len(messages), PART):
                part = messages[start : start + PART]
                await self._validated(part, inspections)
                results += await self._handle(part, inspections)
                self._remember(part, results[start:])
            results = [self._recalled(m, handled) for m, handled in zip(messages, results, strict=True)]
            for message, handled in zip(messages, results, strict=True):
                message.span.set_attribute("hub.outcome", str(handled.outcome))
            return results
        except BaseException as exc:
            for message in messages:
                tracing.failed(message.span, exc)
            raise
        finally:
            for pending in inspections.values():  # a batch that failed leaves later ones unawaited
                pending.cancel()
            for message in messages:
                message.span.end()

    def _remember(self, part: list[_Message], handled: list[Handled]) -> None:
        for m, h in zip(part, handled, strict=True):
            if h is not ALREADY:
                self._committed[_where(m.delivery)] = h
        while len(self._committed) > REMEMBERED:
            self._committed.popitem(last=False)

    def _recalled(self, m: _Message, handled: Handled) -> Handled:
        if handled is ALREADY:
            return self._committed.pop(_where(m.delivery), handled)
        self._committed.pop(_where(m.delivery), None)
        return handled

    def _open_all(self, raws: list[bytes]) -> list[Envelope | Unreadable]:
        return [self.pipeline.open(raw) for raw in raws]

    def _traced(self, raw: bytes, delivery: Delivery, envelope: Envelope | Unreadable) -> _Message:
        span = tracing.start_span(
            "hub.consume",
            parent=delivery.trace_context,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": delivery.topic,
                "messaging.destination.partition.id": str(delivery.partition),
                "messaging.kafka.offset": delivery.offset,
            },
        )
        if isinstance(envelope, Envelope):
            span.set_attribute("messaging.message.id", envelope.message_id)
        return _Message(raw, delivery, envelope, span)

    async def _handle(self, messages: list[_Message], inspections: dict[int, asyncio.Future]) -> list[Handled]:
        try:
            return await self._in_transaction(messages, partial(self._one, inspections), inspections)
        except PermanentError as exc:
            if len(messages) > 1:  # halves, in order: the partition's order holds, the failing one is found
                half = len(messages) // 2
                return await self._handle(messages[:half], inspections) + await self._handle(
                    messages[half:], inspections
                )
            return await self._refuse(messages[0], exc)

    async def _refuse(self, message: _Message, exc: PermanentError) -> list[Handled]:
        """The one message whose transaction was refused (and rolled back), answered in a new one
        with the refusal's code; if even that answer cannot be stored, dead-lettered."""
        message_id = getattr(message.envelope, "message_id", None)
        if isinstance(exc, StoreRefusedData):  # the intake let through what the database cannot take
            log.error(
                "database refused a value, answered %s message_id=%s error=%s", exc.code.code, message_id, exc.kind
            )
        else:
            log.warning("registration refused message_id=%s code=%s", message_id, exc.code.code)
        refused = exc.code

        async def refuse(uow, raw_, delivery_, envelope_):
            evaluation = self.pipeline.refused(envelope_, refused)
            return await self.pipeline.answer(
                uow, envelope_, evaluation, self._clock(), delivery=delivery_, origin_at=delivery_.origin_at
            )

        try:
            return await self._in_transaction([message], refuse)
        except StoreRefusedData as again:
            log.error("the refusal could not be stored, dead-lettered message_id=%s error=%s", message_id, again.kind)
            unreadable = Unreadable(codes.STORE_DATA_REJECTED, f"the database refused the answer too: {again.kind}")
            return await self._in_transaction([replace(message, envelope=unreadable)], refuse)

    async def _in_transaction(
        self, messages: list[_Message], body, inspections: dict[int, asyncio.Future] | None = None
    ) -> list[Handled]:
        spans = [message.span for message in messages]
        with tracing.batch_span("hub.db.transaction", spans, {"messaging.batch.message_count": len(messages)}):
            async with self._uow() as uow:
                fresh = await uow.inbox.claim_deliveries([m.delivery for m in messages])
                # Who sent what is judged before the regencies are locked: it takes no lock.
                new = [m for m in messages if _where(m.delivery) in fresh]
                await self.pipeline.prefetch_senders(uow, [m.delivery for m in new])
                distrusted = {}
                for m in new:
                    with tracing.within(m.span):
                        distrusted[id(m)] = await self.pipeline.distrust(
                            uow, m.raw, m.delivery, m.envelope, self._clock()
                        )
                trusted = [m for m in new if distrusted[id(m)] is None and isinstance(m.envelope, Envelope)]
                if not self.pipeline.defer_registry:
                    await uow.registry.reserve(
                        {
                            r
                            for m in trusted
                            if isinstance(m.envelope, Envelope)
                            for r in family_cards(m.envelope.document)
                        }
                    )
                # Read after the locks: a message id another writer of these regencies committed
                # meanwhile is found, and answered as a re-send.
                await uow.inbox.prefetch(
                    [
                        (m.envelope.hospital_id, m.envelope.message_id)
                        for m in messages
                        if isinstance(m.envelope, Envelope)
                    ]
                )
                if not self.pipeline.defer_registry and inspections is not None:
                    await uow.registry.prepare(await self._validated(trusted, inspections), self._clock())
                results = []
                for m in messages:
                    with tracing.within(m.span):
                        if id(m) not in distrusted:
                            results.append(ALREADY)
                        elif why := distrusted[id(m)]:
                            results.append(
                                await self.pipeline.untrusted(uow, m.raw, m.delivery, m.envelope, why, self._clock())
                            )
                        elif isinstance(m.envelope, Unreadable):
                            results.append(await self.pipeline.dead_letter(uow, m.raw, m.delivery, m.envelope))
                        else:
                            results.append(await body(uow, m.raw, m.delivery, m.envelope))
                await uow.inbox.note_deliveries(
                    [
                        (m.delivery, h.hospital_id, h.message_id, h.outcome)
                        for m, h in zip(messages, results, strict=False)
                        if h is not ALREADY
                    ]
                )
                await uow.commit()
        return results

    @staticmethod
    async def _validated(messages: list[_Message], inspections: dict[int, asyncio.Future]) -> list[BirthNotice]:
        """Wait until these messages are validated; their valid notices (a failed validation raises
        later, where its message is handled)."""
        pending = [asyncio.shield(inspections[id(m.envelope)]) for m in messages if id(m.envelope) in inspections]
        done = await asyncio.gather(*pending, return_exceptions=True)
        return [
            i.profile.notice
            for i in done
            if isinstance(i, Inspection) and i.profile is not None and i.profile.notice is not None
        ]

    def _inspect_ahead(self, messages: list[_Message], ahead: Ahead | None, now: datetime) -> dict[int, asyncio.Future]:
        """Validate the batch's notifications off the event loop (the inspector's thread or
        processes) while this task waits on the database for the earlier ones: the CPU-bound and
        the I/O-bound halves overlap."""
        return {
            id(m.envelope): asyncio.ensure_future(self._validate(m.span, m.raw, m.envelope, now, ahead, index))
            for index, m in enumerate(messages)
            if isinstance(m.envelope, Envelope)
        }

    async def _validate(
        self, parent: Span, raw: bytes, envelope: Envelope, now: datetime, ahead: Ahead | None, index: int
    ) -> Inspection:
        with tracing.span("hub.validate", parent=parent):
            if ahead is not None:
                return await ahead.result(index)
            return await self._inspector.inspect(raw, envelope, now)

    async def _one(
        self,
        inspections: dict[int, asyncio.Future],
        uow: UnitOfWork,
        raw: bytes,
        delivery: Delivery,
        envelope: Envelope,
    ) -> Handled:
        prior = await uow.inbox.find(envelope.hospital_id, envelope.message_id)
        if prior is not None:
            await resend_result(uow, prior, self.pipeline.topics, self._clock())
            return Handled(Handling.RESENT, prior.message_id, prior.hospital_id, prior.codes)
        now, inspection = self._clock(), await inspections[id(envelope)]
        with tracing.span("hub.decide"):
            evaluation = await self.pipeline.evaluate(
                uow, raw, envelope, now, inspection=inspection, origin_at=delivery.origin_at
            )
        return await self.pipeline.answer(
            uow, envelope, evaluation, now, delivery=delivery, origin_at=delivery.origin_at
        )
