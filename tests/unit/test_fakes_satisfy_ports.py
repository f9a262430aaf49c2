"""The fakes satisfy their ports: mypy checks these assignments (tests/unit/test_architecture.py runs
it), so a fake that lacks a port's method, or has it with another signature, fails the build."""

from __future__ import annotations

from hub.service.ports import (
    AuditLog,
    CivilRegistry,
    Documents,
    HospitalDirectory,
    Inbox,
    Outbox,
    RegistrySagas,
    Reviews,
    UnitOfWork,
)
from tests.fakes import (
    FakeAuditLog,
    FakeDocuments,
    FakeHospitals,
    FakeInbox,
    FakeOutbox,
    FakeRegistry,
    FakeReviews,
    FakeSagas,
    FakeState,
    FakeUnitOfWork,
)


def test_every_fake_is_its_port() -> None:
    state = FakeState()
    ports: list[object] = []
    hospitals: HospitalDirectory = FakeHospitals(state)
    registry: CivilRegistry = FakeRegistry(state)
    inbox: Inbox = FakeInbox(state)
    outbox: Outbox = FakeOutbox(state)
    reviews: Reviews = FakeReviews(state)
    audit: AuditLog = FakeAuditLog(state)
    sagas: RegistrySagas = FakeSagas(state)
    documents: Documents = FakeDocuments(state)
    uow: UnitOfWork = FakeUnitOfWork(state)
    ports += [hospitals, registry, inbox, outbox, reviews, audit, sagas, documents, uow]
    assert all(port is not None for port in ports)
