"""End-to-end fixtures: a private environment and the hub running as its own process."""

from __future__ import annotations

import pytest

from hub.adapters.kafka.topics import ensure_topics
from hub.bootstrap import open_pool, seed_population
from tests.support.environment import create_environment, drop_environment
from tests.support.hub_process import HubProcess


@pytest.fixture(scope="module")
async def environment(request):
    env = await create_environment(request.module.__name__.rsplit(".", 1)[-1][:20])
    pool = await open_pool(env.settings)
    try:
        await seed_population(pool, families=request.module.__dict__.get("FAMILIES", 60), seed_value=11)
    finally:
        await pool.close()
    await ensure_topics(env.settings.kafka_bootstrap, env.settings.topics, env.settings.notification_partitions)
    yield env
    await drop_environment(env)


@pytest.fixture(scope="module")
def hub_process(environment, tmp_path_factory):
    hub = HubProcess(environment.env(), tmp_path_factory.mktemp("hub") / "hub.log")
    hub.start()
    yield hub
    if hub.process.poll() is None:
        hub.stop()
