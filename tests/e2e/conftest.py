"""End-to-end fixtures: a private environment and the hub running as its own process.

Every e2e module runs once per civil-registry adapter (embedded, and SIAK over HTTP against the
reference server), unless it names its own `REGISTRIES`. With `siak-http` the reference server
serves the same database the test seeds, so the tests read the registry's rows the same way.
"""

from __future__ import annotations

import pytest

from hub.adapters.kafka.topics import ensure_topics
from hub.bootstrap import open_pool, seed_population
from tests.support.environment import create_environment, drop_environment
from tests.support.hub_process import HubProcess
from tests.support.siak_process import SiakProcess

REGISTRIES = ("embedded", "siak-http")


def pytest_generate_tests(metafunc):
    if "environment" in metafunc.fixturenames:
        registries = getattr(metafunc.module, "REGISTRIES", REGISTRIES)
        metafunc.parametrize("environment", registries, indirect=True, scope="module")


@pytest.fixture(scope="module")
async def environment(request, tmp_path_factory):
    env = await create_environment(request.module.__name__.rsplit(".", 1)[-1][:20])
    pool = await open_pool(env.settings)
    try:
        await seed_population(pool, families=request.module.__dict__.get("FAMILIES", 60), seed_value=11)
    finally:
        await pool.close()
    await ensure_topics(env.settings.kafka_bootstrap, env.settings.topics, env.settings.notification_partitions)
    siak = None
    if request.param == "siak-http":
        siak = SiakProcess(env.settings.dsn, tmp_path_factory.mktemp("siak") / "siak.log", env.env())
        siak.start()
        env.extra.update(HUB_REGISTRY="siak-http", HUB_SIAK_URL=siak.url, HUB_SIAK_TIMEOUT_SECONDS="2",
                         HUB_SIAK_BREAKER_RESET_SECONDS="2", HUB_SAGA_RETRY_MAX_SECONDS="2")
    env.siak = siak
    yield env
    if siak is not None:
        siak.stop()
    await drop_environment(env)


@pytest.fixture(scope="module")
def hub_process(environment, tmp_path_factory):
    hub = HubProcess(environment.env(), tmp_path_factory.mktemp("hub") / "hub.log")
    hub.start()
    yield hub
    if hub.process.poll() is None:
        hub.stop()
