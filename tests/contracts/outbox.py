"""The Outbox port: messages to publish after commit; an event can be queued again under its own id.

Fixtures a concrete suite provides:
- `make`: a unit-of-work factory;
- `probe`: an `OutboxProbe` reading the committed queue.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from hub.service.ports import OutboundMessage
from tests.contracts.support import TRACE, unique, utc_now


class OutboxProbe(Protocol):
    async def queued(self, event_id: str) -> list[OutboundMessage]:
        """The committed messages with this event id, in the order they were queued."""
        ...

    async def purge(self, event_id: str) -> None:
        """Remove the event's body as the retention policy does, once it was published."""
        ...


def message(topic: str = "contract.out", key: bytes | None = b"key") -> OutboundMessage:
    return OutboundMessage(unique(), topic, key, b'{"value": 1}', {"event-id": "x", "correlation-id": unique()})


class OutboxContract:
    async def test_added_messages_are_queued_at_commit_as_they_were_given(self, make, probe):
        keyed, keyless = message(), message("contract.dlq", key=None)
        async with make() as uow:
            await uow.outbox.add([keyed, keyless])
            await uow.outbox.add([])
            await uow.commit()
        assert await probe.queued(keyed.event_id) == [keyed]
        assert await probe.queued(keyless.event_id) == [keyless]

    async def test_a_messages_trace_context_and_origin_time_are_queued_with_it(self, make, probe):
        traced = replace(message(), trace_context=TRACE, origin_at=utc_now())
        async with make() as uow:
            await uow.outbox.add([traced])
            await uow.commit()
        assert await probe.queued(traced.event_id) == [traced]

    async def test_a_copy_keeps_the_trace_context_but_not_the_origin_time(self, make, probe):
        traced = replace(message(), trace_context=TRACE, origin_at=utc_now())
        async with make() as uow:
            await uow.outbox.add([traced])
            assert await uow.outbox.copy_event(traced.event_id) is True
            await uow.commit()
        async with make() as uow:
            assert await uow.outbox.copy_event(traced.event_id) is True
            await uow.commit()
        copy = replace(traced, origin_at=None)
        assert await probe.queued(traced.event_id) == [traced, copy, copy]

    async def test_an_event_whose_body_was_removed_is_expired_and_never_copied(self, make, probe):
        event, kept = message(), message()
        async with make() as uow:
            await uow.outbox.add([event, kept])
            await uow.commit()
        async with make() as uow:
            assert await uow.outbox.expired(event.event_id) is False
        await probe.purge(event.event_id)
        async with make() as uow:
            assert await uow.outbox.expired(event.event_id) is True
            assert await uow.outbox.expired(kept.event_id) is False
            assert await uow.outbox.copy_event(event.event_id) is False
            await uow.commit()
        assert len(await probe.queued(event.event_id)) == 1

    async def test_nothing_is_queued_without_commit(self, make, probe):
        lost = message()
        async with make() as uow:
            await uow.outbox.add([lost])
        assert await probe.queued(lost.event_id) == []

    async def test_copy_event_queues_a_committed_event_again_with_the_same_id(self, make, probe):
        event = message()
        async with make() as uow:
            await uow.outbox.add([event])
            await uow.commit()
        async with make() as uow:
            assert await uow.outbox.copy_event(event.event_id) is True
            await uow.commit()
        assert await probe.queued(event.event_id) == [event, event]

    async def test_copy_event_finds_an_event_added_in_the_same_unit_of_work(self, make, probe):
        event = message()
        async with make() as uow:
            await uow.outbox.add([event])
            assert await uow.outbox.copy_event(event.event_id) is True
            await uow.commit()
        assert await probe.queued(event.event_id) == [event, event]

    async def test_copy_event_of_an_unknown_event_is_false_and_queues_nothing(self, make, probe):
        unknown = unique()
        async with make() as uow:
            assert await uow.outbox.copy_event(unknown) is False
            await uow.commit()
        assert await probe.queued(unknown) == []

    async def test_a_copy_not_committed_is_not_queued(self, make, probe):
        event = message()
        async with make() as uow:
            await uow.outbox.add([event])
            await uow.commit()
        async with make() as uow:
            assert await uow.outbox.copy_event(event.event_id) is True
        assert await probe.queued(event.event_id) == [event]
