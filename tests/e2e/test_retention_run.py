"""`hub run` purges what the retention period releases by itself, and audits it."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from hub.bootstrap import open_pool, registration_handler
from hub.devtools.simulation.bundles import build_notification
from tests.support import trust
from tests.support.hub_process import HubProcess
from tests.support.people import birth, households

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.faults]
REGISTRIES = ("embedded",)


async def test_the_running_hub_purges_expired_bodies_and_audits_it(environment, tmp_path):
    settings = environment.settings
    pool = await open_pool(settings)
    try:
        spec = birth((await households(settings.dsn, 1))[0], "103578001")
        handler = registration_handler(settings, pool)
        raw = json.dumps(build_notification(spec)).encode()
        delivery = trust.delivered(settings.topics, raw, 0, uuid.uuid4().int % 10**9)
        await handler.handle_batch([(raw, delivery)])
        await pool.execute("UPDATE outbox SET sent_at = now() - interval '40 days'")
    finally:
        await pool.close()
    hub = HubProcess(environment.env(HUB_RETENTION_PURGE_SECONDS="1"), tmp_path / "hub.log")
    hub.start()
    conn = await asyncpg.connect(settings.dsn)
    try:

        async def purged_and_audited() -> str | None:
            """The purge's audit row, once every expired row is purged (the audit row commits after)."""
            left = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE purged_at IS NULL AND sent_at < now() - interval '30 days'"
            )
            actor = await conn.fetchval("SELECT actor FROM audit_log WHERE action = 'retention-purge'")
            return actor if left == 0 else None

        actor = None
        for _ in range(120):
            if (actor := await purged_and_audited()) is not None:
                break
            await asyncio.sleep(0.25)
        assert actor is not None and actor.startswith("hub run@")
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE value IS NULL AND purged_at IS NOT NULL") >= 3
    finally:
        await conn.close()
        hub.stop()
