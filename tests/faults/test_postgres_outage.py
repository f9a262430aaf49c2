"""PostgreSQL restarts ten times and turns read-only under load; the hub waits and heals by itself.

A private cluster (tests/support/private_postgres.py, on a fixed port below the ephemeral range)
is restarted while notifications arrive, then made read-only for 20 s, as an operator or a full
disk would (`ALTER SYSTEM SET default_transaction_read_only`). The hub never exits: each failed
transaction is retried, /readyz names the database meanwhile, and exactly-once holds at the end
(every notification one result with one event id, every birth one registration). A hub started
while the cluster is read-only waits for it instead of exiting.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from hub.adapters.postgres.database import migrate
from hub.bootstrap import open_pool
from hub.config import Settings
from hub.devtools.seed import seed_population
from tests.faults.traffic import HOSPITAL, as_messages, fetchval
from tests.support.environment import BOOTSTRAP, RUNTIME_ROLE, Environment, as_owner, as_role
from tests.support.hub_process import HubProcess
from tests.support.kafka import collect, publish, status_of
from tests.support.people import birth, households
from tests.support.ports import low_ports
from tests.support.private_postgres import PrivatePostgres
from tests.support.scrape import eventually, readiness
from tests.support.trust import secure_environment

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
RESTARTS = 10
READ_ONLY_SECONDS = 20
FAMILIES = 130


@pytest.fixture(scope="module")
def database():
    cluster = PrivatePostgres("restarts-" + uuid.uuid4().hex[:6], port=low_ports(1)[0])
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture(scope="module")
async def environment(database):
    name = "t_pg_outage_" + uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=BOOTSTRAP,
        database_url=database.dsn,
        database_owner_url=as_owner(database.dsn),
        topic_prefix=f"{name}.",
        consumer_group=f"{name}-hub",
    )
    owner = await asyncpg.connect(settings.owner_dsn)
    try:
        await migrate(owner, runtime_role=RUNTIME_ROLE)
    finally:
        await owner.close()
    pool = await open_pool(settings)
    try:
        await seed_population(pool, families=FAMILIES, seed_value=23)
        await secure_environment(settings, pool)
    finally:
        await pool.close()
    return Environment(name, settings)


async def _read_only(database: PrivatePostgres, on: bool) -> None:
    """The whole cluster refuses writes (or takes them again), as the superuser would set it."""
    admin = await asyncpg.connect(as_role(database.dsn, "postgres").rsplit("/", 1)[0] + "/postgres")
    try:
        if on:
            await admin.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            await admin.execute("ALTER SYSTEM RESET default_transaction_read_only")
        await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()


def _database_ready(base: str) -> bool | None:
    return readiness(base)[1].get("dependencies", {}).get("database", {}).get("ok")


async def _publish_in_waves(settings: Settings, specs, waves: int, every: float) -> None:
    size = -(-len(specs) // waves)
    for start in range(0, len(specs), size):
        await publish(settings.kafka_bootstrap, settings.topics.notifications, as_messages(specs[start : start + size]))
        await asyncio.sleep(every)


async def _restart(database: PrivatePostgres, times: int) -> None:
    for _ in range(times):
        await asyncio.sleep(2.5)
        await asyncio.to_thread(database.stop)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(database.start)


@pytest.mark.timeout(420)
async def test_restarts_and_a_read_only_spell_neither_stop_the_hub_nor_break_exactly_once(
    environment, database, tmp_path
):
    settings, topics = environment.settings, environment.settings.topics
    homes = await households(settings.dsn, FAMILIES)
    specs = [birth(home, HOSPITAL) for home in homes[:90]]
    specs += [birth(homes[i], HOSPITAL, child_name="Bayi Ny. Contoh") for i in range(30)]
    while_read_only = [birth(home, HOSPITAL) for home in homes[90:110]]
    last = [birth(home, HOSPITAL) for home in homes[110:FAMILIES]]
    metrics_port = low_ports(1)[0]
    base = f"http://127.0.0.1:{metrics_port}"
    env = environment.env(HUB_METRICS_PORT=str(metrics_port), HUB_METRICS_SAMPLE_SECONDS="1")
    hub = HubProcess(env, tmp_path / "hub.log")
    hub.start()
    try:
        publishing = asyncio.ensure_future(_publish_in_waves(settings, specs, waves=13, every=2.5))
        await _restart(database, RESTARTS)
        await publishing

        await _read_only(database, on=True)
        assert await eventually(lambda: _database_ready(base) is False, timeout=20), readiness(base)
        await publish(settings.kafka_bootstrap, topics.notifications, as_messages(while_read_only))
        await asyncio.sleep(READ_ONLY_SECONDS)
        assert hub.process.poll() is None, hub.log_text()[-3000:]
        await _read_only(database, on=False)
        assert await eventually(lambda: readiness(base)[0] == 200, timeout=60), readiness(base)
    finally:
        first_exit = hub.stop()
    assert first_exit == 0, hub.log_text()[-3000:]

    await _read_only(database, on=True)
    second = HubProcess(env, tmp_path / "hub-2.log")
    starting = asyncio.ensure_future(asyncio.to_thread(second.start, 120))
    try:
        await asyncio.sleep(8)
        assert not starting.done() and second.process.poll() is None, second.log_text()[-3000:]
        await _read_only(database, on=False)
        await starting
        await publish(settings.kafka_bootstrap, topics.notifications, as_messages(last))
        wanted = {s.message_id for s in specs + while_read_only + last}
        collected = await collect(
            settings.kafka_bootstrap,
            [topics.results],
            until=lambda c: wanted <= set(c.results_by_message(topics)),
            timeout=180,
        )
    finally:
        assert second.stop() == 0, second.log_text()[-3000:]

    results = collected.results_by_message(topics)
    assert set(results) == wanted, f"{len(wanted - set(results))} notifications without a result"
    assert all(len({r.headers["event-id"] for r in found}) == 1 for found in results.values())
    statuses = [status_of(found[0].json()) for found in results.values()]
    assert statuses.count("registered") == FAMILIES and statuses.count("rejected") == 30
    assert await fetchval(settings.dsn, "SELECT count(*) FROM inbox") == len(wanted)
    assert await fetchval(settings.dsn, "SELECT count(*) FROM births") == FAMILIES
    twice = "SELECT count(*) FROM (SELECT 1 FROM births GROUP BY message_id HAVING count(*) > 1) d"
    assert await fetchval(settings.dsn, twice) == 0
