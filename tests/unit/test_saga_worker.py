"""The registry saga worker with in-memory ports and a scripted external registry: the hospital hears
nothing until the registry has written; outages and conflicts are retried with a capped exponential
backoff; a refusal is answered with the registry's reason (masked); re-sends while waiting are owed
the result once more each; a crash changes nothing; two workers never carry out one saga."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from hub.devtools.simulation.bundles import BirthSpec
from hub.domain import codes
from hub.errors import (
    PermanentError,
    RegistryConflict,
    RegistryUnavailable,
    StoreUnavailable,
)
from hub.service.pipeline import IntakeLimits, Pipeline
from hub.service.register_birth import RegisterBirths
from hub.service.registry_sagas import RegistrySagaWorker
from tests.fakes import FakeRegistry, FakeState, FakeUnitOfWork
from tests.unit.test_document_service import ISSUER
from tests.unit.test_register_births import NOW, RESULTS, TOPICS, _population, at, first_birth, raw

LIMITS = IntakeLimits(512 * 1024, 32, True)
DEFERRED = Pipeline(TOPICS, LIMITS, lambda _: True, defer_registry=True)
INITIAL, MAXIMUM = 30.0, 100.0


class Clock:
    """The app's clock and the store's now() at once, moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Script:
    """What the external registry does next: raise the queued errors in turn, then register."""

    def __init__(self) -> None:
        self.errors: list[Exception] = []
        self.stall = 0.0
        self.calls = 0


class ScriptedRegistry(FakeRegistry):
    def __init__(self, state: FakeState, script: Script) -> None:
        super().__init__(state)
        self.script = script

    async def register_birth(self, notice, decision, at_time):
        self.script.calls += 1
        await asyncio.sleep(self.script.stall)
        if self.script.errors:
            raise self.script.errors.pop(0)
        return await super().register_birth(notice, decision, at_time)


class CrashingUnitOfWork(FakeUnitOfWork):
    async def commit(self) -> None:
        raise StoreUnavailable("connection lost before commit")


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr("hub.service.retry.random.uniform", lambda low, high: high)  # the longest wait
    state, script, clock = FakeState(), Script(), Clock(NOW)
    state.clock = clock
    mother, father = _population(state)
    uow = lambda: FakeUnitOfWork(state, registry=lambda s: ScriptedRegistry(s, script))  # noqa: E731
    consumer = RegisterBirths(uow, DEFERRED, clock)
    worker = RegistrySagaWorker(uow, DEFERRED, clock, retry_initial=INITIAL, retry_max=MAXIMUM)
    spec = first_birth(mother, father)
    return state, script, clock, consumer, worker, spec


def _results(state: FakeState) -> list:
    return [m for m in state.outbox if m.topic == RESULTS]


async def test_nothing_due_is_none(world):
    state, _, _, _, worker, _ = world
    assert await worker.run_one() is None
    assert state.commits == 0


async def test_the_hospital_hears_nothing_until_the_registry_has_written(world):
    state, script, _, consumer, worker, spec = world
    assert (await consumer.handle(raw(spec), at(1))).outcome == "registry-pending"
    assert state.outbox == [] and state.births == [] and script.calls == 0
    assert (state.inbox[spec.message_id].status, state.sagas[spec.message_id]["state"]) == (
        "registry-pending",
        "pending",
    )

    handled = await worker.run_one()

    assert (handled.outcome, handled.message_id) == ("registered", spec.message_id)
    assert [m.topic for m in state.outbox] == [RESULTS, TOPICS.births_registered, TOPICS.family_cards]
    assert (state.inbox[spec.message_id].status, state.inbox[spec.message_id].delivery.offset) == ("registered", 1)
    assert (state.sagas[spec.message_id]["state"], state.sagas[spec.message_id]["attempts"]) == ("written", 1)
    assert len(state.births) == 1 and script.calls == 1
    assert await worker.run_one() is None, "a written saga is not carried out again"


async def test_an_outage_is_retried_with_a_capped_exponential_backoff_and_nothing_is_answered(world):
    state, script, clock, consumer, worker, spec = world
    await consumer.handle(raw(spec), at(1))
    script.errors = [RegistryUnavailable("HTTP 503 REGISTRY-UNAVAILABLE")] * 3
    waits = []
    for _ in range(3):
        assert (await worker.run_one()).outcome == "failed-retrying"
        saga = state.sagas[spec.message_id]
        waits.append((saga["next_attempt_at"] - clock.now).total_seconds())
        assert saga["state"] == "failed-retrying" and "503" in saga["last_error"]
        assert await worker.run_one() is None, "not due before its time"
        clock.advance(waits[-1])
    assert waits == [INITIAL, 2 * INITIAL, MAXIMUM]
    assert _results(state) == [] and state.births == [] and state.inbox[spec.message_id].status == "registry-pending"
    assert (await worker.run_one()).outcome == "registered"
    assert state.sagas[spec.message_id]["attempts"] == 4 and len(_results(state)) == 1


async def test_a_registry_conflict_is_decided_again_later(world):
    state, script, clock, consumer, worker, spec = world
    await consumer.handle(raw(spec), at(1))
    script.errors = [RegistryConflict("BIRTH-ALREADY-RECORDED")]
    assert (await worker.run_one()).outcome == "failed-retrying"
    assert state.sagas[spec.message_id]["last_error"] == "BIRTH-ALREADY-RECORDED" and _results(state) == []
    clock.advance(INITIAL)
    assert (await worker.run_one()).outcome == "registered"


