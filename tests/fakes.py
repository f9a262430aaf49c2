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
from hub.service.ports import AuditEntry, Delivery, InboxRecord, OutboundMessage, Registration, ReviewCase


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


class FakeUnitOfWork:
    """Works on a copy of the shared state; commit publishes the copy, leaving without commit drops it."""

    def __init__(self, shared: FakeState) -> None:
        self.shared = shared

    async def __aenter__(self) -> FakeUnitOfWork:
        self.state = copy.deepcopy(self.shared)
        self.hospitals, self.registry = FakeHospitals(self.state), FakeRegistry(self.state)
        self.inbox, self.outbox, self.reviews = FakeInbox(self.state), FakeOutbox(self.state), FakeReviews(self.state)
        self.audit = FakeAuditLog(self.state)
        return self

    async def commit(self) -> None:
        self.state.commits += 1
        self.shared.__dict__.update(self.state.__dict__)

    async def __aexit__(self, *exc: object) -> None:
        return None
