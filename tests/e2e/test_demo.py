"""`hub demo` against the hub process on the secured broker: it publishes as each hospital would
(the hospital's own Kafka user, its own topic, signed), reads each hospital's results as that
hospital, and a registry's hospitals without credentials get them on first use (development).

Kafka users of hospitals are not per test run (`hospital-<org>`), so this module's hospitals have
organisation ids of their own, and the seeded ones are disabled in its database; their Kafka
access is removed at the end.
"""

from __future__ import annotations

import io
import re
import uuid

import asyncpg
import pytest
from rich.console import Console

from hub.bootstrap import hospital_desk
from hub.devtools.simulation.demo import run_demo
from tests.support.hub_process import HubProcess

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
REGISTRIES = ("embedded",)
FAMILIES = 30
BIRTHS = 8


@pytest.fixture(scope="module")
async def own_hospitals(environment):
    """Two hospitals as `hub seed` stores them (no key, no Kafka user), the only active ones."""
    orgs = [f"9{uuid.uuid4().int % 10**9:09d}" for _ in range(2)]
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        await conn.execute("UPDATE hospitals SET active = false")
        await conn.executemany(
            "INSERT INTO hospitals (org_id, name, regency, active) VALUES ($1, $2, '3273', true)",
            [(org, f"RS Demo {org}") for org in orgs],
        )
    finally:
        await conn.close()
    yield orgs
    async with hospital_desk(environment.settings) as desk:
        for org in orgs:
            await desk.disable(org, "e2e", "test hospital: its Kafka user and ACLs go")


@pytest.fixture(scope="module")
def hub_process(environment, own_hospitals, tmp_path_factory):
    """The hub, started once this module's hospitals are registered (it makes their topics)."""
    hub = HubProcess(environment.env(), tmp_path_factory.mktemp("hub") / "hub.log")
    hub.start()
    yield hub
    if hub.process.poll() is None:
        hub.stop()


def _figure(output: str, name: str) -> int:
    found = re.search(rf"^\s*{name}\s+(\d+)\s*$", output, re.MULTILINE)
    assert found, f"no {name!r} in the demo's summary:\n{output}"
    return int(found.group(1))


async def _demo(settings) -> str:
    shown = io.StringIO()
    console = Console(file=shown, width=160, force_terminal=False)
    await run_demo(settings, births=BIRTHS, rate=20, invalid_share=0.0, seed=5, console=console)
    return shown.getvalue()


async def test_the_demo_publishes_as_each_hospital_and_reads_its_answers(
    environment, own_hospitals, hub_process, tmp_path
):
    settings = environment.settings.model_copy(update={"hospital_secrets_dir": tmp_path / "hospitals"})
    first = await _demo(settings)
    assert "development credentials" in first, first
    assert (_figure(first, "sent"), _figure(first, "answered"), _figure(first, "unanswered")) == (BIRTHS, BIRTHS, 0)
    assert _figure(first, "rejected") == 0, first
    assert "refused by Kafka" not in first, first
    used = {p.name for p in (tmp_path / "hospitals").iterdir()}
    assert used and used <= set(own_hospitals)
    for org in used:
        names = {p.name for p in (tmp_path / "hospitals" / org).iterdir()}
        assert {"kafka.password", "signing-key.pem", "signing-key.kid"} <= names

    again = await _demo(settings)
    assert "development credentials" not in again, "the second run uses what the first one made"
    assert (_figure(again, "answered"), _figure(again, "unanswered")) == (BIRTHS, 0), again
