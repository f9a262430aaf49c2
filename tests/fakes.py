"""In-memory fakes of the ports, for fast unit tests of the use case.

They follow the same specification as the PostgreSQL adapters (tests/integration/test_port_contracts.py
runs one spec against both). A fake unit of work applies its changes only on commit.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from hub.domain.decision import Register, RegistryFacts, registration_date
from hub.domain.family import reissue_with_child
from hub.domain.numbers import akta_number, akta_prefix, nik_prefix, with_serial
from hub.domain.values import BirthNotice, Family, FamilyMember, Hospital, Person, RegisteredBirth, Relationship
from hub.domain.documents import STATUS_CODE, Correction, DocumentKind, DocumentStatus, SignedDocument, StatusCode, StatusSlot
from hub.service.ports import (AuditEntry, Delivery, DocumentJob, DocumentRequest, InboxRecord, OutboundMessage,
                               Registration, ReviewCase, StoredDocument)


@dataclass
class FakeState:
    hospitals: dict[str, Hospital] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)
    births: list[RegisteredBirth] = field(default_factory=list)
    serials: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    inbox: dict[str, InboxRecord] = field(default_factory=dict)
    deliveries: dict[tuple[str, int, int], str] = field(default_factory=dict)
    dead_letters: list[tuple[Delivery, str]] = field(default_factory=list)
    reviews: dict[str, ReviewCase] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    outbox: list[OutboundMessage] = field(default_factory=list)
    document_jobs: list[dict] = field(default_factory=list)
    documents: list[StoredDocument] = field(default_factory=list)
    status_lists: dict[tuple[str, int], int] = field(default_factory=dict)
    commits: int = 0


class FakeHospitals:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def hospital(self, org_id: str) -> Hospital | None:
        return self.state.hospitals.get(org_id)


class FakeRegistry:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def facts(self, notice: BirthNotice) -> RegistryFacts:
        return RegistryFacts(None, await self.person(notice.mother_nik), await self.family(notice.kk_number),
                             await self.person(notice.father_nik) if notice.father_nik else None,
                             await self.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order),
                             tuple(await self.births_of_mother(notice.mother_nik)))

    async def person(self, nik: str) -> Person | None:
        return self.state.persons.get(nik)

    async def family(self, kk_number: str) -> Family | None:
        return self.state.families.get(kk_number)

    async def birth_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> RegisteredBirth | None:
        return next((b for b in self.state.births if (b.hospital_id, b.encounter_id, b.birth_order)
                     == (hospital_id, encounter_id, birth_order)), None)

    async def births_of_mother(self, mother_nik: str) -> list[RegisteredBirth]:
        return [b for b in self.state.births if b.mother_nik == mother_nik]

    def _next(self, scope: str) -> int:
        self.state.serials[scope] += 1
        return self.state.serials[scope]

    async def register_birth(self, notice: BirthNotice, decision: Register, at: datetime) -> Registration:
        family = self.state.families[notice.kk_number]
        prefix = nik_prefix(family.kecamatan, notice.birth_date, notice.sex)
        nik = with_serial(prefix, self._next(f"nik:{prefix}"))
        scope = akta_prefix(family.regency, late=decision.late, issued_on=registration_date(at, notice.born_at))
        akta = akta_number(scope, self._next(f"akta:{scope}"))
        card = reissue_with_child(family, FamilyMember(nik, notice.child_name, notice.sex, notice.birth_date, Relationship.CHILD))
        self.state.persons[nik] = Person(nik, notice.child_name, notice.sex, notice.birth_date, family.kk_number)
        self.state.families[family.kk_number] = replace(family, version=card.version, members=card.members)
        self.state.births.append(_birth(notice, nik, akta, card.version))
        return Registration(nik, akta, family.regency, card, at)

    async def record_stillbirth(self, notice: BirthNotice, at: datetime) -> None:
        self.state.births.append(_birth(notice, None, None, None, stillborn=True))

    async def correct_child(self, child_nik: str, correction: Correction) -> bool:
        person = self.state.persons[child_nik]
        self.state.persons[child_nik] = replace(person, name=correction.child_name or person.name)
        return True


def _birth(notice: BirthNotice, nik, akta, version, stillborn=False) -> RegisteredBirth:
    return RegisteredBirth(notice.message_id, notice.hospital_id, notice.encounter_id, notice.birth_order,
                           notice.mother_nik, notice.born_at, nik, akta, notice.kk_number, version, stillborn)


class FakeInbox:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def delivered(self, delivery: Delivery) -> bool:
        return (delivery.topic, delivery.partition, delivery.offset) in self.state.deliveries

    async def prefetch(self, message_ids: list[str]) -> None:
        return None

    async def find(self, message_id: str) -> InboxRecord | None:
        return self.state.inbox.get(message_id)

    async def record(self, record: InboxRecord) -> None:
        if record.message_id in self.state.inbox:
            raise KeyError(f"inbox already has {record.message_id}")
        self.state.inbox[record.message_id] = record

    async def replace(self, record: InboxRecord) -> None:
        old = self.state.inbox[record.message_id]
        self.state.inbox[record.message_id] = replace(record, delivery=old.delivery,
                                                      mother_nik=record.mother_nik or old.mother_nik)

    async def claim_deliveries(self, deliveries: list[Delivery]) -> set[tuple[str, int, int]]:
        fresh = {(d.topic, d.partition, d.offset) for d in deliveries} - set(self.state.deliveries)
        self.state.deliveries.update({key: "received" for key in fresh})
        return fresh

    async def note_deliveries(self, outcomes) -> None:
        for d, _message_id, action in outcomes:
            self.state.deliveries[(d.topic, d.partition, d.offset)] = action

    async def record_delivery(self, delivery: Delivery, message_id: str | None, action: str) -> None:
        self.state.deliveries[(delivery.topic, delivery.partition, delivery.offset)] = action

    async def record_dead_letter(self, delivery: Delivery, reason: str, detail: str | None) -> None:
        self.state.dead_letters.append((delivery, reason))


class FakeReviews:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def open(self, notice: BirthNotice, document: bytes, reasons: tuple[str, ...]) -> None:
        self.state.reviews[notice.message_id] = ReviewCase(notice.message_id, notice.hospital_id, reasons, document,
                                                           "open", datetime.now(timezone.utc))

    async def get(self, message_id: str, *, lock: bool = False) -> ReviewCase | None:
        return self.state.reviews.get(message_id)

    async def decide(self, message_id: str, status: str, officer: str, note: str, at: datetime) -> None:
        self.state.reviews[message_id] = replace(self.state.reviews[message_id], status=status, decided_by=officer,
                                                 note=note, decided_at=at)


class FakeAuditLog:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def append(self, entry: AuditEntry, at: datetime) -> str:
        self.state.audit.append(entry)
        return str(len(self.state.audit))


class FakeOutbox:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def add(self, messages: list[OutboundMessage]) -> None:
        self.state.outbox.extend(messages)

    async def copy_event(self, event_id: str) -> bool:
        found = next((m for m in self.state.outbox if m.event_id == event_id), None)
        if found is not None:
            self.state.outbox.append(found)
        return found is not None


class FakeDocuments:
    """Jobs as dicts {id, request, state, attempts, owed_copies, next_attempt_at}; documents in issue order."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def request(self, request: DocumentRequest) -> None:
        if any(j["request"].message_id == request.message_id and j["request"].sequence == request.sequence
               for j in self.state.document_jobs):
            return
        self.state.document_jobs.append({"id": len(self.state.document_jobs) + 1, "request": request, "state": "pending",
                                         "attempts": 0, "owed_copies": 0, "next_attempt_at": None})

    async def claim_due(self, now: datetime) -> DocumentJob | None:
        pending = [j for j in self.state.document_jobs if j["state"] == "pending"]
        for job in pending:
            earlier = any(e["request"].kk_number == job["request"].kk_number and e["id"] < job["id"] for e in pending)
            if not earlier and (job["next_attempt_at"] is None or job["next_attempt_at"] <= now):
                return DocumentJob(job["id"], job["request"], job["attempts"], job["owed_copies"])
        return None

    def _job(self, job_id: int) -> dict:
        return next(j for j in self.state.document_jobs if j["id"] == job_id)

    async def owe_copy(self, message_id: str) -> bool:
        jobs = [j for j in self.state.document_jobs if j["request"].message_id == message_id]
        if not jobs or jobs[-1]["state"] != "pending":
            return False
        jobs[-1]["owed_copies"] += 1
        return True

    async def retry_at(self, job_id: int, when: datetime, error: str) -> None:
        self._job(job_id).update(attempts=self._job(job_id)["attempts"] + 1, next_attempt_at=when, error=error)

    async def finish(self, job_id: int) -> None:
        self._job(job_id).update(state="done", attempts=self._job(job_id)["attempts"] + 1)

    async def next_version(self, kind: DocumentKind, number: str) -> int:
        return 1 + max((d.ref.version for d in self.state.documents if (d.ref.kind, d.ref.number) == (kind, number)), default=0)

    async def allocate_slot(self, regency: str, year: int) -> StatusSlot:
        index = self.state.status_lists.get((regency, year), 0)
        self.state.status_lists[(regency, year)] = index + 1
        return StatusSlot(regency, year, index)

    async def store(self, document: SignedDocument, *, kk_number: str, message_id: str, reason: str,
                    stale: bool = False) -> str | None:
        if stale:
            self.state.documents.append(StoredDocument(replace(document.ref, status=DocumentStatus.SUPERSEDED),
                                                       document.content, kk_number, message_id, document.pdf,
                                                       document.qr_payload, document.key_id, reason))
            return None
        previous = await self.current(document.ref.kind, document.ref.number)
        if previous is not None:
            await self.set_status(previous.ref.document_id, DocumentStatus.SUPERSEDED, "superseded", document.ref.issued_at)
        self.state.documents.append(StoredDocument(document.ref, document.content, kk_number, message_id, document.pdf,
                                                   document.qr_payload, document.key_id, reason,
                                                   previous.ref.document_id if previous else None))
        return previous.ref.document_id if previous else None

    async def current(self, kind: DocumentKind, number: str) -> StoredDocument | None:
        return next((d for d in self.state.documents if (d.ref.kind, d.ref.number) == (kind, number)
                     and d.ref.status is DocumentStatus.ACTIVE), None)

    async def get(self, document_id: str) -> StoredDocument | None:
        return next((d for d in self.state.documents if d.ref.document_id == document_id), None)

    async def versions(self, kind: DocumentKind, number: str) -> list[StoredDocument]:
        return sorted((d for d in self.state.documents if (d.ref.kind, d.ref.number) == (kind, number)),
                      key=lambda d: d.ref.version)

    async def of_message(self, message_id: str) -> list[StoredDocument]:
        return [d for d in self.state.documents if d.message_id == message_id]

    async def set_status(self, document_id: str, status: DocumentStatus, reason: str, at: datetime) -> None:
        self.state.documents = [replace(d, ref=replace(d.ref, status=status), status_reason=reason)
                                if d.ref.document_id == document_id else d for d in self.state.documents]

    async def statuses(self, regency: str, year: int) -> tuple[dict[int, StatusCode], int]:
        found = {d.ref.slot.index: STATUS_CODE[d.ref.status] for d in self.state.documents
                 if (d.ref.slot.regency, d.ref.slot.year) == (regency, year) and d.ref.status is not DocumentStatus.ACTIVE}
        return found, self.state.status_lists.get((regency, year), 0)


class FakeUnitOfWork:
    """Works on a copy of the shared state; commit publishes the copy, leaving without commit drops it."""

    def __init__(self, shared: FakeState) -> None:
        self.shared = shared

    async def __aenter__(self) -> FakeUnitOfWork:
        self.state = copy.deepcopy(self.shared)
        self.hospitals, self.registry = FakeHospitals(self.state), FakeRegistry(self.state)
        self.inbox, self.outbox, self.reviews = FakeInbox(self.state), FakeOutbox(self.state), FakeReviews(self.state)
        self.audit = FakeAuditLog(self.state)
        self.documents = FakeDocuments(self.state)
        return self

    async def commit(self) -> None:
        self.state.commits += 1
        self.shared.__dict__.update(self.state.__dict__)

    async def __aexit__(self, *exc: object) -> None:
        return None
