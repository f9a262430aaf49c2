"""One specification of the Documents port, run against the in-memory fake and PostgreSQL: jobs
(request, claim in family order, owed copies, retry, finish), versions and slots, storing with
supersession, lookups, status changes and the status list's view."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.domain.documents import (AktaContent, DocumentKind, DocumentRef, DocumentStatus, Official, SignedDocument,
                                  StatusCode, document_id)
from hub.domain.values import AktaVariant, Sex
from hub.service.ports import DocumentRequest
from tests.fakes import FakeState, FakeUnitOfWork

pytestmark = pytest.mark.postgres
WIB = timezone(timedelta(hours=7))


@pytest.fixture(params=["fake", "postgres"])
def make(request, pool):
    if request.param == "postgres":
        return lambda: PostgresUnitOfWork(pool)
    state = FakeState()
    return lambda: FakeUnitOfWork(state)


def _akta(number: str, name: str = "Anak Uji") -> AktaContent:
    return AktaContent(number, "LU", AktaVariant.BOTH_PARENTS, "3578014101260001", name, Sex.FEMALE,
                       datetime(2026, 1, 1, 8, 0, tzinfo=WIB), "Kota Surabaya", 1, 0, 1, "Ibu Uji", "Ayah Uji", "3578",
                       "Kota Surabaya", date(2026, 1, 1), Official("Pejabat", "Kepala Dinas"))


def _request(kk: str, *numbers: str) -> DocumentRequest:
    return DocumentRequest(str(uuid.uuid4()), 1, "registration", kk, tuple(_akta(n) for n in numbers),
                           {"resourceType": "Bundle", "id": str(uuid.uuid4())}, "103578001")


def _signed(uow_version: int, number: str, slot, at: datetime) -> SignedDocument:
    ref = DocumentRef(document_id(DocumentKind.AKTA, number, uow_version), DocumentKind.AKTA, number, uow_version, at, slot)
    return SignedDocument(ref, _akta(number, f"Anak v{uow_version}"), b"%PDF-1.7 test", "DK1:TEST", "kid-1")


async def test_jobs_are_claimed_in_family_order_and_finished_once(make):
    kk = str(uuid.uuid4().int)[:16]
    first, second = _request(kk, "3578-LU-01012026-9001"), _request(kk, "3578-LU-01012026-9002")
    now = datetime.now(timezone.utc)
    async with make() as uow:
        await uow.documents.request(first)
        await uow.documents.request(second)
        await uow.documents.request(first)  # the same (message id, sequence) again: ignored
        await uow.commit()
    async with make() as uow:
        job = await uow.documents.claim_due(now + timedelta(seconds=1))
        assert job.request.message_id == first.message_id and job.request.contents == first.contents
        assert await uow.documents.owe_copy(first.message_id)
        await uow.documents.retry_at(job.id, now + timedelta(hours=1), "SignerUnavailable")
        await uow.commit()
    async with make() as uow:
        assert await uow.documents.claim_due(now + timedelta(seconds=1)) is None, "the family waits for its first job"
        job = await uow.documents.claim_due(now + timedelta(hours=2))
        assert (job.request.message_id, job.attempts, job.owed_copies) == (first.message_id, 1, 1)
        await uow.documents.finish(job.id)
        await uow.commit()
    async with make() as uow:
        job = await uow.documents.claim_due(now + timedelta(hours=2))
        assert job.request.message_id == second.message_id
        assert not await uow.documents.owe_copy(first.message_id), "no job of the first message waits any more"


async def test_versions_slots_supersession_and_status_changes(make):
    number = f"3578-LU-01012026-{uuid.uuid4().int % 9000 + 1000}"
    kk = str(uuid.uuid4().int)[:16]
    at = datetime.now(timezone.utc).replace(microsecond=0)
    year = 2000 + uuid.uuid4().int % 900  # a list of its own
    async with make() as uow:
        assert await uow.documents.next_version(DocumentKind.AKTA, number) == 1
        slot_1 = await uow.documents.allocate_slot("3578", year)
        assert await uow.documents.store(_signed(1, number, slot_1, at), kk_number=kk, message_id="m1",
                                         reason="registration") is None
        await uow.commit()
    async with make() as uow:
        assert await uow.documents.next_version(DocumentKind.AKTA, number) == 2
        slot_2 = await uow.documents.allocate_slot("3578", year)
        assert slot_2.index == slot_1.index + 1
        v2 = _signed(2, number, slot_2, at)
        previous = await uow.documents.store(v2, kk_number=kk, message_id="m1", reason="correction")
        await uow.commit()
    async with make() as uow:
        versions = await uow.documents.versions(DocumentKind.AKTA, number)
        assert previous == versions[0].ref.document_id
        assert [(d.ref.version, d.ref.status) for d in versions] == [(1, DocumentStatus.SUPERSEDED), (2, DocumentStatus.ACTIVE)]
        current = await uow.documents.current(DocumentKind.AKTA, number)
        assert (current.ref.document_id, current.content, current.pdf, current.supersedes) == (
            v2.ref.document_id, v2.content, v2.pdf, previous)
        assert [d.ref.version for d in await uow.documents.of_message("m1")] == [1, 2]
        await uow.documents.set_status(v2.ref.document_id, DocumentStatus.REVOKED, "error", at)
        await uow.commit()
    async with make() as uow:
        statuses, size = await uow.documents.statuses("3578", year)
        assert statuses == {slot_1.index: StatusCode.SUPERSEDED, slot_2.index: StatusCode.INVALID} and size == 2
        assert (await uow.documents.get(v2.ref.document_id)).ref.status is DocumentStatus.REVOKED
        assert await uow.documents.current(DocumentKind.AKTA, number) is None


async def test_a_stale_version_is_stored_superseded_and_leaves_the_active_one(make):
    number = f"3578-LU-02012026-{uuid.uuid4().int % 9000 + 1000}"
    at = datetime.now(timezone.utc).replace(microsecond=0)
    year = 2000 + uuid.uuid4().int % 900
    async with make() as uow:
        newer = _signed(1, number, await uow.documents.allocate_slot("3578", year), at)
        await uow.documents.store(newer, kk_number="1" * 16, message_id="m2", reason="registration")
        older = _signed(2, number, await uow.documents.allocate_slot("3578", year), at)
        assert await uow.documents.store(older, kk_number="1" * 16, message_id="m1", reason="registration",
                                         stale=True) is None
        await uow.commit()
    async with make() as uow:
        assert (await uow.documents.current(DocumentKind.AKTA, number)).ref.document_id == newer.ref.document_id
        assert (await uow.documents.get(older.ref.document_id)).ref.status is DocumentStatus.SUPERSEDED
