"""The use case with in-memory ports: idempotence by delivery and by message id, every answer path."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from hub.config import Topics
from hub.devtools.simulation.bundles import BirthSpec, Parent, build_notification
from hub.domain.numbers import kk_prefix, nik_prefix, with_serial
from hub.domain.values import Family, FamilyMember, Hospital, Person, Relationship, Sex
from hub.errors import StoreUnavailable, TransientError
from hub.intake import vocabulary as v
from hub.service.pipeline import IntakeLimits, Pipeline
from hub.service.ports import Delivery
from hub.service.register_birth import PART, RegisterBirths
from hub.service.retry import retry_transient
from tests.fakes import FakeState, FakeUnitOfWork

WIB = timezone(timedelta(hours=7))
NOW = datetime(2026, 5, 2, 9, 0, tzinfo=WIB)
TOPICS = Topics("t.")
RESULTS = TOPICS.results_of("100")  # hospital 100's results topic
KEC = "327301"
PIPELINE = Pipeline(TOPICS, IntakeLimits(512 * 1024, 32, True), lambda _: True)


def _population(state: FakeState) -> tuple[Parent, Parent]:
    mother = Person(
        with_serial(nik_prefix(KEC, date(1995, 4, 1), Sex.FEMALE), 3), "Sari Dewi", Sex.FEMALE, date(1995, 4, 1), None
    )
    father = Person(
        with_serial(nik_prefix(KEC, date(1990, 1, 9), Sex.MALE), 5), "Joko Halim", Sex.MALE, date(1990, 1, 9), None
    )
    kk = with_serial(kk_prefix(KEC, date(2020, 2, 2)), 1)
    mother, father = (Person(p.nik, p.name, p.sex, p.birth_date, kk) for p in (mother, father))
    state.persons.update({mother.nik: mother, father.nik: father})
    members = (
        FamilyMember(father.nik, father.name, Sex.MALE, father.birth_date, Relationship.HEAD),
        FamilyMember(mother.nik, mother.name, Sex.FEMALE, mother.birth_date, Relationship.WIFE),
    )
    state.families[kk] = Family(kk, KEC, 1, members)
    state.hospitals["100"] = Hospital("100", "RS", "3273", True)
    return Parent(mother.nik, mother.name, mother.birth_date, kk), Parent(father.nik, father.name)


def first_birth(mother: Parent, father: Parent) -> BirthSpec:
    """The household's newborn of the unit tests: Tari, born six hours before NOW at hospital 100."""
    return BirthSpec(
        hospital_id="100",
        encounter_id="E1",
        mother=mother,
        father=father,
        child_name="Tari Halim",
        sex="female",
        born_at=NOW - timedelta(hours=6),
        reporter_nik=father.nik,
        witness_niks=(father.nik, mother.nik),
    )


@pytest.fixture
def world():
    state = FakeState()
    mother, father = _population(state)
    handler = RegisterBirths(lambda: FakeUnitOfWork(state), PIPELINE, lambda: NOW)
    spec = first_birth(mother, father)
    return state, handler, spec


def raw(spec) -> bytes:
    return json.dumps(build_notification(spec)).encode()


def at(offset: int) -> Delivery:
    return Delivery(TOPICS.notifications, 0, offset, b"k")


async def test_a_valid_notification_registers_and_queues_result_and_civil_events(world):
    state, handler, spec = world
    handled = await handler.handle(raw(spec), at(1))
    assert handled.outcome == "registered"
    assert [m.topic for m in state.outbox] == [RESULTS, TOPICS.births_registered, TOPICS.family_cards]
    assert state.inbox[spec.message_id].status == "registered"
    assert state.families[spec.mother.kk_number].version == 2
    assert state.commits == 1


async def test_a_batch_is_handled_in_parts_each_read_ahead_for_its_valid_new_notices(world):
    """A transaction per PART notifications, in the batch's order; prepare() gets the valid notices
    of deliveries not seen before; a redelivery and an invalid notification are left out."""
    state, handler, spec = world
    await handler.handle_batch([(raw(spec), at(0))])
    state.prepared.clear()
    commits = state.commits
    births = [
        replace(
            spec, message_id=f"5d8c3b0e-7a2f-4c61-9e1d-{n:012d}", encounter_id=f"E{n}", sex=("male", "female")[n % 2]
        )
        for n in range(1, PART + 6)
    ]
    invalid = build_notification(replace(spec, message_id="5d8c3b0e-7a2f-4c61-9e1d-999999999999", encounter_id="EX"))
    invalid["entry"][0]["resource"]["eventCoding"]["code"] = "not-a-birth"
    batch = [
        (raw(spec), at(0)),
        *((raw(b), at(n)) for n, b in enumerate(births, 1)),
        (json.dumps(invalid).encode(), at(99)),
    ]

    await handler.handle_batch(batch)

    ids = [b.message_id for b in births]
    assert state.prepared == [ids[: PART - 1], ids[PART - 1 :]]
    assert state.commits == commits + 2


