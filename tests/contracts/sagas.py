"""The RegistrySagas port: registry writes to an external registry, tracked until done.

pending → written | failed-retrying → ... | failed-permanent. `claim_due` answers the saga due
earliest (hospital_id, message_id, state, document, attempts, owed_copies) and locks it to the unit of work
until it ends; another claimer skips it. One saga per message (hospital, message id). A saga belongs to an inbox row written in the same unit
of work (PostgreSQL checks it at commit), so the spec records one with each saga it opens.

Fixtures a concrete suite provides: `make`, a unit-of-work factory over a store where no other
saga is due.
"""

from __future__ import annotations

from datetime import timedelta

from tests.contracts.support import TRACE, inbox_record, minutes, unique, utc_now

DOCUMENT = b'{"resourceType": "Bundle", "id": "saga"}'
HOSPITAL = "1032730001"  # inbox_record's hospital


async def open_saga(uow, message_id: str | None = None, document: bytes = DOCUMENT) -> str:
    message_id = message_id or unique()
    await uow.inbox.record(inbox_record(message_id, status="registry-pending"))
    await uow.sagas.open(HOSPITAL, message_id, document)
    return message_id


class RegistrySagasContract:
    async def _opened(self, make, count: int = 1) -> list[str]:
        async with make() as uow:
            ids = [await open_saga(uow) for _ in range(count)]
            await uow.commit()
        return ids

    async def test_an_opened_saga_is_due_at_once_and_pending(self, make):
        before = utc_now()
        (message_id,) = await self._opened(make)
        async with make() as uow:
            assert await uow.sagas.claim_due(before - minutes(1)) is None, "not due before it was opened"
            saga = await uow.sagas.claim_due(utc_now() + timedelta(seconds=1))
        assert (saga.message_id, saga.state, saga.document, saga.attempts, saga.owed_copies) == (
            message_id,
            "pending",
            DOCUMENT,
            0,
            0,
        )

    async def test_a_saga_opened_without_commit_is_never_due(self, make):
        async with make() as uow:
            await open_saga(uow)
        async with make() as uow:
            assert await uow.sagas.claim_due(utc_now() + minutes(1)) is None

    async def test_a_saga_keeps_the_trace_context_and_origin_time_it_was_opened_with(self, make):
        sent = utc_now() - minutes(1)
        async with make() as uow:
            message_id = unique()
            await uow.inbox.record(inbox_record(message_id, status="registry-pending"))
            await uow.sagas.open(HOSPITAL, message_id, DOCUMENT, trace_context=TRACE, origin_at=sent)
            await uow.commit()
        async with make() as uow:
            saga = await uow.sagas.claim_due(utc_now() + timedelta(seconds=1))
            assert (saga.message_id, saga.trace_context, saga.origin_at) == (message_id, TRACE, sent)
            await uow.sagas.finish(HOSPITAL, message_id, "failed-permanent", "REGISTRY-ON-HOLD")
            await uow.commit()
        async with make() as uow:  # opened again (a replay): in the new trace, or in none
            await uow.sagas.open(HOSPITAL, message_id, DOCUMENT)
            await uow.commit()
        async with make() as uow:
            saga = await uow.sagas.claim_due(utc_now() + timedelta(seconds=1))
        assert (saga.message_id, saga.trace_context, saga.origin_at) == (message_id, None, None)

    async def test_retry_at_makes_a_saga_due_again_at_the_given_time(self, make):
        (message_id,) = await self._opened(make)
        when = utc_now() + timedelta(hours=1)
        async with make() as uow:
            saga = await uow.sagas.claim_due(utc_now() + timedelta(seconds=1))
            await uow.sagas.retry_at(HOSPITAL, saga.message_id, when, "RegistryUnavailable: 503")
            await uow.commit()
        async with make() as uow:
            assert await uow.sagas.claim_due(when - timedelta(seconds=1)) is None
            again = await uow.sagas.claim_due(when)
        assert (again.message_id, again.state, again.attempts) == (message_id, "failed-retrying", 1)

    async def test_finish_ends_a_saga_whatever_its_outcome(self, make):
        written, refused = await self._opened(make, 2)
        async with make() as uow:
            await uow.sagas.finish(HOSPITAL, written, "written")
            await uow.sagas.finish(HOSPITAL, refused, "failed-permanent", "REGISTRY-ON-HOLD")
            await uow.commit()
        async with make() as uow:
            assert await uow.sagas.claim_due(utc_now() + timedelta(days=1)) is None
            assert not await uow.sagas.owe_copy(HOSPITAL, written) and not await uow.sagas.owe_copy(HOSPITAL, refused)

    async def test_a_claimant_that_does_not_commit_changes_nothing(self, make):
        (message_id,) = await self._opened(make)
        async with make() as uow:
            saga = await uow.sagas.claim_due(utc_now() + timedelta(seconds=1))
            await uow.sagas.retry_at(HOSPITAL, saga.message_id, utc_now() + timedelta(hours=1), "crash before commit")
        async with make() as uow:
            saga = await uow.sagas.claim_due(utc_now() + timedelta(seconds=1))
        assert (saga.message_id, saga.state, saga.attempts) == (message_id, "pending", 0)

    async def test_owe_copy_counts_resends_while_the_saga_waits(self, make):
        (message_id,) = await self._opened(make)
        async with make() as uow:
            assert await uow.sagas.owe_copy(HOSPITAL, message_id) and await uow.sagas.owe_copy(HOSPITAL, message_id)
            await uow.sagas.retry_at(HOSPITAL, message_id, utc_now() - timedelta(seconds=1), "503")
            assert await uow.sagas.owe_copy(HOSPITAL, message_id), "failed-retrying still waits"
            await uow.commit()
        async with make() as uow:
            saga = await uow.sagas.claim_due(utc_now())
            assert (saga.message_id, saga.owed_copies) == (message_id, 3)
            await uow.sagas.finish(HOSPITAL, message_id, "written")
            assert not await uow.sagas.owe_copy(HOSPITAL, message_id), "finished meanwhile: copy the result now"
            await uow.commit()

    async def test_owe_copy_of_an_unknown_message_is_false(self, make):
        async with make() as uow:
            assert await uow.sagas.owe_copy(HOSPITAL, unique()) is False

    async def test_the_saga_due_earliest_is_claimed_first_and_a_claimed_one_is_skipped(self, make):
        later, sooner = await self._opened(make, 2)
        now = utc_now()
        async with make() as uow:
            await uow.sagas.retry_at(HOSPITAL, later, now + timedelta(hours=2), "503")
            await uow.sagas.retry_at(HOSPITAL, sooner, now + timedelta(hours=1), "503")
            await uow.commit()
        async with make() as first, make() as second:
            assert (await first.sagas.claim_due(now + timedelta(hours=3))).message_id == sooner
            assert (await first.sagas.claim_due(now + timedelta(hours=3))).message_id == sooner, "its own lock"
            assert (await second.sagas.claim_due(now + timedelta(hours=3))).message_id == later
            async with make() as third:
                assert await third.sagas.claim_due(now + timedelta(hours=3)) is None

    async def test_a_claimed_saga_is_free_again_when_its_unit_of_work_ends(self, make):
        (message_id,) = await self._opened(make)
        due = utc_now() + timedelta(seconds=1)
        async with make() as worker:
            assert (await worker.sagas.claim_due(due)).message_id == message_id
            async with make() as other:
                assert await other.sagas.claim_due(due) is None
        async with make() as uow:  # the worker crashed (no commit): the saga is due again
            assert (await uow.sagas.claim_due(due)).message_id == message_id

    async def test_opening_a_saga_again_makes_it_pending_with_the_new_document(self, make):
        (message_id,) = await self._opened(make)
        async with make() as uow:
            await uow.sagas.owe_copy(HOSPITAL, message_id)
            await uow.sagas.finish(HOSPITAL, message_id, "failed-permanent", "REGISTRY-ON-HOLD")
            await uow.commit()
        async with make() as uow:
            await uow.sagas.open(HOSPITAL, message_id, b'{"resourceType": "Bundle", "id": "again"}')
            await uow.commit()
        async with make() as uow:
            saga = await uow.sagas.claim_due(utc_now() + timedelta(seconds=1))
        assert (saga.message_id, saga.state, saga.document, saga.owed_copies, saga.attempts) == (
            message_id,
            "pending",
            b'{"resourceType": "Bundle", "id": "again"}',
            0,
            1,
        )

    async def test_two_hospitals_with_the_same_message_id_have_two_sagas(self, make):
        (message_id,) = await self._opened(make)
        async with make() as uow:
            await uow.inbox.record(inbox_record(message_id, hospital_id="1032730099", status="registry-pending"))
            await uow.sagas.open("1032730099", message_id, b"{}")
            await uow.commit()
        async with make() as uow:
            await uow.sagas.finish("1032730099", message_id, "written")
            assert await uow.sagas.owe_copy(HOSPITAL, message_id), "this hospital's saga still waits"
            assert not await uow.sagas.owe_copy("1032730099", message_id)
            saga = await uow.sagas.claim_due(utc_now() + minutes(1))
        assert (saga.hospital_id, saga.message_id, saga.document) == (HOSPITAL, message_id, DOCUMENT)
