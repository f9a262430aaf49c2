"""The broker stops for a minute while the hub is busy; the hub waits and heals by itself.

A private broker (tests/support/private_kafka.py) is stopped while the relay publishes, and
started again 60 s later. Meanwhile /readyz reports the broker, the process stays up and the
Kafka client's complaints are collapsed to a few lines. Afterwards every outbox row reaches its
topic, the consumer takes new notifications, and the only copies are of records that were in
flight when the broker went away (at most one relay batch), each with the same event id.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from hub.bootstrap import open_pool
from hub.devtools.seed import seed_population
from tests.faults.traffic import (
    HOSPITAL,
    as_messages,
    copies,
    delivered_all,
    fetchval,
    library_lines,
    log_since,
    outbox_event_ids,
)
from tests.support.environment import create_environment, drop_environment
from tests.support.hub_process import HubProcess
from tests.support.kafka import collect, publish
from tests.support.people import birth, households
from tests.support.ports import low_ports
from tests.support.private_kafka import PrivateKafka
from tests.support.scrape import eventually, readiness
from tests.support.trust import secure_environment

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
OUTAGE_SECONDS = 60
RELAY_BATCH = 50  # what can be in flight at once: the bound on re-published copies
LIBRARY_LINES_MAX = 40  # aiokafka logs thousands a second without the collapsing filter
FIRST, FAMILIES = 100, 120  # births before the outage; the rest of the families' births come after it


@pytest.fixture(scope="module")
def broker():
    kafka = PrivateKafka("outage-" + uuid.uuid4().hex[:6])
    kafka.start()
    yield kafka
    kafka.remove()


@pytest.fixture(scope="module")
async def environment(broker):
    env = await create_environment("broker_outage")
    env.settings = env.settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
    pool = await open_pool(env.settings)
    try:
        await seed_population(pool, families=FAMILIES, seed_value=17)
        await secure_environment(env.settings, pool)
    finally:
        await pool.close()
    yield env
    await drop_environment(env)


def _kafka_ready(base: str) -> bool | None:
    return readiness(base)[1].get("dependencies", {}).get("kafka", {}).get("ok")


@pytest.mark.allow_errors  # aiokafka reports the lost broker at ERROR: the first of each kind, then summaries
@pytest.mark.timeout(400)
async def test_a_minute_without_the_broker_delays_results_but_loses_and_wedges_nothing(environment, broker, tmp_path):
    settings, topics = environment.settings, environment.settings.topics
    homes = await households(settings.dsn, FAMILIES)
    first = [birth(home, HOSPITAL) for home in homes[:FIRST]]
    first += [birth(homes[i], HOSPITAL, child_name="Bayi Ny. Contoh") for i in range(50)]
    later = [birth(home, HOSPITAL) for home in homes[FIRST:FAMILIES]]
    metrics_port = low_ports(1)[0]
    base, log_path = f"http://127.0.0.1:{metrics_port}", tmp_path / "hub.log"
    hub = HubProcess(
        environment.env(
            HUB_RELAY_BATCH=str(RELAY_BATCH),
            HUB_METRICS_PORT=str(metrics_port),
            HUB_METRICS_SAMPLE_SECONDS="1",
        ),
        log_path,
    )
    hub.start()
    try:
        assert await eventually(lambda: readiness(base)[0] == 200, timeout=60), readiness(base)
        await publish(broker.bootstrap, topics.notifications, as_messages(first))
        while await fetchval(settings.dsn, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL") < 40:
            await asyncio.sleep(0.02)

        broker.stop()
        stopped, log_mark = time.monotonic(), log_path.stat().st_size
        assert await eventually(lambda: _kafka_ready(base) is False, timeout=30), readiness(base)
        assert readiness(base)[0] == 503
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        assert hub.process.poll() is None, hub.log_text()[-3000:]
        during = library_lines(log_since(log_path, log_mark))
        broker.start()

        assert await eventually(lambda: readiness(base)[0] == 200, timeout=90), readiness(base)
        await publish(broker.bootstrap, topics.notifications, as_messages(later))
        wanted = {s.message_id for s in first + later}
        collected = await collect(
            broker.bootstrap,
            [topics.results, *topics.all()],
            until=lambda c: wanted <= set(c.results_by_message(topics)),
            timeout=120,
        )
        owed = await outbox_event_ids(settings.dsn)
        if not delivered_all(collected, owed):  # the civil events may trail the last result by a moment
            collected = await collect(
                broker.bootstrap, [topics.results, *topics.all()], until=lambda c: delivered_all(c, owed), timeout=30
            )
        unsent = await fetchval(settings.dsn, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        assert hub.process.poll() is None, hub.log_text()[-3000:]
    finally:
        hub.stop()

    results = collected.results_by_message(topics)
    assert set(results) == wanted, f"{len(wanted - set(results))} notifications without a result"
    assert all(len({r.headers["event-id"] for r in found}) == 1 for found in results.values())
    assert delivered_all(collected, owed) and unsent == 0
    published = copies(collected, topics)
    assert set(published) == set().union(*owed.values())
    extra = {event: n - 1 for event, n in published.items() if n > 1}
    print(
        f"outbox rows {len(published)}, re-published {len(extra)} of them ({sum(extra.values())} extra copies, "
        f"at most {max(extra.values(), default=1) + 1} per event id); library log lines during the outage "
        f"{len(during)}"
    )
    assert sum(extra.values()) <= RELAY_BATCH and max(extra.values(), default=0) <= 1, extra
    assert len(during) <= LIBRARY_LINES_MAX, "\n".join(during[:20])