async def test_a_batch_reserves_its_family_cards_before_writing(world):
    state, handler, spec = world
    elsewhere = replace(spec, message_id="5d8c3b0e-7a2f-4c61-9e1d-3f4a5b6c7d8e", encounter_id="E2")
    document = build_notification(elsewhere)
    for entry in document["entry"]:
        for identifier in entry["resource"].get("identifier", ()):
            if identifier.get("system") == v.KK:
                identifier["value"] = "3175" + identifier["value"][4:]  # a card of another regency
    batch = [(raw(spec), at(1)), (json.dumps(document).encode(), at(2))]

    await handler.handle_batch(batch)

    assert state.reserved_cards == [sorted({spec.mother.kk_number, "3175" + spec.mother.kk_number[4:]})]


async def test_the_same_delivery_again_changes_nothing(world):
    state, handler, spec = world
    await handler.handle(raw(spec), at(1))
    before = list(state.outbox)
    handled = await handler.handle(raw(spec), at(1))
    assert handled.outcome == "already-processed"
    assert state.outbox == before and len(state.births) == 1


async def test_a_resent_message_id_queues_the_same_result_again(world):
    state, handler, spec = world
    await handler.handle(raw(spec), at(1))
    handled = await handler.handle(raw(spec), at(2))
    assert handled.outcome == "resent-result"
    results = [m for m in state.outbox if m.topic == RESULTS]
    assert len(results) == 2 and results[0] == results[1]
    assert len(state.births) == 1


async def test_a_new_message_for_the_same_birth_answers_with_the_existing_numbers(world):
    state, handler, spec = world
    await handler.handle(raw(spec), at(1))
    again = BirthSpec(**{**spec.__dict__, "message_id": "6c1e8a4f-0000-4000-8000-000000000001"})
    handled = await handler.handle(raw(again), at(2))
    assert handled.outcome == "duplicate" and "DUPLICATE-NOTIFICATION" in handled.codes
    assert len(state.births) == 1
    first, second = (json.loads(m.value) for m in state.outbox if m.topic == RESULTS)
    assert first["entry"][2]["resource"]["parameter"][1] == second["entry"][2]["resource"]["parameter"][1]


async def test_unreadable_bytes_become_a_dead_letter_with_the_original_bytes(world):
    state, handler, _ = world
    handled = await handler.handle(b"\xff\xfe", at(7))
    assert handled.outcome == "dead-letter" and handled.codes == ("DLQ-NOT-UTF8",)
    (letter,) = state.outbox
    assert letter.topic == TOPICS.dead_letters and letter.value == b"\xff\xfe"
    assert letter.headers["dlq-original-offset"] == "7"


async def test_a_rejection_lists_every_problem_and_registers_nothing(world):
    state, handler, spec = world
    bad = BirthSpec(**{**spec.__dict__, "child_name": "Bayi Ny. Sari", "weight_g": 12000})
    handled = await handler.handle(raw(bad), at(1))
    assert handled.outcome == "rejected"
    assert {"NEWBORN-NAME-PLACEHOLDER", "BIRTH-WEIGHT-IMPLAUSIBLE"} <= set(handled.codes)
    assert state.births == [] and [m.topic for m in state.outbox] == [RESULTS]


async def test_a_failure_before_commit_leaves_no_trace(world):
    state, handler, spec = world

    class Failing(FakeUnitOfWork):
        async def commit(self) -> None:
            raise StoreUnavailable("connection lost")

    broken = RegisterBirths(lambda: Failing(state), PIPELINE, lambda: NOW)
    with pytest.raises(StoreUnavailable):
        await broken.handle(raw(spec), at(1))
    assert state.outbox == [] and state.inbox == {} and state.births == []
    assert (await handler.handle(raw(spec), at(1))).outcome == "registered"


