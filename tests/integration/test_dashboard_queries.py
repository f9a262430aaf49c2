"""The dashboard's read model on the real PostgreSQL (hub/adapters/postgres/dashboard.py).

Inbox rows placed at chosen moments of a far-off day check the day's edges in WIB, the hour
buckets, the hospitals and regencies, the rejection codes (messages per code) and that a
document correction does not count a birth again; births handled by the real pipeline are counted
in the hour they were registered; the backlogs and the circuit breakers are read as they are now.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hub.adapters.postgres.dashboard import PostgresDashboard
from hub.adapters.regions import region_name
from hub.bootstrap import registration_handler
from hub.devtools.simulation.bundles import Parent, build_notification
from hub.service.dashboard import ZONE, Dashboard, day_bounds
from tests.support import trust
from tests.support.people import birth, households

pytestmark = pytest.mark.postgres

DAY = datetime(2031, 1, 15, tzinfo=ZONE)  # 00:00 WIB; no other row of this module falls on it
KK = "3578010101990009"


class NoLag:
    async def sample(self) -> dict[tuple[str, int], tuple[int, float]]:
        return {("dash.birth.notification.v1.101271001", 0): (0, 0.0)}

    async def close(self) -> None:
        pass


async def _hospitals(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    rows = await pool.fetch("SELECT org_id, name, regency FROM hospitals WHERE active ORDER BY regency DESC, org_id")
    first = rows[0]
    other = next(r for r in rows if r["regency"] != first["regency"])
    return [first, other]


async def _inbox(
    conn, hospital: str, status: str, at: datetime, codes: tuple[str, ...] = (), sequence: int = 1, message: str = ""
) -> str:
    message = message or f"DASH-{uuid.uuid4().hex[:12]}"
    await conn.execute(
        """INSERT INTO inbox (message_id, hospital_id, status, codes, result_event_id, topic, partition, "offset",
                              processed_at, updated_at, result_sequence)
           VALUES ($1, $2, $3, $4, $5, 'dash.notifications', 0, $6, $7, $7, $8)""",
        message,
        hospital,
        status,
        list(codes),
        uuid.uuid4(),
        uuid.uuid4().int % 10**9,
        at,
        sequence,
    )
    return message


async def _job(conn, hospital: str, message: str, sequence: int, reason: str, state: str, created: datetime) -> None:
    await conn.execute(
        """INSERT INTO document_jobs (hospital_id, message_id, sequence, reason, kk_number, request, state, created_at,
                                      done_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, CASE WHEN $7 = 'done' THEN $8::timestamptz END)""",
        hospital,
        message,
        sequence,
        reason,
        KK,
        json.dumps({}),
        state,
        created,
    )


async def test_a_day_in_wib_is_counted_per_hour_hospital_regency_and_code(pool):
    a, b = await _hospitals(pool)
    at = lambda hours, minutes=0, seconds=0: DAY + timedelta(hours=hours, minutes=minutes, seconds=seconds)  # noqa: E731
    async with pool.acquire() as conn, conn.transaction():
        for moment in (at(0, 10), at(9, 5), at(9, 55)):
            await _inbox(conn, a["org_id"], "registered", moment)
        await _inbox(conn, b["org_id"], "registered", at(23, 59, 59))
        await _inbox(conn, a["org_id"], "registered", at(24))  # 00:00 WIB the next day
        await _inbox(conn, a["org_id"], "registered", at(0, 0, -1))  # 23:59:59 WIB the day before
        await _inbox(conn, a["org_id"], "rejected", at(10), ("MOTHER-NOT-FOUND", "KK-NOT-FOUND"))
        await _inbox(conn, b["org_id"], "rejected", at(11), ("MOTHER-NOT-FOUND", "MOTHER-NOT-FOUND"))
        await _inbox(conn, "", "rejected", at(12), ("SENDER-UNKNOWN",))
        await _inbox(conn, a["org_id"], "review-pending", at(13))
        await _inbox(conn, a["org_id"], "stillbirth-recorded", at(13))
        # registered earlier, its akta corrected today: not a registration of today
        corrected = await _inbox(conn, a["org_id"], "registered", at(14), sequence=2)
        await _job(conn, a["org_id"], corrected, 1, "registration", "done", at(-30))
        await _job(conn, a["org_id"], corrected, 2, "correction", "done", at(14))
        # a review approved today: its second answer is today's registration
        approved = await _inbox(conn, b["org_id"], "registered", at(15), sequence=2)
        await _job(conn, b["org_id"], approved, 2, "registration", "done", at(15))
        await conn.execute(
            """INSERT INTO dead_letters (topic, partition, "offset", reason, recorded_at)
               VALUES ('dash.notifications', 1, 1, 'DLQ-NOT-JSON', $1), ('dash.notifications', 1, 2, 'DLQ-NOT-JSON', $2)""",
            at(8),
            at(-1),
        )

    counts = await PostgresDashboard(pool).day(DAY, DAY + timedelta(days=1))
    registered = {(c.hospital_id, c.hour): c.count for c in counts.answers if c.status == "registered"}
    assert registered == {(a["org_id"], 0): 1, (a["org_id"], 9): 2, (b["org_id"], 23): 1, (b["org_id"], 15): 1}
    named = {c.hospital_id: (c.hospital_name, c.regency) for c in counts.answers}
    assert named[a["org_id"]] == (a["name"], a["regency"]) and named[""] == (None, None)
    assert [(r.code, r.count) for r in counts.rejections] == [
        ("MOTHER-NOT-FOUND", 2),  # messages, not mentions
        ("KK-NOT-FOUND", 1),
        ("SENDER-UNKNOWN", 1),
    ]
    assert counts.dead_letters == 1

    clock = lambda: DAY + timedelta(hours=16)  # noqa: E731
    snap = await Dashboard(PostgresDashboard(pool), NoLag(), clock, region_name, "embedded").snapshot()
    assert snap.registered_today == 5 and snap.registered_per_hour[9] == 2 and snap.current_hour == 16
    assert snap.answers["rejected"] == 3 and snap.answers["review-pending"] == 1
    assert snap.answers["stillbirth-recorded"] == 1
    regencies = {r.regency: (r.name, r.registered) for r in snap.regencies}
    assert regencies == {a["regency"]: (region_name(a["regency"]), 3), b["regency"]: (region_name(b["regency"]), 2)}
    assert all(name for name, _ in regencies.values())


async def test_births_the_pipeline_handles_count_in_the_hour_they_were_registered(environment, pool):
    homes = await households(environment.settings.dsn, 2)
    hospital = "103578001"
    good = birth(homes[0], hospital)
    stranger = birth(
        replace(homes[1], mother=Parent("3578016507990001", "Orang Asing", None, homes[1].mother.kk_number)), hospital
    )
    handler = registration_handler(environment.settings, pool)
    raws = [json.dumps(build_notification(spec)).encode() for spec in (good, stranger)]
    handled = await handler.handle_batch(
        [(raw, trust.delivered(environment.settings.topics, raw, 2, uuid.uuid4().int % 10**9)) for raw in raws]
    )
    assert [str(h.outcome) for h in handled] == ["registered", "rejected"]

    registered_at = await pool.fetchval(
        "SELECT updated_at FROM inbox WHERE hospital_id = $1 AND message_id = $2", hospital, good.message_id
    )
    start, end = day_bounds(registered_at)
    counts = await PostgresDashboard(pool).day(start, end)
    hour = registered_at.astimezone(ZONE).hour
    assert any(c.status == "registered" and c.hospital_id == hospital and c.hour == hour for c in counts.answers)
    assert "MOTHER-NOT-FOUND" in {r.code for r in counts.rejections}


async def test_backlogs_with_their_oldest_item_and_the_breakers(pool):
    figures = PostgresDashboard(pool)
    before = await figures.backlogs()
    now = datetime.now(UTC)
    a, _ = await _hospitals(pool)
    hospital = a["org_id"]
    async with pool.acquire() as conn, conn.transaction():
        for age, status in (
            (timedelta(hours=2), "open"),
            (timedelta(minutes=5), "open"),
            (timedelta(days=9), "approved"),
        ):
            await conn.execute(
                """INSERT INTO reviews (message_id, hospital_id, reasons, document, status, opened_at)
                   VALUES ($1, $2, '{REVIEW-FATHER-NOT-FOUND}', '\\x00', $3, $4)""",
                f"DASH-R-{uuid.uuid4().hex[:8]}",
                hospital,
                status,
                now - age,
            )
        for age, sent in ((timedelta(minutes=10), None), (timedelta(days=1), now)):
            await conn.execute(
                """INSERT INTO outbox (event_id, topic, value, headers, created_at, sent_at)
                   VALUES ($1, 'dash.results', '\\x00', '{}', $2, $3)""",
                uuid.uuid4(),
                now - age,
                sent,
            )
        await _job(conn, hospital, "DASH-J-1", 1, "registration", "pending", now - timedelta(hours=1))
        await _job(conn, hospital, "DASH-J-2", 1, "registration", "done", now - timedelta(days=3))
        for state, age in (
            ("pending", timedelta(minutes=30)),
            ("failed-retrying", timedelta(minutes=3)),
            ("failed-permanent", timedelta(days=2)),
            ("written", timedelta(days=5)),
        ):
            message = await _inbox(conn, hospital, "registry-pending", datetime(2020, 1, 1, tzinfo=UTC))
            await conn.execute(
                """INSERT INTO registry_sagas (hospital_id, message_id, state, document, created_at)
                   VALUES ($1, $2, $3, '\\x00', $4)""",
                hospital,
                message,
                state,
                now - age,
            )
        await conn.execute(
            """INSERT INTO registry_breakers (process, state, failures, changed_at)
               VALUES ('hub-b:2', 'open', 5, $1), ('hub-a:1', 'half-open', 5, $1)""",
            now,
        )

    after = await figures.backlogs()
    assert after.reviews.count - before.reviews.count == 2
    assert after.reviews.oldest_seconds == pytest.approx(7200, abs=120)
    assert after.outbox.count - before.outbox.count == 1
    assert after.outbox.oldest_seconds == pytest.approx(600, abs=120)
    assert after.documents.count - before.documents.count == 1
    assert after.documents.oldest_seconds == pytest.approx(3600, abs=120)
    assert after.registry.count - before.registry.count == 2  # pending and retrying
    assert after.registry.oldest_seconds == pytest.approx(1800, abs=120)
    assert after.registry_failed - before.registry_failed == 1
    breakers = await figures.breakers()
    assert [(b.process, b.state, b.failures) for b in breakers] == [("hub-a:1", "half-open", 5), ("hub-b:2", "open", 5)]
