"""One specification of the ports, run against the in-memory fakes and the PostgreSQL adapters.

If a fake drifts from the real adapter, the unit tests built on it would lie: this keeps them honest.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.domain.decision import Register
from hub.domain.values import AktaVariant, Hospital, Person
from hub.service.ports import Delivery, InboxRecord, OutboundMessage
from tests.fakes import FakeState, FakeUnitOfWork
from tests.integration.test_registry_concurrency import notice_for
from tests.support.people import birth, households

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["fake", "postgres"])
async def ports(request, environment, pool):
    """(unit-of-work factory, a household that exists in that store)."""
    household = (await households(environment.settings.dsn, 30))[20 + request.param_index]
    if request.param == "postgres":
        return (lambda: PostgresUnitOfWork(pool)), household
    state = FakeState()
    async with PostgresUnitOfWork(pool) as uow:  # copy the household's registry facts into the fake
        family = await uow.registry.family(household.mother.kk_number)
        persons = [await uow.registry.person(m.nik) for m in family.members]
    state.families[family.kk_number] = family
    state.persons.update({p.nik: p for p in persons if isinstance(p, Person)})
    state.hospitals["103578001"] = Hospital("103578001", "RS", "3578", True)
    return (lambda: FakeUnitOfWork(state)), household


def delivery() -> Delivery:
    return Delivery("contract.topic", 0, uuid.uuid4().int % 10**9)


async def test_inbox_records_are_found_and_deliveries_remembered(ports):
    make, _ = ports
    message_id, where = str(uuid.uuid4()), delivery()
    record = InboxRecord(message_id, "103578001", "rejected", str(uuid.uuid4()), ("X",), where)
    async with make() as uow:
        assert await uow.inbox.find(message_id) is None and not await uow.inbox.delivered(where)
        await uow.inbox.record(record)
        await uow.inbox.record_delivery(where, message_id, "rejected")
        await uow.commit()
    async with make() as uow:
        found = await uow.inbox.find(message_id)
        assert (found.status, found.codes, found.delivery) == ("rejected", ("X",), where)
        assert await uow.inbox.delivered(where)


async def test_nothing_is_kept_without_commit(ports):
    make, household = ports
    message_id, where = str(uuid.uuid4()), delivery()
    async with make() as uow:
        await uow.inbox.record(InboxRecord(message_id, None, "rejected", str(uuid.uuid4()), (), where))
        await uow.registry.register_birth(notice_for(birth(household, "103578001")), REGISTER, NOW)
    async with make() as uow:
        assert await uow.inbox.find(message_id) is None
        assert (await uow.registry.family(household.mother.kk_number)).version == household.kk_version


async def test_outbox_copies_an_event_with_the_same_id_and_refuses_unknown_ones(ports):
    make, _ = ports
    event = OutboundMessage(str(uuid.uuid4()), "contract.out", b"k", b"v", {"event-id": "x"})
    async with make() as uow:
        await uow.outbox.add([event])
        await uow.commit()
    async with make() as uow:
        assert await uow.outbox.copy_event(event.event_id) is True
        assert await uow.outbox.copy_event(str(uuid.uuid4())) is False
        await uow.commit()


REGISTER = Register(AktaVariant.MOTHER_ONLY, late=True)
NOW = datetime.now(timezone.utc)


async def test_registering_a_birth_issues_numbers_and_the_next_family_card(ports):
    make, household = ports
    notice = notice_for(birth(household, "103578001"))
    async with make() as uow:
        registration = await uow.registry.register_birth(notice, REGISTER, NOW)
        await uow.commit()
    assert registration.child_nik.startswith(household.kecamatan)
    assert "-LT-" in registration.akta_number and registration.issuing_regency == household.kecamatan[:4]
    async with make() as uow:
        family = await uow.registry.family(household.mother.kk_number)
        found = await uow.registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order)
        mothers = await uow.registry.births_of_mother(notice.mother_nik)
        child = await uow.registry.person(registration.child_nik)
        facts = await uow.registry.facts(notice)
    assert family.version == registration.family_card.version == household.kk_version + 1
    assert family.members[-1].nik == registration.child_nik and family.members[-1].relationship.value == "ANAK"
    assert (found.akta_number, found.child_nik, found.kk_version) == (registration.akta_number, registration.child_nik, family.version)
    assert [b.message_id for b in mothers] == [notice.message_id]
    assert child.kk_number == household.mother.kk_number
    assert facts.mother.nik == notice.mother_nik and facts.family.kk_number == notice.kk_number
    assert facts.father.nik == notice.father_nik and facts.hospital is None
    assert (facts.same_birth.akta_number, facts.same_birth.born_at) == (registration.akta_number, notice.born_at)
    assert [b.message_id for b in facts.mothers_births] == [notice.message_id]