async def test_a_batch_retried_after_its_second_part_failed_reports_the_first_parts_own_outcomes(world):
    """Parts commit one by one: when a later part fails and the consumer retries the whole batch, the
    parts committed before are found processed, and are still reported as what they were."""
    state, _handler, spec = world
    commits = {"n": 0}

    class FailingOnce(FakeUnitOfWork):
        async def commit(self) -> None:
            commits["n"] += 1
            if commits["n"] == 2:  # the second part's transaction, the first time
                raise StoreUnavailable("connection lost")
            await super().commit()

    handler = RegisterBirths(lambda: FailingOnce(state), PIPELINE, lambda: NOW)
    births = [
        replace(
            spec, message_id=f"7d8c3b0e-7a2f-4c61-9e1d-{n:012d}", encounter_id=f"E{n}", sex=("male", "female")[n % 2]
        )
        for n in range(PART + 3)
    ]
    batch = [(raw(b), at(n)) for n, b in enumerate(births)]
    untroubled = copy.deepcopy(state)
    expected = await RegisterBirths(lambda: FakeUnitOfWork(untroubled), PIPELINE, lambda: NOW).handle_batch(batch)

    results = await retry_transient(lambda: handler.handle_batch(batch), initial=0, maximum=0, what="test")

    assert [(h.outcome, h.message_id, h.codes) for h in results] == [
        (h.outcome, h.message_id, h.codes) for h in expected
    ]
    assert "already-processed" not in {h.outcome for h in results}
    assert len(state.births) == len(untroubled.births) > 0, "each handled once"
    again = await handler.handle_batch(batch)
    assert {h.outcome for h in again} == {"already-processed"}, "a later redelivery is what it is"


async def test_retry_repeats_transient_failures_and_passes_others_through():
    calls = []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("not yet")
        return "done"

    assert await retry_transient(flaky, initial=0.001, maximum=0.002, what="test") == "done"
    assert len(calls) == 3

    async def broken():
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await retry_transient(broken, initial=0.001, maximum=0.002, what="test")


@pytest.mark.allow_errors
async def test_an_input_the_rules_did_not_foresee_is_answered_not_crashed_on(world, monkeypatch, no_swallowed_errors):
    state, handler, spec = world

    def unforeseen(*args, **kwargs):
        raise ValueError("Invalid isoformat string: '3273015203950001'")

    monkeypatch.setattr("hub.service.pipeline.read_notice", unforeseen)
    handled = await handler.handle(raw(spec), at(1))
    assert handled.outcome == "rejected" and handled.codes == ("INTAKE-UNEXPECTED",)
    assert state.births == [] and len(state.outbox) == 1
    (record,) = no_swallowed_errors.records
    assert "INTAKE-UNEXPECTED" in record.getMessage() and "3273015203950001" not in record.getMessage()


async def test_a_registry_refusal_rolls_back_and_is_answered_in_a_new_transaction(world, monkeypatch):
    state, handler, spec = world
    from hub.errors import NumberSpaceExhausted
    from tests.fakes import FakeRegistry

    async def full(self, notice, decision, at_time):
        self.state.births.append("half-written")  # must vanish with the rollback
        raise NumberSpaceExhausted("nik:327301420526")

    monkeypatch.setattr(FakeRegistry, "register_birth", full)
    handled = await handler.handle(raw(spec), at(1))
    assert handled.outcome == "rejected" and handled.codes == ("NUMBER-SPACE-EXHAUSTED",)
    assert state.births == [] and state.inbox[spec.message_id].status == "rejected"
    assert (await handler.handle(raw(spec), at(1))).outcome == "already-processed"


async def test_a_batch_commits_once_and_a_message_id_repeated_inside_it_gets_the_same_result(world):
    state, handler, spec = world
    results = await handler.handle_batch([(raw(spec), at(1)), (raw(spec), at(2)), (b"junk", at(3))])
    assert [h.outcome for h in results] == ["registered", "resent-result", "dead-letter"]
    assert state.commits == 1
    answers = [m for m in state.outbox if m.topic == RESULTS]
    assert len(answers) == 2 and answers[0] == answers[1]


async def test_a_refusal_inside_a_batch_is_answered_alone_and_the_others_still_land(world, monkeypatch):
    state, handler, spec = world
    from hub.errors import NumberSpaceExhausted
    from tests.fakes import FakeRegistry

    original = FakeRegistry.register_birth

    async def refuse_girls(self, notice, decision, at_time):
        if notice.child_name == "Refused":
            raise NumberSpaceExhausted("nik:x")
        return await original(self, notice, decision, at_time)

    monkeypatch.setattr(FakeRegistry, "register_birth", refuse_girls)
    twin = BirthSpec(**{**spec.__dict__, "birth_order": 1, "plurality": 2})
    refused = BirthSpec(
        **{
            **spec.__dict__,
            "message_id": "6c1e8a4f-0000-4000-8000-000000000009",
            "birth_order": 2,
            "plurality": 2,
            "child_name": "Refused",
        }
    )
    results = await handler.handle_batch([(raw(twin), at(1)), (raw(refused), at(2))])
    assert [(h.outcome, h.codes) for h in results] == [("registered", ()), ("rejected", ("NUMBER-SPACE-EXHAUSTED",))]
    assert len(state.births) == 1 and state.inbox[refused.message_id].status == "rejected"


