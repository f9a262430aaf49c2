"""Backlog gauges read from the database: outbox, review queue, registry sagas, document jobs.

Each query reads only open rows through a partial index (migration 0007), so sampling stays cheap
however many finished rows the tables hold.
"""

from __future__ import annotations

import asyncpg

from hub.observability import metrics

_BACKLOGS = """
SELECT
  (SELECT count(*) FROM outbox WHERE sent_at IS NULL) AS outbox,
  (SELECT extract(epoch FROM now() - min(created_at)) FROM outbox WHERE sent_at IS NULL) AS outbox_age,
  (SELECT count(*) FROM reviews WHERE status = 'open') AS reviews,
  (SELECT extract(epoch FROM now() - min(opened_at)) FROM reviews WHERE status = 'open') AS review_age,
  (SELECT count(*) FROM document_jobs WHERE state = 'pending') AS documents,
  (SELECT extract(epoch FROM now() - min(created_at)) FROM document_jobs WHERE state = 'pending') AS document_age,
  (SELECT extract(epoch FROM now() - min(created_at)) FROM registry_sagas
    WHERE state IN ('pending', 'failed-retrying')) AS saga_age
"""
_SAGAS = "SELECT state, count(*) AS n FROM registry_sagas WHERE state <> 'written' GROUP BY state"
SAGA_STATES = ("pending", "failed-retrying", "failed-permanent")


async def sample_backlogs(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_BACKLOGS)
        assert row is not None  # one row, always
        sagas = {r["state"]: r["n"] for r in await conn.fetch(_SAGAS)}
    metrics.OUTBOX_BACKLOG.set(row["outbox"])
    metrics.OUTBOX_OLDEST.set(float(row["outbox_age"] or 0))
    metrics.REVIEW_BACKLOG.set(row["reviews"])
    metrics.REVIEW_OLDEST.set(float(row["review_age"] or 0))
    metrics.DOCUMENT_BACKLOG.set(row["documents"])
    metrics.DOCUMENT_OLDEST.set(float(row["document_age"] or 0))
    metrics.SAGA_OLDEST.set(float(row["saga_age"] or 0))
    for state in SAGA_STATES:
        metrics.SAGAS.labels(state=state).set(sagas.get(state, 0))


def sample_pool(pool: asyncpg.Pool) -> None:
    size, idle = pool.get_size(), pool.get_idle_size()
    metrics.DB_POOL.labels(state="used").set(size - idle)
    metrics.DB_POOL.labels(state="idle").set(idle)
    metrics.DB_POOL.labels(state="max").set(pool.get_max_size())


async def database_ready(pool: asyncpg.Pool) -> str:
    """Ready when a pooled connection answers and the database accepts writes (not a read-only standby)."""
    async with pool.acquire() as conn:
        read_only = await conn.fetchval("SHOW transaction_read_only")
    if read_only == "on":
        raise RuntimeError("the database is read-only")
    return "ok"