async def test_a_refusal_is_answered_with_the_registrys_reason_and_no_nik_in_it(world):
    state, script, _, consumer, worker, spec = world
    await consumer.handle(raw(spec), at(1))
    script.errors = [
        PermanentError(
            codes.REGISTRY_REJECTED, f"family card of {spec.mother.nik} is under correction", origin="REGISTRY-ON-HOLD"
        )
    ]

    handled = await worker.run_one()

    assert (handled.outcome, handled.codes) == ("rejected", ("REGISTRY-REJECTED",))
    saga = state.sagas[spec.message_id]
    assert (saga["state"], saga["last_error"], saga["attempts"]) == ("failed-permanent", "REGISTRY-ON-HOLD", 1)
    assert state.inbox[spec.message_id].codes == ("REGISTRY-REJECTED",) and state.births == []
    (result,) = _results(state)
    text = result.value.decode()
    assert "under correction" in text and f"{spec.mother.nik[:6]}**********" in text and spec.mother.nik not in text
    assert await worker.run_one() is None


async def test_a_refusal_the_catalogue_knows_keeps_its_own_code(world):
    state, script, _, consumer, worker, spec = world
    await consumer.handle(raw(spec), at(1))
    script.errors = [PermanentError(codes.NUMBER_SPACE_EXHAUSTED, "no free serial left in nik:327301420526")]
    handled = await worker.run_one()
    assert (handled.outcome, handled.codes) == ("rejected", ("NUMBER-SPACE-EXHAUSTED",))
    assert state.sagas[spec.message_id]["state"] == "failed-permanent"


async def test_each_resend_while_the_saga_waits_gets_the_same_result_once_more(world):
    state, _, _, consumer, worker, spec = world
    await consumer.handle(raw(spec), at(1))
    assert [(await consumer.handle(raw(spec), at(n))).outcome for n in (2, 3)] == ["resent-result"] * 2
    assert _results(state) == [] and state.sagas[spec.message_id]["owed_copies"] == 2

    await worker.run_one()

    first, *copies = _results(state)
    assert len(copies) == 2 and all(c == first for c in copies)
    assert json.loads(first.value)["id"] == first.event_id
    assert (await consumer.handle(raw(spec), at(4))).outcome == "resent-result"
    assert len(_results(state)) == 4, "after the saga, a re-send is copied at once"


async def test_with_documents_the_owed_copies_wait_for_the_documents(world):
    state, _, clock, _, _, spec = world
    pipeline = Pipeline(TOPICS, LIMITS, lambda _: True, defer_registry=True, issuer=ISSUER)
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    consumer, worker = (
        RegisterBirths(uow, pipeline, clock),
        RegistrySagaWorker(uow, pipeline, clock, retry_initial=1, retry_max=2),
    )
    await consumer.handle(raw(spec), at(1))
    await consumer.handle(raw(spec), at(2))

    assert (await worker.run_one()).outcome == "registered"

    assert _results(state) == [], "the result goes out with the signed documents"
    (job,) = state.document_jobs
    assert (job["request"].message_id, job["owed_copies"]) == (spec.message_id, 1)


async def test_a_crash_before_commit_leaves_the_saga_due_and_nothing_done(world):
    state, script, clock, consumer, worker, spec = world
    await consumer.handle(raw(spec), at(1))
    crashing = RegistrySagaWorker(
        lambda: CrashingUnitOfWork(state, registry=lambda s: ScriptedRegistry(s, script)),
        DEFERRED,
        clock,
        retry_initial=INITIAL,
        retry_max=MAXIMUM,
    )
    with pytest.raises(StoreUnavailable):
        await crashing.run_one()
    saga = state.sagas[spec.message_id]
    assert (saga["state"], saga["attempts"], state.births, state.outbox) == ("pending", 0, [], [])
    assert (await worker.run_one()).outcome == "registered" and script.calls == 2


async def test_two_workers_never_carry_out_one_saga_at_the_same_time(world):
    state, script, _, consumer, worker, spec = world
    await consumer.handle(raw(spec), at(1))
    script.stall = 0.05
    first, second = await asyncio.gather(worker.run_one(), worker.run_one())
    assert sorted([first is None, second is None]) == [False, True]
    assert script.calls == 1 and len(state.births) == 1


async def test_a_second_notification_for_the_same_family_waits_its_turn_in_order(world):
    state, _, clock, consumer, worker, spec = world
    twin = BirthSpec(
        **{
            **spec.__dict__,
            "message_id": "6c1e8a4f-0000-4000-8000-0000000000aa",
            "birth_order": 2,
            "plurality": 2,
            "child_name": "Tara Halim",
        }
    )
    first = BirthSpec(**{**spec.__dict__, "birth_order": 1, "plurality": 2})
    await consumer.handle(raw(first), at(1))
    clock.advance(1)
    await consumer.handle(raw(twin), at(2))
    assert [(await worker.run_one()).message_id for _ in range(2)] == [first.message_id, twin.message_id]
    assert [b.kk_version for b in state.births] == [2, 3]
