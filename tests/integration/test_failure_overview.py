"""The dead-letter page's overview, grouped in the database, equals what grouping every dead letter
and rejection row gives (hub.service.replay_runs.group_failures), and its lists are the newest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hub.adapters.postgres.operator_views import PostgresOperationsView
from hub.service.replay_runs import Group, group_failures, newest_first

START = datetime(2026, 11, 2, 8, tzinfo=UTC)


async def test_the_overview_groups_counts_and_lists_the_newest_like_the_rows_do(pool):
    hospitals = [r["org_id"] for r in await pool.fetch("SELECT org_id FROM hospitals ORDER BY org_id LIMIT 2")]
    rejections = [
        (hospitals[0], ["MOTHER-NOT-FOUND"]),
        (hospitals[0], ["MOTHER-NOT-FOUND", "NIK-INVALID"]),
        (hospitals[1], ["MOTHER-NOT-FOUND"]),
        (hospitals[1], ["PLACEHOLDER-NAME"]),
    ]
    async with pool.acquire() as conn:
        for n, (hospital, codes) in enumerate(rejections):
            await conn.execute(
                """INSERT INTO inbox (message_id, hospital_id, status, codes, result_event_id, topic, partition,
                                      "offset", processed_at, updated_at, result_sequence)
                   VALUES ($1, $2, 'rejected', $3, $4, 'overview.notifications', 0, $5, $6, $6, 1)""",
                str(uuid.uuid4()),
                hospital,
                codes,
                uuid.uuid4(),
                n,
                START + timedelta(minutes=n),
            )
        for n, reason in enumerate(["DLQ-NOT-JSON", "DLQ-NOT-JSON", "DLQ-TOO-LARGE"]):
            await conn.execute(
                """INSERT INTO dead_letters (topic, partition, "offset", reason, recorded_at)
                   VALUES ('overview.notifications', 1, $1, $2, $3)""",
                n,
                reason,
                START + timedelta(minutes=10 + n),
            )
    view = PostgresOperationsView(pool)
    overview = await view.failure_overview(2)
    every_letter = await view.dead_letters(reason=None, since=None, until=None)
    every_rejection = await view.rejections(code=None, hospital=None, since=None, until=None)

    assert newest_first([Group(**g) for g in overview["groups"]]) == group_failures(every_letter, every_rejection)
    assert (overview["letters_total"], overview["rejected_total"]) == (len(every_letter), len(every_rejection))
    assert overview["letters"] == list(reversed(every_letter))[:2]
    assert overview["rejected"] == list(reversed(every_rejection))[:2]
    assert {(g.reason, g.hospital_id): g.count for g in group_failures([], every_rejection)}[
        ("MOTHER-NOT-FOUND", hospitals[0])
    ] == 2
