"""The Documents port: issued documents, their statuses and status-list slots, and the jobs owed.

Jobs: requested once per (hospital, message id, sequence); claimed earliest due first, a family's jobs in the
order they were requested, locked to the claimer until its unit of work ends; owed copies; retry;
finish. Documents: versions and slots, storing with supersession (or stale: superseded at once),
lookups, status changes and the status list's view.

Fixtures a concrete suite provides: `make`, a unit-of-work factory over a store where no other
document job is due.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from hub.domain.documents import (
    AktaContent,
    DocumentKind,
    DocumentRef,
    DocumentStatus,
    KkContent,
    KkMember,
    Official,
    SignedDocument,
    StatusCode,
    document_id,
)
from hub.domain.values import AktaVariant, Sex
from hub.service.ports import DocumentRequest
from tests.contracts.support import TRACE, unique, utc_now

WIB = timezone(timedelta(hours=7))
HOSPITAL = "103578001"
OFFICIAL = Official("Pejabat Uji", "Kepala Dinas")


def akta(number: str, name: str = "Anak Uji") -> AktaContent:
    return AktaContent(
        number,
        "LU",
        AktaVariant.BOTH_PARENTS,
        "3578014101260001",
        name,
        Sex.FEMALE,
        datetime(2026, 1, 1, 8, 0, tzinfo=WIB),
        "Kota Surabaya",
        1,
        0,
        1,
        "Ibu Uji",
        "Ayah Uji",
        "3578",
        "Kota Surabaya",
        date(2026, 1, 1),
        OFFICIAL,
    )


def kk(number: str, version: int = 2) -> KkContent:
    members = (
        KkMember("3578010101900001", "Ayah Uji", Sex.MALE, "Surabaya", date(1990, 1, 1), "KEPALA KELUARGA"),
        KkMember(
            "3578014101260001",
            "Anak Uji",
            Sex.FEMALE,
            "Surabaya",
            date(2026, 1, 1),
            "ANAK",
            father_name="Ayah Uji",
            mother_name="Ibu Uji",
        ),
    )
    return KkContent(
        number,
        version,
        "Ayah Uji",
        "Jl. Contoh 1",
        "357801",
        "Kecamatan Uji",
        "3578",
        "Kota Surabaya",
        "Jawa Timur",
        date(2026, 1, 2),
        members,
        OFFICIAL,
    )


def family() -> str:
    return str(uuid.uuid4().int)[:16]


def akta_number() -> str:
    return f"3578-LU-01012026-{uuid.uuid4().int % 10**8:08d}"  # unique: no other test issues it


def request(
    kk_number: str, *numbers: str, message_id: str | None = None, sequence: int = 1, hospital_id: str = HOSPITAL
) -> DocumentRequest:
    return DocumentRequest(
        message_id or unique(),
        sequence,
        "registration",
        kk_number,
        tuple(akta(n) for n in numbers),
        {"resourceType": "Bundle", "id": unique()},
        hospital_id,
    )


def signed(version: int, number: str, slot, at: datetime, kind: DocumentKind = DocumentKind.AKTA) -> SignedDocument:
    ref = DocumentRef(document_id(kind, number, version), kind, number, version, at, slot)
    content = akta(number, f"Anak v{version}") if kind is DocumentKind.AKTA else kk(number, version)
    return SignedDocument(ref, content, b"%PDF-1.7 test", "DK1:TEST", "kid-1")


def own_list() -> tuple[str, int]:
    """A status list (regency, year) no other test uses."""
    n = uuid.uuid4().int
    return f"{n % 9000 + 1000}", 2000 + (n >> 20) % 900


class DocumentsContract:
    async def test_jobs_are_claimed_in_family_order_and_finished_once(self, make):
        kk_number = family()
        first, second = request(kk_number, akta_number()), request(kk_number, akta_number())
        now = utc_now()
        async with make() as uow:
            await uow.documents.request(first)
            await uow.documents.request(second)
            await uow.documents.request(first)  # the same (message id, sequence) again: ignored
            await uow.commit()
        async with make() as uow:
            job = await uow.documents.claim_due(now + timedelta(seconds=1))
            assert (job.request, job.attempts, job.owed_copies) == (first, 0, 0)
            assert await uow.documents.owe_copy(first.hospital_id, first.message_id)
            await uow.documents.retry_at(job.id, now + timedelta(hours=1), "SignerUnavailable")
            await uow.commit()
        async with make() as uow:
            assert await uow.documents.claim_due(now + timedelta(seconds=1)) is None, (
                "the family waits for its first job"
            )
            job = await uow.documents.claim_due(now + timedelta(hours=2))
            assert (job.request.message_id, job.attempts, job.owed_copies) == (first.message_id, 1, 1)
            await uow.documents.finish(job.id)
            await uow.commit()
        async with make() as uow:
            job = await uow.documents.claim_due(now + timedelta(hours=2))
            assert job.request.message_id == second.message_id
            assert not await uow.documents.owe_copy(first.hospital_id, first.message_id), (
                "no job of the first message waits any more"
            )
            await uow.documents.finish(job.id)
            await uow.commit()
        async with make() as uow:
            assert await uow.documents.claim_due(now + timedelta(days=1)) is None

    async def test_a_request_comes_back_as_it_was_made(self, make):
        number, kk_number = akta_number(), family()
        correction = DocumentRequest(
            unique(),
            2,
            "correction",
            kk_number,
            (akta(number, "Nama Benar"), kk(kk_number)),
            {"resourceType": "Bundle", "entry": [{"fullUrl": "urn:uuid:1"}]},
            None,
            {"child_name": "Nama Benar"},
            TRACE,
            utc_now(),
        )
        async with make() as uow:
            await uow.documents.request(correction)
            await uow.commit()
        async with make() as uow:
            job = await uow.documents.claim_due(utc_now() + timedelta(seconds=1))
        assert job.request == correction

    async def test_due_jobs_are_claimed_earliest_first_across_families(self, make):
        later, sooner = request(family(), akta_number()), request(family(), akta_number())
        async with make() as uow:
            await uow.documents.request(later)
            await uow.documents.request(sooner)
            await uow.commit()
        now = utc_now()
        async with make() as uow:
            for job_request, hours in ((later, 2), (sooner, 1)):
                job = await uow.documents.claim_due(now + timedelta(seconds=1))
                assert job.request == job_request
                await uow.documents.retry_at(job.id, now + timedelta(hours=hours), "SignerUnavailable")
            await uow.commit()
        async with make() as uow:
            assert (await uow.documents.claim_due(now + timedelta(hours=3))).request == sooner

    async def test_a_claimed_job_is_skipped_by_other_workers_until_its_unit_of_work_ends(self, make):
        kk_number = family()
        first, second = request(kk_number, akta_number()), request(kk_number, akta_number())
        other_family = request(family(), akta_number())
        async with make() as uow:
            for each in (first, second, other_family):
                await uow.documents.request(each)
            await uow.commit()
        due = utc_now() + timedelta(seconds=1)
        async with make() as worker:
            assert (await worker.documents.claim_due(due)).request == first
            async with make() as other:
                assert (await other.documents.claim_due(due)).request == other_family, "not the family's second job"
                async with make() as third:
                    assert await third.documents.claim_due(due) is None
        async with make() as uow:  # the worker ended without commit: its job is due again
            assert (await uow.documents.claim_due(due)).request == first

    async def test_owe_copy_concerns_the_latest_job_of_a_message(self, make):
        kk_number, message_id = family(), unique()
        async with make() as uow:
            assert await uow.documents.owe_copy(HOSPITAL, message_id) is False, "no job at all"
            await uow.documents.request(request(kk_number, akta_number(), message_id=message_id, sequence=1))
            await uow.commit()
        async with make() as uow:
            job = await uow.documents.claim_due(utc_now() + timedelta(seconds=1))
            await uow.documents.finish(job.id)
            await uow.documents.request(request(kk_number, akta_number(), message_id=message_id, sequence=2))
            assert await uow.documents.owe_copy(HOSPITAL, message_id) is True
            await uow.commit()
        async with make() as uow:
            job = await uow.documents.claim_due(utc_now() + timedelta(seconds=1))
        assert (job.request.sequence, job.owed_copies) == (2, 1)

    async def test_versions_slots_supersession_and_status_changes(self, make):
        number, kk_number, (regency, year) = akta_number(), family(), own_list()
        at = utc_now().replace(microsecond=0)
        async with make() as uow:
            assert await uow.documents.next_version(DocumentKind.AKTA, number) == 1
            slot_1 = await uow.documents.allocate_slot(regency, year)
            assert slot_1.index == 0 and (slot_1.regency, slot_1.year) == (regency, year)
            v1 = signed(1, number, slot_1, at)
            assert await uow.documents.store(v1, kk_number=kk_number, message_id="m1", reason="registration") is None
            await uow.commit()
        async with make() as uow:
            assert await uow.documents.next_version(DocumentKind.AKTA, number) == 2
            slot_2 = await uow.documents.allocate_slot(regency, year)
            assert slot_2.index == slot_1.index + 1
            v2 = signed(2, number, slot_2, at)
            previous = await uow.documents.store(v2, kk_number=kk_number, message_id="m1", reason="correction")
            assert await uow.documents.next_version(DocumentKind.AKTA, number) == 3, "sees its own store"
            await uow.commit()
        assert previous == v1.ref.document_id
        async with make() as uow:
            versions = await uow.documents.versions(DocumentKind.AKTA, number)
            assert [(d.ref.version, d.ref.status) for d in versions] == [
                (1, DocumentStatus.SUPERSEDED),
                (2, DocumentStatus.ACTIVE),
            ]
            assert versions[0].status_reason == "superseded by version 2"
            current = await uow.documents.current(DocumentKind.AKTA, number)
            assert (current.ref, current.content, current.pdf, current.qr_payload, current.key_id) == (
                v2.ref,
                v2.content,
                v2.pdf,
                v2.qr_payload,
                v2.key_id,
            )
            assert (current.kk_number, current.message_id, current.reason, current.supersedes) == (
                kk_number,
                "m1",
                "correction",
                previous,
            )
            await uow.documents.set_status(v2.ref.document_id, DocumentStatus.REVOKED, "issued in error", at)
            await uow.commit()
        async with make() as uow:
            statuses, size = await uow.documents.statuses(regency, year)
            assert statuses == {slot_1.index: StatusCode.SUPERSEDED, slot_2.index: StatusCode.INVALID} and size == 2
            revoked = await uow.documents.get(v2.ref.document_id)
            assert (revoked.ref.status, revoked.status_reason) == (DocumentStatus.REVOKED, "issued in error")
            assert await uow.documents.current(DocumentKind.AKTA, number) is None

    async def test_a_stale_version_is_stored_superseded_and_leaves_the_active_one(self, make):
        number, (regency, year) = akta_number(), own_list()
        at = utc_now().replace(microsecond=0)
        async with make() as uow:
            newer = signed(1, number, await uow.documents.allocate_slot(regency, year), at)
            await uow.documents.store(newer, kk_number="1" * 16, message_id="m2", reason="registration")
            older = signed(2, number, await uow.documents.allocate_slot(regency, year), at)
            assert (
                await uow.documents.store(older, kk_number="1" * 16, message_id="m1", reason="registration", stale=True)
                is None
            )
            await uow.commit()
        async with make() as uow:
            assert (await uow.documents.current(DocumentKind.AKTA, number)).ref.document_id == newer.ref.document_id
            stale = await uow.documents.get(older.ref.document_id)
        assert (stale.ref.status, stale.supersedes, stale.status_reason) == (
            DocumentStatus.SUPERSEDED,
            None,
            "a newer card version was issued first",
        )

    async def test_documents_of_a_message_come_in_issue_order_akta_before_card(self, make):
        message_id, kk_number, (regency, year) = unique(), family(), own_list()
        at = utc_now().replace(microsecond=0)
        async with make() as uow:
            slot = lambda: uow.documents.allocate_slot(regency, year)  # noqa: E731
            card = signed(1, kk_number, await slot(), at, DocumentKind.KK)
            birth = signed(1, akta_number(), await slot(), at)
            earlier = signed(1, akta_number(), await slot(), at - timedelta(minutes=5))
            for document in (card, birth, earlier):
                await uow.documents.store(
                    document, kk_number=kk_number, message_id=message_id, hospital_id=HOSPITAL, reason="registration"
                )
            await uow.commit()
        async with make() as uow:
            found = await uow.documents.of_message(HOSPITAL, message_id)
        assert [d.ref.document_id for d in found] == [
            earlier.ref.document_id,
            birth.ref.document_id,
            card.ref.document_id,
        ]

    async def test_slots_and_versions_not_committed_are_given_back(self, make):
        number, (regency, year) = akta_number(), own_list()
        at = utc_now().replace(microsecond=0)
        async with make() as uow:
            slot = await uow.documents.allocate_slot(regency, year)
            await uow.documents.store(
                signed(1, number, slot, at), kk_number=family(), message_id="m", reason="registration"
            )
        async with make() as uow:
            assert await uow.documents.statuses(regency, year) == ({}, 0), "nothing committed in this list"
            assert await uow.documents.next_version(DocumentKind.AKTA, number) == 1
            assert (await uow.documents.allocate_slot(regency, year)).index == slot.index

    async def test_lookups_of_unknown_documents_find_nothing(self, make):
        number = akta_number()
        async with make() as uow:
            assert await uow.documents.get(unique()) is None
            assert await uow.documents.current(DocumentKind.AKTA, number) is None
            assert await uow.documents.versions(DocumentKind.AKTA, number) == []
            assert await uow.documents.of_message(HOSPITAL, unique()) == []
            assert await uow.documents.statuses(*own_list()) == ({}, 0)

    async def test_jobs_and_documents_of_two_hospitals_with_the_same_message_id_stay_apart(self, make):
        kk_number, message_id, (regency, year) = family(), unique(), own_list()
        mine = request(kk_number, akta_number(), message_id=message_id)
        theirs = request(family(), akta_number(), message_id=message_id, hospital_id="103578099")
        async with make() as uow:
            await uow.documents.request(mine)
            await uow.documents.request(theirs)  # not the same (hospital, message id, sequence): a job of its own
            document = signed(1, akta_number(), await uow.documents.allocate_slot(regency, year), utc_now())
            await uow.documents.store(
                document, kk_number=kk_number, message_id=message_id, hospital_id=HOSPITAL, reason="registration"
            )
            await uow.commit()
        async with make() as uow:
            assert [d.ref.document_id for d in await uow.documents.of_message(HOSPITAL, message_id)] == [
                document.ref.document_id
            ]
            assert await uow.documents.of_message("103578099", message_id) == []
            assert await uow.documents.owe_copy("103578099", message_id)
            claimed = []
            for _ in range(2):
                claimed.append(job := await uow.documents.claim_due(utc_now() + timedelta(seconds=1)))
                await uow.documents.finish(job.id)
        assert {(j.request.hospital_id, j.owed_copies) for j in claimed} == {(HOSPITAL, 0), ("103578099", 1)}
