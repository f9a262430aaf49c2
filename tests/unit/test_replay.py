"""Replay with in-memory ports: a message processed with any outcome but `rejected` is left alone; a
rejected one is evaluated again and, if it now passes, processed with a further result; a message
never seen is processed normally; a dry run writes nothing at all; filters skip what they exclude."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hub.service.answers import result_event_id
from hub.service.ports import Delivery
from hub.service.register_birth import RegisterBirths
from hub.service.replay import ReplayFilter, ReplayMessages
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.test_register_births import NOW, PIPELINE, RESULTS, TOPICS, _population, at, first_birth, raw

REPLAYED = "replay.topic"


def again(offset: int) -> Delivery:
    """Where the replay read the message: the same bytes, found again on the topic."""
    return Delivery(REPLAYED, 0, offset, b"k")


@pytest.fixture
def world():
    state = FakeState()
    mother, father = _population(state)
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    consumer, replay = RegisterBirths(uow, PIPELINE, lambda: NOW), ReplayMessages(uow, PIPELINE, lambda: NOW)
    spec = first_birth(mother, father)
    return state, consumer, replay, spec


def _close_hospital(state: FakeState, active: bool = False) -> None:
    state.hospitals["100"] = replace(state.hospitals["100"], active=active)


def _results(state: FakeState, hospital_id: str = "100") -> list:
    return [m for m in state.outbox if m.topic == TOPICS.results_of(hospital_id)]


async def test_a_message_never_seen_is_processed_as_the_consumer_would(world):
    state, _, replay, spec = world
    replayed = await replay.replay(raw(spec), again(5), dry_run=False)
    assert (replayed.kind, replayed.handled.outcome, replayed.handled.message_id) == (
        "newly-processed",
        "registered",
        spec.message_id,
    )
    assert [m.topic for m in state.outbox] == [RESULTS, TOPICS.births_registered, TOPICS.family_cards]
    assert (state.inbox[spec.message_id].status, state.inbox[spec.message_id].delivery) == (
        "registered",
        Delivery(REPLAYED, 0, 5),
    )
    assert state.deliveries[(REPLAYED, 0, 5)] == (spec.message_id, "registered")
    assert len(state.births) == 1 and state.commits == 1


async def test_a_message_processed_with_another_outcome_than_rejected_is_left_alone(world):
    state, consumer, replay, spec = world
    await consumer.handle(raw(spec), at(1))
    outbox, commits = list(state.outbox), state.commits
    for dry_run in (False, True):
        replayed = await replay.replay(raw(spec), again(1), dry_run=dry_run)
        assert (replayed.kind, replayed.handled.outcome) == ("already-processed", "registered")
    assert (state.outbox, state.commits, len(state.births)) == (outbox, commits, 1)
    assert (REPLAYED, 0, 1) not in state.deliveries


async def test_a_rejection_that_still_holds_changes_nothing(world):
    state, consumer, replay, spec = world
    _close_hospital(state)
    await consumer.handle(raw(spec), at(1))
    before, commits = state.inbox[spec.message_id], state.commits
    replayed = await replay.replay(raw(spec), again(1), dry_run=False)
    assert (replayed.kind, replayed.handled.codes) == ("rejected", ("SENDER-INACTIVE",))
    assert (state.inbox[spec.message_id], state.commits, len(_results(state))) == (before, commits, 1)


async def test_a_rejection_that_no_longer_holds_is_processed_with_a_further_result(world):
    state, consumer, replay, spec = world
    _close_hospital(state)
    await consumer.handle(raw(spec), at(1))
    _close_hospital(state, active=True)  # the hospital's registration was fixed

    replayed = await replay.replay(raw(spec), again(1), dry_run=False)

    assert (replayed.kind, replayed.handled.outcome) == ("newly-processed", "registered")
    record = state.inbox[spec.message_id]
    assert (record.status, record.result_sequence, record.result_event_id) == (
        "registered",
        2,
        result_event_id(spec.hospital_id, spec.message_id, 2),
    )
    assert record.delivery == Delivery(TOPICS.notifications, 0, 1), "the first delivery stays"
    first, second = _results(state)
    assert (
        first.event_id == result_event_id(spec.hospital_id, spec.message_id, 1)
        and second.event_id == record.result_event_id
    )
    assert len(state.births) == 1 and (REPLAYED, 0, 1) not in state.deliveries


async def test_a_dry_run_reports_what_would_happen_and_writes_nothing(world):
    state, consumer, replay, spec = world
    replayed = await replay.replay(raw(spec), again(3), dry_run=True)
    assert (replayed.kind, replayed.handled.outcome) == ("newly-processed", "registered")
    assert (state.inbox, state.outbox, state.births, state.deliveries, state.commits) == ({}, [], [], {}, 0)

    _close_hospital(state)
    await consumer.handle(raw(spec), at(1))
    _close_hospital(state, active=True)
    before, commits = state.inbox[spec.message_id], state.commits
    replayed = await replay.replay(raw(spec), again(1), dry_run=True)
    assert (replayed.kind, replayed.handled.outcome) == ("newly-processed", "registered")
    assert (state.inbox[spec.message_id], state.commits, state.births, len(_results(state))) == (before, commits, [], 1)


async def test_a_dry_run_of_a_stillbirth_stops_before_the_registry_write(world):
    state, _, replay, spec = world
    stillbirth = replace(spec, stillborn=True, weight_g=900, gestational_weeks=27.0)
    replayed = await replay.replay(raw(stillbirth), again(4), dry_run=True)
    assert (replayed.kind, replayed.handled.outcome) == ("newly-processed", "stillbirth-recorded")
    assert (state.births, state.commits) == ([], 0)


async def test_unreadable_bytes_never_seen_go_to_the_dead_letters_once(world):
    state, _, replay, _ = world
    replayed = await replay.replay(b"\xff\xfe", again(7), dry_run=False)
    assert (replayed.kind, replayed.handled.codes) == ("unreadable", ("DLQ-NOT-UTF8",))
    (letter,) = state.outbox
    assert (letter.topic, letter.value, letter.headers["dlq-original-offset"]) == (
        TOPICS.dead_letters,
        b"\xff\xfe",
        "7",
    )
    assert state.dead_letters == [(again(7), "DLQ-NOT-UTF8", letter.headers["dlq-detail"] or None)]
    assert state.deliveries[(REPLAYED, 0, 7)] == (None, "dead-letter")

    replayed = await replay.replay(b"\xff\xfe", again(7), dry_run=False)
    assert replayed.kind == "unreadable" and len(state.outbox) == 1 and state.commits == 1


async def test_a_dry_run_of_unreadable_bytes_writes_nothing(world):
    state, _, replay, _ = world
    replayed = await replay.replay(b"not json", again(8), dry_run=True)
    assert replayed.kind == "unreadable" and replayed.handled.codes
    assert (state.outbox, state.dead_letters, state.deliveries, state.commits) == ([], [], {}, 0)


async def test_filters_skip_what_they_exclude(world):
    state, consumer, replay, spec = world
    other_hospital = ReplayFilter(hospital_id="999")
    assert (await replay.replay(raw(spec), again(1), dry_run=False, only=other_hospital)).kind == "skipped"
    assert (
        await replay.replay(raw(spec), again(1), dry_run=False, only=ReplayFilter(code="SENDER-INACTIVE"))
    ).kind == "skipped", "never rejected at all"
    assert (await replay.replay(b"\xff", again(2), dry_run=False, only=other_hospital)).kind == "skipped"
    assert (
        await replay.replay(b"\xff", again(2), dry_run=False, only=ReplayFilter(code="DLQ-JSON-INVALID"))
    ).kind == "skipped"
    assert (state.outbox, state.commits) == ([], 0)

    _close_hospital(state)
    await consumer.handle(raw(spec), at(1))
    _close_hospital(state, active=True)
    assert (
        await replay.replay(raw(spec), again(1), dry_run=False, only=ReplayFilter(code="KK-NOT-FOUND"))
    ).kind == "skipped"
    chosen = ReplayFilter(hospital_id="100", code="SENDER-INACTIVE")
    assert (await replay.replay(raw(spec), again(1), dry_run=False, only=chosen)).kind == "newly-processed"
    assert (
        await replay.replay(b"\xff", again(2), dry_run=False, only=ReplayFilter(code="DLQ-NOT-UTF8"))
    ).kind == "unreadable"


async def test_a_new_birth_of_an_unknown_hospital_is_rejected_by_replay_like_by_the_consumer(world):
    state, _, replay, spec = world
    stranger = replace(spec, hospital_id="555")
    replayed = await replay.replay(raw(stranger), again(9), dry_run=False)
    assert (replayed.kind, replayed.handled.codes) == ("rejected", ("SENDER-UNKNOWN",))
    assert state.inbox[stranger.message_id].status == "rejected" and len(_results(state, "555")) == 1
