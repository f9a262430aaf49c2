"""Registry sagas on the unit of work's connection.

`claim_due` locks one due saga (FOR UPDATE SKIP LOCKED) for the rest of the transaction: while a
worker performs its registry write, no other worker, in this process or another, can take it.
A crash releases the lock with the transaction, and the saga is due again.
"""

from __future__ import annotations

from datetime import datetime

from hub.adapters.postgres.database import PgConnection
from hub.adapters.postgres.store import scope, sender
from hub.domain.outcomes import SagaState
from hub.service.ports import RegistrySaga

SAGA_CHANNEL = "hub_sagas"


class PostgresSagas:
    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn

    async def open(
        self,
        hospital_id: str | None,
        message_id: str,
        document: bytes,
        *,
        trace_context: str | None = None,
        origin_at: datetime | None = None,
    ) -> None:
        await self._conn.execute(
            """INSERT INTO registry_sagas (hospital_id, message_id, state, document, trace_context, origin_at)
               VALUES ($5, $1, 'pending', $2, $3, $4)
               ON CONFLICT (hospital_id, message_id) DO UPDATE
               SET state = 'pending', document = $2, next_attempt_at = now(), owed_copies = 0, trace_context = $3,
                   origin_at = $4, updated_at = now()""",
            message_id,
            document,
            trace_context,
            origin_at,
            scope(hospital_id),
        )
        await self._conn.execute(f"NOTIFY {SAGA_CHANNEL}")

    async def claim_due(self, now: datetime) -> RegistrySaga | None:
        row = await self._conn.fetchrow(
            """SELECT hospital_id, message_id, state, document, attempts, owed_copies, trace_context, origin_at FROM registry_sagas
               WHERE state IN ('pending', 'failed-retrying') AND next_attempt_at <= $1
               ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
            now,
        )
        if row is None:
            return None
        return RegistrySaga(
            sender(row["hospital_id"]),
            row["message_id"],
            SagaState(row["state"]),
            row["document"],
            row["attempts"],
            row["owed_copies"],
            row["trace_context"],
            row["origin_at"],
        )

    async def owe_copy(self, hospital_id: str | None, message_id: str) -> bool:
        """Note a re-send while the saga still waits; False if it has finished meanwhile (the
        update waits for a worker holding the saga, then sees its final state)."""
        return bool(
            await self._conn.fetchval(
                """UPDATE registry_sagas SET owed_copies = owed_copies + 1
               WHERE hospital_id = $2 AND message_id = $1 AND state IN ('pending', 'failed-retrying')
               RETURNING true""",
                message_id,
                scope(hospital_id),
            )
        )

    async def finish(
        self, hospital_id: str | None, message_id: str, state: SagaState, error: str | None = None
    ) -> None:
        await self._conn.execute(
            """UPDATE registry_sagas SET state = $2, attempts = attempts + 1, last_error = $3, updated_at = now()
               WHERE message_id = $1 AND hospital_id = $4""",
            message_id,
            state,
            error,
            scope(hospital_id),
        )

    async def retry_at(self, hospital_id: str | None, message_id: str, when: datetime, error: str) -> None:
        await self._conn.execute(
            """UPDATE registry_sagas SET state = 'failed-retrying', attempts = attempts + 1, next_attempt_at = $2,
                      last_error = $3, updated_at = now() WHERE message_id = $1 AND hospital_id = $4""",
            message_id,
            when,
            error,
            scope(hospital_id),
        )


async def record_breaker(conn: PgConnection, process: str, state: str, failures: int) -> None:
    await conn.execute(
        """INSERT INTO registry_breakers (process, state, failures) VALUES ($1, $2, $3)
           ON CONFLICT (process) DO UPDATE SET state = $2, failures = $3, changed_at = now()""",
        process,
        state,
        failures,
    )


async def saga_counts(conn: PgConnection) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM registry_sagas GROUP BY state")
    return {row["state"]: row["n"] for row in rows}
