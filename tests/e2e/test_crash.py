"""kill -9 the hub in the middle of a few hundred notifications, restart it, and lose nothing.

After the restart every notification has exactly one result (one distinct event id; the relay
may re-publish an identical copy, which consumers drop by event id) and exactly one registration.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

import asyncpg
import pytest

from hub.devtools.simulation.bundles import build_notification
from tests.support.hub_process import HubProcess
from tests.support.kafka import Collected, collect, publish
from tests.support.people import birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
FAMILIES = 200
HOSPITAL = "103578001"


def _notifications(homes):
    specs = [birth(home, HOSPITAL) for home in homes[:150]]
    for home in homes[150:175]:
        encounter = "TW-" + uuid.uuid4().hex[:10]
        specs += [birth(home, HOSPITAL, encounter_id=encounter, birth_order=n, plurality=2) for n in (1, 2)]
    specs += [birth(homes[175 + i % 25], HOSPITAL, child_name="Bayi Ny. Contoh") for i in range(100)]
    return specs


async def _answered(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM inbox")
    finally:
        await conn.close()


@pytest.mark.timeout(300)  # measured 36-96 s when passing; two hub starts (60 s each at most) and a 120 s collect
async def test_kill_9_mid_batch_loses_nothing_and_doubles_nothing(environment, tmp_path):
    settings, topics = environment.settings, environment.settings.topics
    specs = _notifications(await households(settings.dsn, FAMILIES))
    hub = HubProcess(environment.env(), tmp_path / "hub.log")
    hub.start()
    await publish(
        settings.kafka_bootstrap,
        topics.notifications,
        [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in specs],
    )
    while await _answered(settings.dsn) < 40:
        await asyncio.sleep(0.02)
    hub.kill_hard()
    at_kill = await _answered(settings.dsn)
    assert at_kill < len(specs), "the hub finished before the kill: the test did not crash it mid-batch"

    hub.start()
    try:

        def done(c: Collected) -> bool:
            registered = {r.headers["event-id"] for r in c.on(topics.births_registered)}
            return len(c.results_by_message(topics)) >= len(specs) and len(registered) >= 200

        collected = await collect(settings.kafka_bootstrap, [topics.results, *topics.all()], until=done, timeout=120)
    finally:
        assert hub.stop() == 0

    results = collected.results_by_message(topics)
    assert set(results) == {s.message_id for s in specs}
    assert all(len({r.headers["event-id"] for r in copies}) == 1 for copies in results.values())
    conn = await asyncpg.connect(settings.dsn)
    try:
        births = await conn.fetchval("SELECT count(*) FROM births")
        per_message = await conn.fetchval(
            "SELECT count(*) FROM (SELECT message_id FROM births GROUP BY 1 HAVING count(*) > 1) d"
        )
        inbox = await conn.fetchval("SELECT count(*) FROM inbox")
        unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    finally:
        await conn.close()
    assert births == 200 and per_message == 0
    assert inbox == len(specs) and unsent == 0
    registered = Counter(r.headers["event-id"] for r in collected.on(topics.births_registered))
    assert len(registered) == 200
    statuses = Counter(
        r.json()["entry"][0]["resource"]["extension"][0]["valueCode"] for copies in results.values() for r in copies[:1]
    )
    assert statuses == {"registered": 200, "rejected": 100}
    print(
        f"killed after {at_kill} of {len(specs)}; result copies re-published: "
        f"{sum(len(c) - 1 for c in results.values())}"
    )