async def test_civil_events_conform_to_their_published_models(world):
    from hub.service.events import BirthRegistered, FamilyCardReissued

    state, handler, spec = world
    await handler.handle(raw(spec), at(1))
    born, card = (m for m in state.outbox if m.topic != RESULTS)
    registered = BirthRegistered.model_validate_json(born.value)
    reissued = FamilyCardReissued.model_validate_json(card.value)
    assert registered.kk_version == reissued.version == 2 and reissued.members[-1].nik == registered.child.nik
    assert born.key == registered.akta_number.encode() and card.key == reissued.kk_number.encode()


def _refusing_inbox(monkeypatch, message_id: str, *, even_a_rejection: bool) -> list[str]:
    """The inbox refuses `message_id`'s row as a database refuses data: every time, or (as a real
    data error behaves: the rejection stores none of the offending values) unless it is a rejection."""
    from hub.errors import StoreRefusedData
    from tests.fakes import FakeInbox

    original, refused = FakeInbox.record, []

    async def record(self, record):
        if record.message_id == message_id and (even_a_rejection or record.status != "rejected"):
            refused.append(record.message_id)
            raise StoreRefusedData("CharacterNotInRepertoireError (SQLSTATE 22021)")
        return await original(self, record)

    monkeypatch.setattr(FakeInbox, "record", record)
    return refused


def _batch_of_births(spec, count: int) -> list[BirthSpec]:
    """`count` births of one delivery (multiples), each with its own message id."""
    return [
        BirthSpec(
            **{**spec.__dict__, "message_id": f"6c1e8a4f-0000-4000-8000-{n:012d}", "birth_order": n, "plurality": count}
        )
        for n in range(1, count + 1)
    ]


@pytest.mark.allow_errors  # a refusal by the database is an ERROR: the intake should have refused first
async def test_a_data_error_is_isolated_to_its_message_and_the_rest_of_the_batch_commits(world, monkeypatch):
    state, handler, spec = world
    births = _batch_of_births(spec, 8)
    poisoned = births[5].message_id
    refused = _refusing_inbox(monkeypatch, poisoned, even_a_rejection=False)

    results = await handler.handle_batch([(raw(b), at(n)) for n, b in enumerate(births)])

    assert [h.outcome for h in results] == ["registered"] * 5 + ["rejected"] + ["registered"] * 2
    assert results[5].codes == ("STORE-DATA-REJECTED",) and set(refused) == {poisoned}
    assert state.inbox[poisoned].status == "rejected" and len(state.births) == 7
    assert state.commits <= 5  # halves: the failing batch, then 8 -> 4 + 4 -> ... not one per message


@pytest.mark.allow_errors
async def test_a_refusal_the_database_cannot_store_either_is_dead_lettered(world, monkeypatch):
    state, handler, spec = world
    before, poisoned, after = _batch_of_births(spec, 3)
    _refusing_inbox(monkeypatch, poisoned.message_id, even_a_rejection=True)

    results = await handler.handle_batch([(raw(before), at(1)), (raw(poisoned), at(2)), (raw(after), at(3))])

    assert [(h.outcome, h.codes) for h in results] == [
        ("registered", ()),
        ("dead-letter", ("STORE-DATA-REJECTED",)),
        ("registered", ()),
    ]
    ((delivery, reason, detail),) = state.dead_letters
    assert (delivery.offset, reason) == (2, "STORE-DATA-REJECTED") and "SQLSTATE 22021" in detail
    assert poisoned.message_id not in state.inbox
    (letter,) = [m for m in state.outbox if m.topic == TOPICS.dead_letters]
    assert letter.value == raw(poisoned) and letter.headers["dlq-reason"] == "STORE-DATA-REJECTED"


async def test_a_data_error_is_not_retried_as_transient():
    from hub.errors import StoreRefusedData

    calls = []

    async def refused():
        calls.append(1)
        raise StoreRefusedData("DataError (SQLSTATE 22000)")

    with pytest.raises(StoreRefusedData):
        await retry_transient(refused, initial=0.001, maximum=0.001, what="test")
    assert calls == [1]


async def test_an_oversized_dead_letter_keeps_its_first_half_mebibyte_so_the_relay_can_publish_it(world):
    state, handler, _spec = world
    huge = b"\xff" + b"x" * (3 * 1024 * 1024)

    handled = await handler.handle(huge, Delivery(TOPICS.notifications, 0, 9, b"k" * 5000))

    assert handled.outcome == "dead-letter" and handled.codes == ("PAYLOAD-TOO-LARGE",)
    (letter,) = [m for m in state.outbox if m.topic == TOPICS.dead_letters]
    assert letter.value == huge[: 512 * 1024] and letter.headers["dlq-original-bytes"] == str(len(huge))
    assert letter.key == b"k" * 1024
