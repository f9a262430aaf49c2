"""The Inbox port: processed messages and the deliveries seen, written with the message's effects.

A message is (hospital, message id): each hospital chooses its own message ids, so another
hospital's message with the same id is another message, and a message whose sender could not be
read (hospital None) is in a scope of its own.

A row that must be unique (an inbox row, a delivery, a dead letter) written twice is refused, at
the latest on commit, with StoreUnavailable: a concurrent writer won, and a retry re-reads and
takes the already-processed path. The inbox keeps where a message came from (topic, partition,
offset), not the delivery's key.

Fixtures a concrete suite provides:
- `make`: a unit-of-work factory;
- `probe`: reads what the port has no method for (an `InboxProbe`), outside any unit of work.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import pytest

from hub.errors import StoreUnavailable
from hub.service.ports import Delivery
from tests.contracts.support import delivery, inbox_record, unique

HOSPITAL, OTHER = "1032730001", "1032730002"


class InboxProbe(Protocol):
    async def delivery(self, delivery: Delivery) -> tuple[str | None, str] | None:
        """(message id, action) of a committed delivery, None if there is none."""
        ...

    async def dead_letter(self, delivery: Delivery) -> tuple[str, str | None] | None:
        """(reason, detail) of a committed dead letter, None if there is none."""
        ...


def _key(d: Delivery) -> tuple[str, int, int]:
    return d.topic, d.partition, d.offset


class InboxContract:
    async def test_a_recorded_message_is_found_in_its_unit_of_work_and_after_commit(self, make):
        record = inbox_record(
            status="rejected", codes=("A", "B"), mother_nik="3273014203950001", result_sequence=2, delivery=delivery()
        )
        async with make() as uow:
            assert await uow.inbox.find(record.hospital_id, record.message_id) is None
            await uow.inbox.record(record)
            found = await uow.inbox.find(record.hospital_id, record.message_id)
            assert (found.status, found.codes, found.result_event_id) == (
                record.status,
                record.codes,
                record.result_event_id,
            )
            await uow.commit()
        async with make() as uow:
            assert await uow.inbox.find(record.hospital_id, record.message_id) == replace(
                record, delivery=replace(record.delivery, key=None)
            )
            assert await uow.inbox.find(record.hospital_id, unique()) is None

    async def test_nothing_written_without_commit_is_kept(self, make, probe):
        record, where, lost = inbox_record(), delivery(), delivery()
        async with make() as uow:
            await uow.inbox.record(record)
            assert await uow.inbox.claim_deliveries([where]) == {_key(where)}
            await uow.inbox.record_delivery(lost, record.hospital_id, record.message_id, "registered")
            await uow.inbox.record_dead_letter(lost, "DLQ-NOT-UTF8", None)
        async with make() as uow:
            assert await uow.inbox.find(record.hospital_id, record.message_id) is None
            assert not await uow.inbox.delivered(where) and not await uow.inbox.delivered(lost)
            assert await uow.inbox.claim_deliveries([where, lost]) == {_key(where), _key(lost)}
        assert await probe.delivery(lost) is None and await probe.dead_letter(lost) is None

    async def test_recording_a_known_message_id_again_is_refused(self, make):
        first = inbox_record(status="registered")
        async with make() as uow:
            await uow.inbox.record(first)
            await uow.commit()
        with pytest.raises(StoreUnavailable):
            async with make() as uow:
                await uow.inbox.record(inbox_record(first.message_id, status="rejected"))
                await uow.commit()
        async with make() as uow:
            assert await uow.inbox.find(first.hospital_id, first.message_id) == first

    async def test_claim_deliveries_returns_only_the_deliveries_not_seen_before(self, make):
        a, b, c, d = delivery(), delivery(), delivery(), delivery()
        async with make() as uow:
            assert await uow.inbox.claim_deliveries([]) == set()
            assert await uow.inbox.claim_deliveries([a, b, b]) == {_key(a), _key(b)}
            assert await uow.inbox.claim_deliveries([b, c]) == {_key(c)}, "claimed earlier in this unit of work"
            assert await uow.inbox.delivered(a)
            await uow.commit()
        async with make() as uow:  # a redelivery after the commit
            assert await uow.inbox.claim_deliveries([a, b, c, d]) == {_key(d)}
            assert await uow.inbox.delivered(c) and await uow.inbox.delivered(d)

    async def test_a_claimed_delivery_is_received_until_note_deliveries_sets_its_outcome(self, make, probe):
        a, b, message_id = delivery(), delivery(), unique()
        async with make() as uow:
            await uow.inbox.claim_deliveries([a, b])
            await uow.commit()
        assert await probe.delivery(a) == (None, "received")
        async with make() as uow:
            await uow.inbox.note_deliveries([])
            await uow.inbox.note_deliveries([(a, HOSPITAL, message_id, "registered"), (b, None, None, "dead-letter")])
            await uow.commit()
        assert await probe.delivery(a) == (message_id, "registered")
        assert await probe.delivery(b) == (None, "dead-letter")

    async def test_note_deliveries_leaves_deliveries_never_claimed_unseen(self, make, probe):
        never = delivery()
        async with make() as uow:
            await uow.inbox.note_deliveries([(never, HOSPITAL, unique(), "registered")])
            await uow.commit()
        async with make() as uow:
            assert not await uow.inbox.delivered(never)
        assert await probe.delivery(never) is None

    async def test_record_delivery_remembers_a_delivery_with_its_message_and_outcome(self, make, probe):
        where, message_id = delivery(), unique()
        async with make() as uow:
            assert not await uow.inbox.delivered(where)
            await uow.inbox.record_delivery(where, HOSPITAL, message_id, "registered")
            assert await uow.inbox.delivered(where)
            await uow.commit()
        assert await probe.delivery(where) == (message_id, "registered")
        async with make() as uow:
            assert await uow.inbox.claim_deliveries([where]) == set(), "a recorded delivery is not claimed again"
        with pytest.raises(StoreUnavailable):
            async with make() as uow:
                await uow.inbox.record_delivery(where, HOSPITAL, message_id, "rejected")
                await uow.commit()
        assert await probe.delivery(where) == (message_id, "registered")

    async def test_a_dead_letter_is_kept_with_its_reason_and_detail_once(self, make, probe):
        with_detail, without = delivery(), delivery()
        async with make() as uow:
            await uow.inbox.record_dead_letter(with_detail, "DLQ-JSON-INVALID", "line 1 column 2")
            await uow.inbox.record_dead_letter(without, "DLQ-NOT-UTF8", None)
            await uow.commit()
        assert await probe.dead_letter(with_detail) == ("DLQ-JSON-INVALID", "line 1 column 2")
        assert await probe.dead_letter(without) == ("DLQ-NOT-UTF8", None)
        with pytest.raises(StoreUnavailable):
            async with make() as uow:
                await uow.inbox.record_dead_letter(without, "DLQ-TOO-DEEP", "again")
                await uow.commit()
        assert await probe.dead_letter(without) == ("DLQ-NOT-UTF8", None)

    async def test_replace_overwrites_the_outcome_and_keeps_the_messages_origin(self, make):
        first = inbox_record(
            hospital_id="1032730001", status="review", codes=("REVIEW-PENDING",), mother_nik="3273014203950001"
        )
        async with make() as uow:
            await uow.inbox.record(first)
            await uow.commit()
        second = inbox_record(
            first.message_id,
            hospital_id=first.hospital_id,
            status="registered",
            codes=(),
            mother_nik=None,
            result_sequence=2,
        )
        async with make() as uow:
            await uow.inbox.replace(second)
            await uow.commit()
        async with make() as uow:
            found = await uow.inbox.find(first.hospital_id, first.message_id)
        assert (found.status, found.codes, found.result_event_id, found.result_sequence) == (
            "registered",
            (),
            second.result_event_id,
            2,
        )
        assert (found.hospital_id, found.delivery, found.mother_nik) == (
            first.hospital_id,
            first.delivery,
            first.mother_nik,
        ), "first delivery and mother stay"
        async with make() as uow:
            await uow.inbox.replace(
                inbox_record(first.message_id, hospital_id=first.hospital_id, mother_nik="3273014203950002")
            )
            await uow.commit()
        async with make() as uow:
            assert (await uow.inbox.find(first.hospital_id, first.message_id)).mother_nik == "3273014203950002"

    async def test_replace_applies_to_a_message_recorded_in_the_same_unit_of_work(self, make):
        first = inbox_record(status="registry-pending")
        async with make() as uow:
            await uow.inbox.record(first)
            await uow.inbox.replace(
                inbox_record(first.message_id, status="registered", result_event_id=first.result_event_id)
            )
            await uow.commit()
        async with make() as uow:
            found = await uow.inbox.find(first.hospital_id, first.message_id)
        assert (found.status, found.delivery) == ("registered", first.delivery)

    async def test_find_after_replace_answers_the_row_as_stored(self, make):
        first = inbox_record(status="review", mother_nik="3273014203950001")
        async with make() as uow:
            await uow.inbox.record(first)
            await uow.commit()
        async with make() as uow:
            await uow.inbox.replace(inbox_record(first.message_id, status="registered", mother_nik=None))
            found = await uow.inbox.find(first.hospital_id, first.message_id)
        assert (found.status, found.delivery, found.mother_nik) == ("registered", first.delivery, first.mother_nik)

    async def test_replace_of_an_unknown_message_creates_nothing(self, make):
        stranger = inbox_record()
        async with make() as uow:
            await uow.inbox.replace(stranger)
            await uow.commit()
        async with make() as uow:
            assert await uow.inbox.find(stranger.hospital_id, stranger.message_id) is None

    async def test_prefetch_changes_no_answer_of_find(self, make):
        known, later = inbox_record(), inbox_record()
        async with make() as uow:
            await uow.inbox.record(known)
            await uow.commit()
        async with make() as uow:
            await uow.inbox.prefetch(
                [(known.hospital_id, known.message_id), (later.hospital_id, later.message_id), (None, unique())]
            )
            assert await uow.inbox.find(known.hospital_id, known.message_id) == known
            assert await uow.inbox.find(later.hospital_id, later.message_id) is None
            await uow.inbox.record(later)
            assert await uow.inbox.find(later.hospital_id, later.message_id) == later, "recorded after the prefetch"
            await uow.inbox.prefetch([])

    async def test_prefetch_does_not_hide_a_record_made_earlier_in_the_unit_of_work(self, make):
        record = inbox_record()
        async with make() as uow:
            await uow.inbox.record(record)
            await uow.inbox.prefetch([(record.hospital_id, record.message_id)])
            assert await uow.inbox.find(record.hospital_id, record.message_id) == record

    async def test_two_hospitals_may_use_the_same_message_id_for_two_messages(self, make):
        mine = inbox_record(hospital_id=HOSPITAL, status="registered", mother_nik="3273014203950001")
        theirs = inbox_record(mine.message_id, hospital_id=OTHER, status="rejected", codes=("A",))
        async with make() as uow:
            await uow.inbox.record(mine)
            await uow.commit()
        async with make() as uow:
            assert await uow.inbox.find(OTHER, mine.message_id) is None, "another hospital's id is not this message"
            await uow.inbox.record(theirs)
            await uow.commit()
        async with make() as uow:
            assert await uow.inbox.find(HOSPITAL, mine.message_id) == mine
            assert await uow.inbox.find(OTHER, mine.message_id) == theirs
            assert await uow.inbox.find("1032730003", mine.message_id) is None

    async def test_a_message_without_a_readable_sender_is_its_own_scope(self, make):
        nobody = inbox_record(hospital_id=None, status="rejected")
        async with make() as uow:
            await uow.inbox.record(nobody)
            await uow.commit()
        async with make() as uow:
            assert await uow.inbox.find(None, nobody.message_id) == nobody
            assert await uow.inbox.find(HOSPITAL, nobody.message_id) is None
            await uow.inbox.prefetch([(None, nobody.message_id), (HOSPITAL, nobody.message_id)])
            assert await uow.inbox.find(None, nobody.message_id) == nobody
            assert await uow.inbox.find(HOSPITAL, nobody.message_id) is None

    async def test_prefetch_and_replace_keep_the_hospitals_apart(self, make):
        mine = inbox_record(hospital_id=HOSPITAL, status="review")
        theirs = inbox_record(mine.message_id, hospital_id=OTHER, status="review")
        async with make() as uow:
            await uow.inbox.record(mine)
            await uow.inbox.record(theirs)
            await uow.commit()
        async with make() as uow:
            await uow.inbox.prefetch([(OTHER, mine.message_id)])
            assert await uow.inbox.find(OTHER, mine.message_id) == theirs
            assert await uow.inbox.find(HOSPITAL, mine.message_id) == mine, "not prefetched: read from the store"
            await uow.inbox.replace(inbox_record(mine.message_id, hospital_id=OTHER, status="registered"))
            await uow.commit()
        async with make() as uow:
            assert (await uow.inbox.find(OTHER, mine.message_id)).status == "registered"
            assert await uow.inbox.find(HOSPITAL, mine.message_id) == mine, "the other hospital's row is untouched"

    async def test_the_same_hospital_recording_its_message_id_again_is_refused(self, make):
        first = inbox_record(hospital_id=None)
        async with make() as uow:
            await uow.inbox.record(first)
            await uow.commit()
        with pytest.raises(StoreUnavailable):
            async with make() as uow:
                await uow.inbox.record(inbox_record(first.message_id, hospital_id=None, status="rejected"))
                await uow.commit()
