"""The dashboard's read model on PostgreSQL (hub.service.dashboard.DashboardFigures).

Today's answers come from the inbox: each row holds a notification's current answer, and
`updated_at` is when that answer was decided (first processing, a review decision, a registry write
confirmed). A document correction also touches the row without a new answer: a row whose current
result sequence is a correction's is left out, so a corrected birth is not counted again on the day
of its correction. The backlogs are the metrics sampler's own queries (backlog.py), read through
the same partial indexes over open rows.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from hub.adapters.postgres.backlog import _BACKLOGS, _SAGAS
from hub.adapters.postgres.database import borrowed
from hub.domain.outcomes import ResultStatus, SagaState
from hub.service.dashboard import AnswerCount, Backlog, Backlogs, Breaker, CodeCount, DayCounts

# Notifications whose current answer was decided in [$1, $2).
_TODAY = """WITH today AS (
  SELECT i.hospital_id, i.message_id, i.status, i.codes, i.updated_at FROM inbox i
  WHERE i.updated_at >= $1 AND i.updated_at < $2
    AND NOT EXISTS (SELECT 1 FROM document_jobs j
                    WHERE j.hospital_id = i.hospital_id AND j.message_id = i.message_id
                      AND j.sequence = i.result_sequence AND j.reason = 'correction'))
"""
_ANSWERS = (
    _TODAY
    + """SELECT t.status, t.hospital_id, h.name AS hospital_name, h.regency,
       floor(extract(epoch FROM t.updated_at - $1) / 3600)::int AS hour, count(*) AS n
FROM today t LEFT JOIN hospitals h ON h.org_id = t.hospital_id
GROUP BY 1, 2, 3, 4, 5"""
)
_REJECTIONS = (
    _TODAY
    + """SELECT code, count(DISTINCT (t.hospital_id, t.message_id)) AS n
FROM today t CROSS JOIN LATERAL unnest(t.codes) AS code
WHERE t.status = $3 GROUP BY code ORDER BY n DESC, code"""
)
_DEAD_LETTERS = "SELECT count(*) FROM dead_letters WHERE recorded_at >= $1 AND recorded_at < $2"
_BREAKERS = "SELECT process, state, failures, changed_at FROM registry_breakers ORDER BY process"


class PostgresDashboard:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def day(self, start: datetime, end: datetime) -> DayCounts:
        async with borrowed(self._pool) as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            answers = await conn.fetch(_ANSWERS, start, end)
            rejections = await conn.fetch(_REJECTIONS, start, end, ResultStatus.REJECTED.value)
            dead_letters = await conn.fetchval(_DEAD_LETTERS, start, end)
        return DayCounts(
            tuple(
                AnswerCount(r["status"], r["hospital_id"], r["hospital_name"], r["regency"], r["hour"], r["n"])
                for r in answers
            ),
            tuple(CodeCount(r["code"], r["n"]) for r in rejections),
            dead_letters,
        )

    async def backlogs(self) -> Backlogs:
        async with borrowed(self._pool) as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            row = await conn.fetchrow(_BACKLOGS)
            sagas = {r["state"]: r["n"] for r in await conn.fetch(_SAGAS)}
        assert row is not None  # one row, always
        waiting = sum(sagas.get(state, 0) for state in SagaState.due())
        return Backlogs(
            reviews=_backlog(row["reviews"], row["review_age"]),
            outbox=_backlog(row["outbox"], row["outbox_age"]),
            documents=_backlog(row["documents"], row["document_age"]),
            registry=_backlog(waiting, row["saga_age"]),
            registry_failed=sagas.get(SagaState.FAILED, 0),
        )

    async def breakers(self) -> list[Breaker]:
        async with borrowed(self._pool) as conn:
            rows = await conn.fetch(_BREAKERS)
        return [Breaker(r["process"], r["state"], r["failures"], r["changed_at"]) for r in rows]


def _backlog(count: int, age) -> Backlog:
    return Backlog(count, float(age) if count and age is not None else None)
