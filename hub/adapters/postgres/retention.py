"""Retention: remove the bodies of delivered messages and finished work after the retention period.

Each table is purged in bounded batches (one short transaction each), oldest first, through a
partial index over the rows not yet purged (migrations 0009 and 0013), so a purge never holds long
locks and costs nothing on rows already done. A dry run counts what would go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hub.adapters.postgres.database import borrowed


@dataclass(frozen=True, slots=True)
class Purge:
    table: str
    what: str  # the bodies removed, for reports
    since: str  # the column that says when the row finished its job
    finished: str  # the condition that the row has finished it
    clear: str  # the SET list that removes the bodies


PURGES = (
    Purge("outbox", "published message bodies and keys", "sent_at", "sent_at IS NOT NULL", "value = NULL, key = NULL"),
    Purge(
        "registry_sagas",
        "notifications of written registry sagas",
        "updated_at",
        "state = 'written'",
        "document = NULL",
    ),
    Purge("document_jobs", "contents of finished document jobs", "done_at", "state = 'done'", "request = NULL"),
    Purge("reviews", "notifications of decided review cases", "decided_at", "status <> 'open'", "document = NULL"),
    Purge(
        "correction_proposals",
        "proposed names of decided correction proposals",
        "decided_at",
        "status <> 'open'",
        "changes = '{}'::jsonb",
    ),
)


async def purge_expired(
    pool: asyncpg.Pool, before: datetime, *, dry_run: bool = False, batch: int = 5000
) -> dict[str, int]:
    """Rows whose bodies were removed (or would be, with `dry_run`), per table. Driver errors come
    out translated (a lost database is StoreUnavailable: the caller retries; batches done stay done)."""
    counts: dict[str, int] = {}
    for purge in PURGES:
        due = f"purged_at IS NULL AND {purge.finished} AND {purge.since} < $1"
        if dry_run:
            async with borrowed(pool) as conn:
                counts[purge.table] = await conn.fetchval(f"SELECT count(*) FROM {purge.table} WHERE {due}", before)
            continue
        counts[purge.table] = 0
        while True:
            async with borrowed(pool) as conn:
                status = await conn.execute(
                    f"""UPDATE {purge.table} SET {purge.clear}, purged_at = now()
                        WHERE ctid = ANY(ARRAY(SELECT ctid FROM {purge.table} WHERE {due}
                                               ORDER BY {purge.since} LIMIT $2 FOR UPDATE SKIP LOCKED))""",
                    before,
                    batch,
                )
            done = int(status.rsplit(" ", 1)[-1])
            counts[purge.table] += done
            if done < batch:
                break
    return counts
