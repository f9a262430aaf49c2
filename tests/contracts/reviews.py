"""The Reviews port: the queue of notifications a Dukcapil officer must decide.

Cases are keyed by (hospital, message id): another hospital's message with the same id is another
case. A case opened twice for one message is refused, at the latest on commit, with StoreUnavailable
(a concurrent writer won: a retry re-reads).

Fixtures a concrete suite provides: `make`, a unit-of-work factory.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hub.errors import StoreUnavailable
from tests.contracts.support import minutes, unique, utc_now
from tests.unit.builders import notice

DOCUMENT = b'{"resourceType": "Bundle"}'
HOSPITAL = "1032730001"
REASONS = ("REVIEW-FATHER-NOT-FOUND", "REVIEW-MOTHER-DATA-MISMATCH")


class ReviewsContract:
    async def _opened(self, make):
        case = notice()
        async with make() as uow:
            await uow.reviews.open(case, DOCUMENT, REASONS)
            await uow.commit()
        return case

    async def test_an_opened_case_is_open_with_its_reasons_and_the_document(self, make):
        before = utc_now()
        case = await self._opened(make)
        async with make() as uow:
            found = await uow.reviews.get(case.hospital_id, case.message_id)
        assert (found.message_id, found.hospital_id, found.reasons, found.document, found.status) == (
            case.message_id,
            case.hospital_id,
            REASONS,
            DOCUMENT,
            "open",
        )
        assert (found.decided_at, found.decided_by, found.note) == (None, None, None)
        assert before - minutes(1) <= found.opened_at <= utc_now() + minutes(1)

    async def test_a_case_is_visible_in_its_unit_of_work_and_gone_without_commit(self, make):
        case = notice()
        async with make() as uow:
            await uow.reviews.open(case, DOCUMENT, REASONS)
            assert (await uow.reviews.get(case.hospital_id, case.message_id)).status == "open"
        async with make() as uow:
            assert await uow.reviews.get(case.hospital_id, case.message_id) is None

    async def test_get_of_an_unknown_case_is_none_with_or_without_lock(self, make):
        async with make() as uow:
            assert await uow.reviews.get(HOSPITAL, unique()) is None
            assert await uow.reviews.get(HOSPITAL, unique(), lock=True) is None

    async def test_get_with_lock_answers_the_same_case(self, make):
        case = await self._opened(make)
        async with make() as uow:
            locked = await uow.reviews.get(case.hospital_id, case.message_id, lock=True)
            assert locked == await uow.reviews.get(case.hospital_id, case.message_id)
            assert locked.reasons == REASONS

    async def test_a_decision_records_status_officer_note_and_time(self, make):
        case = await self._opened(make)
        at = datetime(2026, 5, 3, 10, 15, 30, 123456, tzinfo=UTC)
        async with make() as uow:
            await uow.reviews.decide(
                case.hospital_id, case.message_id, "approved", "petugas-7", "KK checked at the office", at
            )
            await uow.commit()
        async with make() as uow:
            found = await uow.reviews.get(case.hospital_id, case.message_id)
        assert (found.status, found.decided_by, found.note, found.decided_at) == (
            "approved",
            "petugas-7",
            "KK checked at the office",
            at,
        )
        assert (found.reasons, found.document) == (REASONS, DOCUMENT)

    async def test_a_decision_not_committed_leaves_the_case_open(self, make):
        case = await self._opened(make)
        async with make() as uow:
            await uow.reviews.decide(case.hospital_id, case.message_id, "rejected", "petugas-7", "no", utc_now())
        async with make() as uow:
            assert (await uow.reviews.get(case.hospital_id, case.message_id)).status == "open"

    async def test_opening_a_case_twice_is_refused(self, make):
        case = await self._opened(make)
        with pytest.raises(StoreUnavailable):
            async with make() as uow:
                await uow.reviews.open(case, b"{}", ("OTHER",))
                await uow.commit()
        async with make() as uow:
            assert (await uow.reviews.get(case.hospital_id, case.message_id)).reasons == REASONS

    async def test_deciding_an_unknown_case_creates_nothing(self, make):
        stranger = unique()
        async with make() as uow:
            await uow.reviews.decide(HOSPITAL, stranger, "approved", "petugas-7", "note", utc_now())
            await uow.commit()
        async with make() as uow:
            assert await uow.reviews.get(HOSPITAL, stranger) is None

    async def test_two_hospitals_with_the_same_message_id_have_two_cases(self, make):
        mine = await self._opened(make)
        theirs = replace(mine, hospital_id="1032730099")
        async with make() as uow:
            assert await uow.reviews.get(theirs.hospital_id, mine.message_id) is None
            await uow.reviews.open(theirs, b"{}", ("OTHER",))
            await uow.commit()
        async with make() as uow:
            await uow.reviews.decide(theirs.hospital_id, mine.message_id, "rejected", "petugas-7", "no", utc_now())
            await uow.commit()
        async with make() as uow:
            found = await uow.reviews.get(mine.hospital_id, mine.message_id)
            other = await uow.reviews.get(theirs.hospital_id, mine.message_id)
        assert (found.status, found.reasons, found.document) == ("open", REASONS, DOCUMENT)
        assert (other.status, other.reasons, other.hospital_id) == ("rejected", ("OTHER",), theirs.hospital_id)
