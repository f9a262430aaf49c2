"""Retention of personal data (issue #8): bodies go after the retention period, the trail stays.

On the real PostgreSQL: results, civil events, a decided review case and a decided correction
proposal older than the period lose their bodies (a dry run only counts them; an open proposal and
one decided recently keep theirs), the purge is audited, a second purge finds nothing, and a
hospital that re-sends a message id afterwards gets the same status and codes again, marked
RESULT-EXPIRED, under the original event id.
"""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from hub.bootstrap import purge_personal_data, registration_handler
from hub.config import Topics
from hub.devtools.simulation.bundles import Parent, build_notification
from hub.service.ports import Delivery
from tests.support import trust
from tests.support.kafka import codes_of, status_of
from tests.support.people import birth, households

pytestmark = [pytest.mark.postgres, pytest.mark.faults]
HOSPITAL = "103578001"
ACTOR = "tests@retention"


def _delivery(raw: bytes, topics: Topics) -> Delivery:
    return trust.delivered(topics, raw, 0, uuid.uuid4().int % 10**9)


async def _age_everything(dsn: str) -> None:
    """Make every finished row older than the retention period, as time would."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE outbox SET sent_at = now() - interval '40 days'")
        await conn.execute("UPDATE reviews SET status = 'rejected', decided_at = now() - interval '40 days'")
    finally:
        await conn.close()


async def _proposals(pool: asyncpg.Pool) -> dict[str, int]:
    """Correction proposals: one decided long ago, one decided yesterday, one open for long."""
    names = json.dumps({"child_name": "Nama Usulan", "mother_name": "Ibu Usulan"})
    ids = {}
    for label, status, decided in (
        ("old", "approved", "now() - interval '40 days'"),
        ("recent", "rejected", "now() - interval '1 day'"),
        ("open", "open", "NULL"),
    ):
        ids[label] = await pool.fetchval(
            f"""INSERT INTO correction_proposals (akta_number, changes, reason, proposed_by, proposed_at,
                                                   status, decided_by, decided_at)
                VALUES ('3578-LT-01012026-0001', $1, 'salah ketik', 'ana', now() - interval '41 days',
                        $2, CASE WHEN $2 = 'open' THEN NULL ELSE 'budi' END, {decided})
                RETURNING id""",
            names,
            status,
        )
    return ids


async def test_bodies_go_after_the_period_and_a_resent_id_gets_an_expired_result(environment, pool):
    homes = await households(environment.settings.dsn, 2)
    registered = birth(homes[0], HOSPITAL)
    reviewed = birth(homes[1], HOSPITAL, father=Parent("3578011203880009", "Ayah Tak Dikenal"))
    raw = {spec.message_id: json.dumps(build_notification(spec)).encode() for spec in (registered, reviewed)}
    handler = registration_handler(environment.settings, pool)
    first = await handler.handle_batch(
        [(value, _delivery(value, environment.settings.topics)) for value in raw.values()]
    )
    assert [str(h.outcome) for h in first] == ["registered", "review-pending"]
    await _age_everything(environment.settings.dsn)
    proposals = await _proposals(pool)

    planned = await purge_personal_data(environment.settings, pool, ACTOR, dry_run=True)
    assert planned["outbox"] >= 4 and planned["reviews"] == 1  # 2 results + civil events, 1 case
    assert planned["correction_proposals"] == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE value IS NULL") == 0

    removed = await purge_personal_data(environment.settings, pool, ACTOR)
    assert removed == planned
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE value IS NOT NULL OR key IS NOT NULL") == 0
    assert await pool.fetchval("SELECT count(*) FROM reviews WHERE document IS NOT NULL") == 0
    kept = {
        row["id"]: (json.loads(row["changes"]), row["purged_at"] is not None)
        for row in await pool.fetch("SELECT id, changes, purged_at FROM correction_proposals")
    }
    assert kept[proposals["old"]] == ({}, True), "a proposal decided long ago loses the proposed names"
    assert kept[proposals["recent"]][0] and kept[proposals["open"]][0], "recent and open proposals keep them"
    assert not kept[proposals["recent"]][1] and not kept[proposals["open"]][1]
    audited = await pool.fetchrow("SELECT actor, details FROM audit_log WHERE action = 'retention-purge'")
    assert audited["actor"] == ACTOR and json.loads(audited["details"]) == removed
    assert set((await purge_personal_data(environment.settings, pool, ACTOR)).values()) == {0}

    original = await pool.fetchval(
        "SELECT result_event_id::text FROM inbox WHERE message_id = $1", registered.message_id
    )
    again = await handler.handle_batch(
        [(raw[registered.message_id], _delivery(raw[registered.message_id], environment.settings.topics))]
    )
    assert str(again[0].outcome) == "resent-result"
    row = await pool.fetchrow(
        "SELECT value, headers FROM outbox WHERE event_id = $1::uuid AND value IS NOT NULL", original
    )
    result = json.loads(row["value"])
    assert status_of(result) == "registered" and "RESULT-EXPIRED" in codes_of(result)
    assert result["entry"][0]["resource"]["response"]["identifier"] == registered.message_id
    assert json.loads(row["headers"])["event-id"] == original
