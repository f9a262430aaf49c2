"""Review decisions with in-memory ports: approval completes the registration through the pipeline
(every rule but the review reasons still applies), rejection answers REVIEW-REJECTED; either sends
the hospital its second result, replaces the inbox row and is audited, in one transaction; a case
is decided once, with a note."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.adapters.postgres.audit import GENESIS, entry_hash
from hub.devtools.simulation.bundles import BirthSpec
from hub.errors import OperatorError, StoreUnavailable
from hub.service.answers import result_event_id
from hub.service.ports import AuditEntry, Delivery
from hub.service.register_birth import RegisterBirths
from hub.service.review import ReviewDecisions
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.test_register_births import NOW, PIPELINE, RESULTS, TOPICS, _population, at, first_birth, raw

DECIDED = NOW + timedelta(days=1)


class CrashingUnitOfWork(FakeUnitOfWork):
    async def commit(self) -> None:
        raise StoreUnavailable("connection lost before commit")


@pytest.fixture
def world():
    """A notification waiting for review: the father's NIK is not in the registry."""
    state = FakeState()
    mother, father = _population(state)
    father_record = state.persons.pop(father.nik)
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    consumer, desk = RegisterBirths(uow, PIPELINE, lambda: NOW), ReviewDecisions(uow, PIPELINE, lambda: DECIDED)
    spec = first_birth(mother, father)
    return state, consumer, desk, spec, father_record


async def _waiting(world) -> str:
    state, consumer, _, spec, _ = world
    handled = await consumer.handle(raw(spec), at(1))
    assert (handled.outcome, state.reviews[spec.message_id].reasons) == ("review-pending", ("REVIEW-FATHER-NOT-FOUND",))
    return spec.message_id


def _hospital(world) -> str:
    return world[3].hospital_id


def _results(state: FakeState) -> list:
    return [m for m in state.outbox if m.topic == RESULTS]


async def test_approval_registers_sends_a_second_result_and_is_audited(world):
    state, _, desk, _, _ = world
    message_id = await _waiting(world)
    commits = state.commits

    handled = await desk.approve(_hospital(world), message_id, "petugas-7", "father's KK checked at the office")

    assert (handled.outcome, handled.message_id) == ("registered", message_id)
    assert len(state.births) == 1 and state.commits == commits + 1
    record = state.inbox[message_id]
    assert (record.status, record.result_sequence, record.result_event_id, record.delivery) == (
        "registered",
        2,
        result_event_id(_hospital(world), message_id, 2),
        Delivery(TOPICS.notifications, 0, 1),
    )
    assert [m.event_id for m in _results(state)] == [
        result_event_id(_hospital(world), message_id, 1),
        result_event_id(_hospital(world), message_id, 2),
    ]
    case = state.reviews[message_id]
    assert (case.status, case.decided_by, case.note, case.decided_at) == (
        "approved",
        "petugas-7",
        "father's KK checked at the office",
        DECIDED,
    )
    (entry,) = state.audit
    assert entry == AuditEntry(
        "petugas-7",
        "review.approve",
        message_id,
        "father's KK checked at the office",
        {"outcome": "registered", "codes": list(handled.codes), "hospital": _hospital(world)},
    )
    assert state.audit_hashes == [entry_hash(GENESIS, DECIDED.isoformat(), entry)]


async def test_rejection_answers_review_rejected_and_registers_nothing(world):
    state, _, desk, _, _ = world
    message_id = await _waiting(world)

    handled = await desk.reject(_hospital(world), message_id, "petugas-7", "the father is not the mother's husband")

    assert (handled.outcome, handled.codes) == ("rejected", ("REVIEW-REJECTED",))
    assert state.births == [] and state.inbox[message_id].codes == ("REVIEW-REJECTED",)
    assert (state.reviews[message_id].status, state.audit[-1].action) == ("rejected", "review.reject")
    assert state.audit[-1].details == {
        "outcome": "rejected",
        "codes": ["REVIEW-REJECTED"],
        "hospital": _hospital(world),
    }
    assert len(_results(state)) == 2


async def test_a_decision_needs_a_note(world):
    state, _, desk, _, _ = world
    message_id = await _waiting(world)
    commits = state.commits
    for note in ("", "   "):
        with pytest.raises(OperatorError, match="note"):
            await desk.approve(_hospital(world), message_id, "petugas-7", note)
    assert (state.reviews[message_id].status, state.commits, state.audit) == ("open", commits, [])


async def test_an_unknown_case_cannot_be_decided(world):
    state, _, desk, _, _ = world
    with pytest.raises(OperatorError, match="no review case"):
        await desk.reject(_hospital(world), "6c1e8a4f-0000-4000-8000-00000000beef", "petugas-7", "no such case")
    assert state.commits == 0


async def test_a_case_is_decided_once(world):
    state, _, desk, _, _ = world
    message_id = await _waiting(world)
    await desk.reject(_hospital(world), message_id, "petugas-7", "wrong father")
    outbox, audit = list(state.outbox), list(state.audit)
    for decide in (desk.approve, desk.reject):
        with pytest.raises(OperatorError, match="already decided"):
            await decide(_hospital(world), message_id, "petugas-8", "second opinion")
    assert (state.outbox, state.audit, state.reviews[message_id].decided_by) == (outbox, audit, "petugas-7")
    assert state.births == []


async def test_approval_still_applies_every_other_rule(world):
    state, consumer, desk, spec, father = world
    message_id = await _waiting(world)
    state.persons[father.nik] = father  # the father is found now: the same birth arrives under a new message id
    resent = BirthSpec(**{**spec.__dict__, "message_id": "6c1e8a4f-0000-4000-8000-0000000000cc"})
    assert (await consumer.handle(raw(resent), at(2))).outcome == "registered"

    handled = await desk.approve(_hospital(world), message_id, "petugas-7", "checked")

    assert (handled.outcome, handled.codes) == ("duplicate", ("DUPLICATE-NOTIFICATION",))
    assert len(state.births) == 1 and state.reviews[message_id].status == "approved"


async def test_a_failure_before_commit_leaves_the_case_open_and_nothing_done(world):
    state, _, _, _, _ = world
    message_id = await _waiting(world)
    outbox = list(state.outbox)
    broken = ReviewDecisions(lambda: CrashingUnitOfWork(state), PIPELINE, lambda: DECIDED)
    with pytest.raises(StoreUnavailable):
        await broken.approve(_hospital(world), message_id, "petugas-7", "checked")
    assert (state.reviews[message_id].status, state.births, state.audit, state.outbox) == ("open", [], [], outbox)
    assert state.inbox[message_id].status == "review-pending"
