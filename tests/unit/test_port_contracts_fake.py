"""The port specifications (tests/contracts) run against the in-memory fakes (tests/fakes.py).

The unit tests of the use cases are built on these fakes: this keeps them honest.
"""

from __future__ import annotations

from datetime import date

import pytest

from hub.adapters.postgres.audit import GENESIS
from hub.devtools.simulation.bundles import Parent
from hub.domain.values import Family, FamilyMember, Hospital, Person, Relationship, Sex
from hub.service.ports import Delivery, OutboundMessage
from tests.contracts.audit import AuditLogContract
from tests.contracts.broker_access import BrokerAccessContract
from tests.contracts.console import ConsoleAccountsContract, CorrectionProposalsContract
from tests.contracts.documents import DocumentsContract
from tests.contracts.hospitals import HospitalDirectoryContract
from tests.contracts.inbox import InboxContract
from tests.contracts.outbox import OutboxContract
from tests.contracts.registry import CivilRegistryContract, Home
from tests.contracts.reviews import ReviewsContract
from tests.contracts.sagas import RegistrySagasContract
from tests.fakes import FakeBrokerAccess, FakeState, FakeUnitOfWork
from tests.support.people import Household
from tests.unit import builders

KECAMATAN = "327301"


@pytest.fixture
def state() -> FakeState:
    return FakeState()


@pytest.fixture
def make(state):
    return lambda: FakeUnitOfWork(state)


class FakeProbe:
    """Reads the committed fake state, as the PostgreSQL probe reads the tables."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def delivery(self, delivery: Delivery):
        return self.state.deliveries.get((delivery.topic, delivery.partition, delivery.offset))

    async def dead_letter(self, delivery: Delivery):
        return next(((reason, detail) for d, reason, detail in self.state.dead_letters if d == delivery), None)

    async def queued(self, event_id: str) -> list[OutboundMessage]:
        return [m for m in self.state.outbox if m.event_id == event_id]

    async def purge(self, event_id: str) -> None:
        self.state.purged_events.add(event_id)

    async def head(self) -> str:
        return self.state.audit_hashes[-1] if self.state.audit_hashes else GENESIS


@pytest.fixture
def probe(state) -> FakeProbe:
    return FakeProbe(state)


@pytest.fixture
def home(state) -> Home:
    """A synthetic household: head, wife and one older child on card version 3."""
    kk = builders.kk(KECAMATAN)
    people = [
        Person(builders.nik(KECAMATAN, date(1990, 5, 1), Sex.MALE), "Joko Halim", Sex.MALE, date(1990, 5, 1), kk),
        Person(builders.nik(KECAMATAN, date(1994, 3, 2)), "Sari Dewi", Sex.FEMALE, date(1994, 3, 2), kk),
        Person(builders.nik(KECAMATAN, date(2020, 7, 8)), "Ayu Halim", Sex.FEMALE, date(2020, 7, 8), kk),
    ]
    father, mother, _child = people
    state.persons.update({p.nik: p for p in people})
    state.families[kk] = Family(
        kk,
        KECAMATAN,
        3,
        tuple(
            FamilyMember(p.nik, p.name, p.sex, p.birth_date, role)
            for p, role in zip(people, (Relationship.HEAD, Relationship.WIFE, Relationship.CHILD), strict=False)
        ),
    )
    state.hospitals["1032730001"] = Hospital("1032730001", "RS Umum Sintetis", "3273", True)
    household = Household(
        Parent(mother.nik, mother.name, mother.birth_date, kk),
        Parent(father.nik, father.name, father.birth_date),
        KECAMATAN,
        3,
    )
    return Home.of(household, "1032730001")


@pytest.fixture
def hospitals(state) -> tuple[Hospital, Hospital]:
    active, closed = (
        Hospital("1032730011", "RS Umum Sintetis", "3273", True),
        Hospital("1032730012", "RS Tutup", "3273", False),
    )
    state.hospitals.update({active.org_id: active, closed.org_id: closed})
    return active, closed


class TestFakeInbox(InboxContract):
    pass


class TestFakeOutbox(OutboxContract):
    pass


class TestFakeReviews(ReviewsContract):
    pass


class TestFakeAuditLog(AuditLogContract):
    pass


class TestFakeRegistrySagas(RegistrySagasContract):
    pass


class TestFakeCivilRegistry(CivilRegistryContract):
    pass


class TestFakeDocuments(DocumentsContract):
    pass


class TestFakeHospitalDirectory(HospitalDirectoryContract):
    pass


class TestFakeConsoleAccounts(ConsoleAccountsContract):
    pass


class TestFakeCorrectionProposals(CorrectionProposalsContract):
    pass


class TestFakeBrokerAccess(BrokerAccessContract):
    @pytest.fixture
    def broker(self) -> FakeBrokerAccess:
        return FakeBrokerAccess()

    @pytest.fixture
    def names(self) -> str:
        return "contract-"
