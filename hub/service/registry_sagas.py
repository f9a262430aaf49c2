"""Use case: carry out registry sagas when the civil registry is external (SIAK over HTTP).

One saga per notification, due now: the worker claims it (locked to this transaction), decides
with the registry's facts, performs the registry write under an idempotency key derived from the
message id, and in the same PostgreSQL transaction queues the hospital's result and the civil
events and marks the saga written. Outcomes:

- registry unavailable (timeout, 5xx, circuit open): failed-retrying, due again after a jittered
  exponential backoff; nothing is answered yet, nothing is lost;
- registry refuses (4xx problem): failed-permanent, answered fatal-error with the registry's reason;
- a crash anywhere: the transaction and its lock vanish, the saga is due again, and the registry
  answers the repeated idempotency key with the registration it already made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from hub.domain.outcomes import Handling, SagaState
from hub.errors import PermanentError, RegistryConflict, RegistryUnavailable
from hub.logging import mask_number
from hub.observability import tracing
from hub.service.pipeline import Handled, Pipeline
from hub.service.ports import RegistrySaga, UnitOfWork
from hub.service.retry import backoff

log = logging.getLogger("hub.sagas")


class RegistrySagaWorker:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        pipeline: Pipeline,
        clock: Callable[[], datetime],
        *,
        retry_initial: float,
        retry_max: float,
    ) -> None:
        self._uow, self._pipeline, self._clock = unit_of_work, pipeline, clock
        self._initial, self._max = retry_initial, retry_max

    async def run_one(self) -> Handled | None:
        """Carry out one due saga; None when nothing is due. Traced as `hub.registry.write`, in the
        trace of the notification's decision (the registry's HTTP calls are its children)."""
        async with self._uow() as uow:
            now = self._clock()
            saga = await uow.sagas.claim_due(now)
            if saga is None:
                return None
            attributes = {"hub.message.id": saga.message_id, "hub.attempt": saga.attempts + 1}
            with tracing.span("hub.registry.write", parent=saga.trace_context, attributes=attributes) as span:
                handled = await self._carry_out(uow, saga, now)
                span.set_attribute("hub.outcome", str(handled.outcome))
        return handled

    async def _carry_out(self, uow: UnitOfWork, saga: RegistrySaga, now: datetime) -> Handled:
        envelope = self._pipeline.reopen(saga.document)
        prior = await uow.inbox.find(saga.hospital_id, saga.message_id)
        if prior is None:  # the saga was opened in the transaction that recorded the message
            raise RuntimeError(f"saga {saga.message_id} has no inbox row")
        try:
            evaluation = await self._pipeline.evaluate(
                uow, saga.document, envelope, now, sequence=prior.result_sequence, defer=False
            )
            state, error = SagaState.WRITTEN, None
        except (RegistryUnavailable, RegistryConflict) as exc:
            wait = backoff(saga.attempts + 1, self._initial, self._max)
            await uow.sagas.retry_at(saga.hospital_id, saga.message_id, now + timedelta(seconds=wait), str(exc)[:500])
            await uow.commit()
            log.warning(
                "registry unavailable, saga retried later message_id=%s attempt=%d wait_s=%.1f",
                saga.message_id,
                saga.attempts + 1,
                wait,
            )
            return Handled(Handling.RETRYING, saga.message_id)
        except PermanentError as exc:
            # The registry's words go to the hospital: masked, so no NIK travels in them.
            code = exc.code
            evaluation = self._pipeline.refused(envelope, code, prior.result_sequence, mask_number(str(exc))[:300])
            state, error = SagaState.FAILED, exc.origin or exc.code.code
        handled = await self._pipeline.answer(
            uow, envelope, evaluation, now, delivery=prior.delivery, replaces=True, origin_at=saga.origin_at
        )
        for _ in range(saga.owed_copies):  # the hospital re-sent the message id while we waited
            if not await uow.outbox.copy_event(evaluation.content.event_id):
                await uow.documents.owe_copy(saga.hospital_id, saga.message_id)  # the result waits for its documents
        await uow.sagas.finish(saga.hospital_id, saga.message_id, state, error)
        await uow.commit()
        log.info("saga finished message_id=%s state=%s outcome=%s", saga.message_id, state, handled.outcome)
        return handled
