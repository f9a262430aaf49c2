"""Readiness and the circuit-breaker gauge follow the dependencies, and the hub waits them out.

The registry (the reference SIAK server) is stopped under traffic: the breaker gauge opens and
/readyz names the registry; once it is back, readiness recovers and the births are registered.
A PostgreSQL cluster of the hub's own is stopped and started again: /readyz says the database is
unreachable meanwhile, recovers by itself, and the process never exits.
"""

from __future__ import annotations

import json
import uuid

import pytest

from hub.config import Settings
from hub.devtools.simulation.bundles import build_notification
from tests.support.environment import BOOTSTRAP, Environment
from tests.support.hub_process import HubProcess
from tests.support.kafka import collect, publish, status_of
from tests.support.people import birth, households
from tests.support.private_postgres import PrivatePostgres
from tests.support.scrape import eventually, readiness, scrape, value
from tests.support.siak_process import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
REGISTRIES = ("siak-http",)
HOSPITAL = "103578001"


def _observed(env: dict[str, str], log) -> tuple[HubProcess, str]:
    port = free_port()
    hub = HubProcess({**env, "HUB_METRICS_PORT": str(port), "HUB_METRICS_SAMPLE_SECONDS": "0.5"}, log)
    hub.start()
    return hub, f"http://127.0.0.1:{port}"


def _dependency(base: str, name: str) -> bool | None:
    return readiness(base)[1].get("dependencies", {}).get(name, {}).get("ok")


@pytest.mark.allow_errors  # the hub logs the registry's failures while it is down
async def test_a_stopped_registry_opens_the_breaker_and_readiness_recovers(environment, tmp_path):
    hub, base = _observed(environment.env(HUB_SIAK_BREAKER_FAILURES="2"), tmp_path / "hub.log")
    try:
        assert await eventually(lambda: readiness(base)[0] == 200, timeout=30), readiness(base)
        assert value(scrape(base), "hub_circuit_breaker_state", dependency="registry") == 0
        environment.siak.stop()
        homes = await households(environment.settings.dsn, 4)
        specs = [birth(home, HOSPITAL) for home in homes]
        await publish(
            environment.settings.kafka_bootstrap,
            environment.settings.topics.notifications,
            [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in specs],
        )
        assert await eventually(
            lambda: value(scrape(base), "hub_circuit_breaker_state", dependency="registry") == 2, timeout=60
        ), scrape(base)
        assert await eventually(lambda: _dependency(base, "registry") is False, timeout=10), readiness(base)
        status, body = readiness(base)
        assert status == 503 and body["dependencies"]["database"]["ok"]
        assert await eventually(lambda: value(scrape(base), "hub_registry_sagas", state="failed-retrying") >= 1, 30)

        environment.siak.start()
        assert await eventually(lambda: readiness(base)[0] == 200, timeout=30), readiness(base)
        topics = environment.settings.topics
        wanted = {s.message_id for s in specs}
        collected = await collect(
            environment.settings.kafka_bootstrap,
            [topics.results],
            until=lambda c: wanted <= set(c.results_by_message(topics)),
            timeout=90,
        )
        results = collected.results_by_message(topics)
        assert {status_of(results[m][0].json()) for m in wanted} == {"registered"}
        assert await eventually(
            lambda: value(scrape(base), "hub_circuit_breaker_state", dependency="registry") == 0, timeout=30
        )
        assert hub.process.poll() is None
    finally:
        if environment.siak.process is None or environment.siak.process.poll() is not None:
            environment.siak.start()
        hub.stop()


@pytest.mark.allow_errors  # connections lost while the database stops may be logged
async def test_readiness_follows_a_stopped_database_and_the_hub_waits_it_out(tmp_path):
    database = PrivatePostgres("readiness-" + uuid.uuid4().hex[:6])
    database.start()
    name = "t_ready_" + uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=BOOTSTRAP, database_url=database.dsn, topic_prefix=f"{name}.", consumer_group=f"{name}-hub"
    )
    hub, base = _observed(Environment(name, settings).env(), tmp_path / "hub.log")
    try:
        assert await eventually(lambda: readiness(base)[0] == 200, timeout=30), readiness(base)
        database.stop()
        assert await eventually(lambda: _dependency(base, "database") is False, timeout=15), readiness(base)
        assert readiness(base)[0] == 503
        assert value(scrape(base), "hub_dependency_ready", dependency="database") == 0
        database.start()
        assert await eventually(lambda: readiness(base)[0] == 200, timeout=60), readiness(base)
        assert hub.process.poll() is None, hub.log_text()[-3000:]
    finally:
        hub.stop()
        database.remove()
