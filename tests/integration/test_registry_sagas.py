"""Registry sagas on real PostgreSQL, with a registry stand-in that can refuse, fail or stall.

The consumer records the intent; a worker carries it out: written and answered on success,
retried later on a transient failure, answered fatal-error with the registry's reason on a refusal,
and never carried out by two workers at once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from hub.adapters.postgres.registry import EmbeddedRegistry
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.bootstrap import pipeline
from hub.config import RegistryKind
from hub.devtools.simulation.bundles import build_notification
from hub.domain import codes
from hub.errors import PermanentError, RegistryUnavailable
from hub.service.register_birth import RegisterBirths
from hub.service.registry_sagas import RegistrySagaWorker
from tests.support import trust
from tests.support.people import birth, households

pytestmark = pytest.mark.postgres


class StandIn(EmbeddedRegistry):
    """The embedded registry, except for how `register_birth` behaves."""

    behaviour = "register"
    calls = 0

    async def register_birth(self, notice, decision, at):
        type(self).calls += 1
        if self.behaviour == "refuse":
            raise PermanentError(
                codes.REGISTRY_REJECTED,
                "the family card is under correction at the regency office",
                origin="REGISTRY-ON-HOLD",
            )
        if self.behaviour == "fail":
            raise RegistryUnavailable("503 from the registry")
        if self.behaviour == "stall":
            await asyncio.sleep(1)
        return await super().register_birth(notice, decision, at)


@pytest.fixture
async def saga_world(environment, pool):
    settings = environment.settings.model_copy(update={"registry": RegistryKind.SIAK_HTTP})
    uow = lambda: PostgresUnitOfWork(pool, StandIn)  # noqa: E731
    clock = lambda: datetime.now(UTC)  # noqa: E731
    consumer = RegisterBirths(uow, pipeline(settings), clock)
    worker = RegistrySagaWorker(uow, pipeline(settings), clock, retry_initial=30, retry_max=60)
    StandIn.behaviour, StandIn.calls = "register", 0
    return consumer, worker


async def _queue(environment, consumer, index: int, offset: int) -> str:
    home = (await households(environment.settings.dsn, 40))[index]
    spec = birth(home, "103578001")
    raw = json.dumps(build_notification(spec)).encode()
    handled = await consumer.handle(raw, trust.delivered(environment.settings.topics, raw, 0, offset))
    assert handled.outcome == "registry-pending"
    return spec.message_id


async def _row(pool, message_id):
    async with pool.acquire() as conn:
        saga = await conn.fetchrow(
            "SELECT state, attempts, next_attempt_at, last_error FROM registry_sagas WHERE message_id = $1", message_id
        )
        inbox = await conn.fetchrow("SELECT status, codes FROM inbox WHERE message_id = $1", message_id)
        results = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE headers ->> 'correlation-id' = $1 AND topic LIKE '%birth.result.v1.%'",
            message_id,
        )
    return saga, inbox, results


async def test_the_consumer_answers_nothing_until_the_worker_has_written(environment, pool, saga_world):
    consumer, worker = saga_world
    message_id = await _queue(environment, consumer, 30, 1)
    saga, inbox, results = await _row(pool, message_id)
    assert (saga["state"], inbox["status"], results) == ("pending", "registry-pending", 0)
    handled = await worker.run_one()
    assert handled.outcome == "registered"
    saga, inbox, results = await _row(pool, message_id)
    assert (saga["state"], inbox["status"], results) == ("written", "registered", 1)
    assert await worker.run_one() is None


async def test_a_transient_failure_is_retried_later_and_nothing_is_answered(environment, pool, saga_world):
    consumer, worker = saga_world
    message_id = await _queue(environment, consumer, 31, 2)
    StandIn.behaviour = "fail"
    assert (await worker.run_one()).outcome == "failed-retrying"
    saga, _inbox, results = await _row(pool, message_id)
    assert (saga["state"], saga["attempts"], results) == ("failed-retrying", 1, 0)
    assert saga["next_attempt_at"] > datetime.now(UTC) and "503" in saga["last_error"]
    assert await worker.run_one() is None  # not due yet


async def test_a_registry_refusal_is_answered_with_the_registrys_reason(environment, pool, saga_world):
    consumer, worker = saga_world
    message_id = await _queue(environment, consumer, 32, 3)
    StandIn.behaviour = "refuse"
    handled = await worker.run_one()
    assert handled.outcome == "rejected" and handled.codes == ("REGISTRY-REJECTED",)
    saga, inbox, results = await _row(pool, message_id)
    assert (saga["state"], saga["last_error"], inbox["status"], results) == (
        "failed-permanent",
        "REGISTRY-ON-HOLD",
        "rejected",
        1,
    )
    async with pool.acquire() as conn:
        value = await conn.fetchval("SELECT value FROM outbox WHERE headers ->> 'correlation-id' = $1", message_id)
    assert "under correction" in value.decode()


async def test_two_workers_never_carry_out_one_saga_at_the_same_time(environment, pool, saga_world):
    consumer, worker = saga_world
    await _queue(environment, consumer, 33, 4)
    StandIn.behaviour = "stall"
    first, second = await asyncio.gather(worker.run_one(), worker.run_one())
    assert sorted([first is None, second is None]) == [False, True]
    assert StandIn.calls == 1


async def test_a_message_id_resent_while_its_saga_waits_gets_the_same_result_again(environment, pool, saga_world):
    consumer, worker = saga_world
    home = (await households(environment.settings.dsn, 40))[34]
    raw = json.dumps(build_notification(birth(home, "103578001"))).encode()
    assert (
        await consumer.handle(raw, trust.delivered(environment.settings.topics, raw, 1, 1))
    ).outcome == "registry-pending"
    assert (
        await consumer.handle(raw, trust.delivered(environment.settings.topics, raw, 1, 2))
    ).outcome == "resent-result"
    handled = await worker.run_one()
    async with pool.acquire() as conn:
        copies = await conn.fetch(
            "SELECT event_id FROM outbox WHERE headers ->> 'correlation-id' = $1 AND topic LIKE '%birth.result.v1.%'",
            handled.message_id,
        )
    assert len(copies) == 2 and len({c["event_id"] for c in copies}) == 1
