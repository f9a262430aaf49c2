"""Use case: handle one birth notification from the topic, exactly once.

Idempotent by message id and by delivery: every effect of a message (inbox row, registry writes,
outbox rows) commits in one unit of work, so a crash before the commit changes nothing and a
redelivery after it finds the delivery recorded and does nothing. A hospital that re-sends a
message id gets the same result again; a new message id for a birth that is already registered
gets `ok` with the existing numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from hub.domain import codes
from hub.errors import PermanentError
from hub.intake.envelope import Envelope, Unreadable, open_envelope
from hub.service import answers
from hub.service.pipeline import Handled, Pipeline
from hub.service.ports import Delivery, UnitOfWork

log = logging.getLogger("hub.register")


class RegisterBirths:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], pipeline: Pipeline, clock: Callable[[], datetime]) -> None:
        self._uow, self.pipeline, self._clock = unit_of_work, pipeline, clock

    async def handle(self, raw: bytes, delivery: Delivery) -> Handled:
        limits = self.pipeline.limits
        envelope = open_envelope(raw, max_bytes=limits.max_bytes, max_depth=limits.max_depth)
        try:
            return await self._in_transaction(raw, delivery, envelope, self._readable)
        except PermanentError as exc:
            # The registry refused inside the transaction, which rolled back: answer in a new one.
            log.warning("registration refused message_id=%s code=%s", getattr(envelope, "message_id", None), exc.code)
            code = codes.CATALOGUE.get(exc.code, codes.INTAKE_UNEXPECTED)

            async def refuse(uow, raw_, delivery_, envelope_):
                await uow.inbox.record_delivery(delivery_, envelope_.message_id, "rejected")
                return await self.pipeline.answer(uow, envelope_, self.pipeline.refused(envelope_, code), self._clock(),
                                                  delivery=delivery_)

            return await self._in_transaction(raw, delivery, envelope, refuse)

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
        await uow.outbox.add([answers.dead_letter(self.pipeline.topics, raw, delivery, why.reason.code, why.detail)])
        return Handled("dead-letter", codes=(why.reason.code,))

    async def _readable(self, uow: UnitOfWork, raw: bytes, delivery: Delivery, envelope: Envelope) -> Handled:
        prior = await uow.inbox.find(envelope.message_id)
        if prior is not None:
            await uow.inbox.record_delivery(delivery, envelope.message_id, "resent-result")
            await uow.outbox.copy_event(prior.result_event_id)
            return Handled("resent-result", prior.message_id, prior.hospital_id, prior.codes)
        now = self._clock()
        evaluation = await self.pipeline.evaluate(uow, raw, envelope, now)
        await uow.inbox.record_delivery(delivery, envelope.message_id, evaluation.content.status)
        return await self.pipeline.answer(uow, envelope, evaluation, now, delivery=delivery)
