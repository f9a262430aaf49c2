"""Use case: handle birth notifications from the topic, exactly once, a batch at a time.

Idempotent by message id and by delivery: every effect of a batch (deliveries, inbox rows,
registry writes, outbox rows) commits in one unit of work, and the consumer commits the batch's
offsets only after it. A crash before the commit changes nothing; a redelivery after it finds its
deliveries recorded and does nothing. A hospital that re-sends a message id gets the same result
again; a new message id for a birth that is already registered gets `ok` with the existing numbers.

If the registry refuses one registration (a PermanentError aborts the transaction), the batch is
handled again one message at a time, and the refused one is answered in a transaction of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

from hub.domain.outcomes import Handling, ResultStatus
from hub.errors import PermanentError
from hub.intake.envelope import Envelope, Unreadable
from hub.service.pipeline import Handled, Pipeline
from hub.service.ports import Delivery, InboxRecord, UnitOfWork

log = logging.getLogger("hub.register")
ALREADY = Handled(Handling.ALREADY_PROCESSED)
# One thread, so notifications are inspected in order; fhir.resources and the rules are pure.
_VALIDATOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-validate")


async def resend_result(uow: UnitOfWork, prior: InboxRecord) -> None:
    """Queue the result of a message id again. While a registry saga or the documents are still
    being made there is no result yet: the worker that makes it sends it once more."""
    if prior.status == ResultStatus.PENDING and await uow.sagas.owe_copy(prior.message_id):
        return
    if await uow.outbox.copy_event(prior.result_event_id) or await uow.documents.owe_copy(prior.message_id):
        return
    await uow.outbox.copy_event(prior.result_event_id)  # the documents' job finished meanwhile


class RegisterBirths:
    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], pipeline: Pipeline, clock: Callable[[], datetime]
    ) -> None:
        self._uow, self.pipeline, self._clock = unit_of_work, pipeline, clock

    async def handle(self, raw: bytes, delivery: Delivery) -> Handled:
        (handled,) = await self.handle_batch([(raw, delivery)])
        return handled

    async def handle_batch(self, items: list[tuple[bytes, Delivery]]) -> list[Handled]:
        opened = [(raw, delivery, self.pipeline.open(raw)) for raw, delivery in items]
        inspections = self._inspect_ahead(opened)
        try:
            return await self._in_transaction(opened, partial(self._one, inspections))
        except PermanentError as exc:
            if len(opened) > 1:
                return [
                    handled for raw, delivery, _ in opened for handled in await self.handle_batch([(raw, delivery)])
                ]
            _raw, _delivery, envelope = opened[0]
            # The registry refused inside the transaction, which rolled back: answer in a new one.
            log.warning(
                "registration refused message_id=%s code=%s", getattr(envelope, "message_id", None), exc.code.code
            )
            refused = exc.code

            async def refuse(uow, raw_, delivery_, envelope_):
                evaluation = self.pipeline.refused(envelope_, refused)
                return await self.pipeline.answer(uow, envelope_, evaluation, self._clock(), delivery=delivery_)

            return await self._in_transaction(opened, refuse)

    async def _in_transaction(self, opened, body) -> list[Handled]:
        async with self._uow() as uow:
            fresh = await uow.inbox.claim_deliveries([delivery for _, delivery, _ in opened])
            await uow.inbox.prefetch([e.message_id for _, _, e in opened if isinstance(e, Envelope)])
            results = []
            for raw, delivery, envelope in opened:
                if (delivery.topic, delivery.partition, delivery.offset) not in fresh:
                    results.append(ALREADY)
                elif isinstance(envelope, Unreadable):
                    results.append(await self.pipeline.dead_letter(uow, raw, delivery, envelope))
                else:
                    results.append(await body(uow, raw, delivery, envelope))
            await uow.inbox.note_deliveries(
                [
                    (d, h.message_id, h.outcome)
                    for (_, d, _), h in zip(opened, results, strict=False)
                    if h is not ALREADY
                ]
            )
            await uow.commit()
        return results

    def _inspect_ahead(self, opened) -> dict[int, asyncio.Future]:
        """Validate the batch's notifications in a worker thread, in order, while this task waits
        on the database for the earlier ones: the CPU-bound and the I/O-bound halves overlap."""
        loop, now = asyncio.get_running_loop(), self._clock()
        return {
            id(envelope): loop.run_in_executor(_VALIDATOR, self.pipeline.inspect, envelope, now)
            for _, _, envelope in opened
            if isinstance(envelope, Envelope)
        }

    async def _one(
        self,
        inspections: dict[int, asyncio.Future],
        uow: UnitOfWork,
        raw: bytes,
        delivery: Delivery,
        envelope: Envelope,
    ) -> Handled:
        prior = await uow.inbox.find(envelope.message_id)
        if prior is not None:
            await resend_result(uow, prior)
            return Handled(Handling.RESENT, prior.message_id, prior.hospital_id, prior.codes)
        now = self._clock()
        evaluation = await self.pipeline.evaluate(uow, raw, envelope, now, inspection=await inspections[id(envelope)])
        return await self.pipeline.answer(uow, envelope, evaluation, now, delivery=delivery)
