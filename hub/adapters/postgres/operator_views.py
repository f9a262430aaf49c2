"""The operators' read model on PostgreSQL: what `hub status`, `hub dlq`, `hub review`, `hub audit list`
and `hub registry` show. Each query borrows a connection from the pool for its own duration; the
only write is the audit entry that showing personal data requires."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from hub.adapters.postgres import operations as q
from hub.adapters.postgres.audit import PostgresAuditLog
from hub.adapters.postgres.database import PgConnection, translated
from hub.adapters.postgres.store import PostgresReviews
from hub.adapters.regions import region_name
from hub.service.ports import AuditEntry, ReviewCase

T = TypeVar("T")


class PostgresOperationsView:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _on_connection(self, query: Callable[[PgConnection], Awaitable[T]]) -> T:
        with translated():
            async with self._pool.acquire() as conn:
                return await query(conn)

    async def messages_for(self, query: str) -> list[tuple[str, str]]:
        """The (hospital, message id) of notifications matching a message id, an akta number or a
        mother's NIK ('' is the hospital of a message whose sender could not be read)."""
        return await self._on_connection(lambda conn: q.messages_for(conn, query))

    async def trails(self, messages: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Everything the hub knows about each notification (hospital, message id), oldest first."""

        async def read(conn: PgConnection) -> list[dict[str, Any]]:
            return [await q.trail(conn, hospital, message_id) for hospital, message_id in messages]

        return await self._on_connection(read)

    async def note_personal_data_view(
        self, operator: str, messages: list[tuple[str, str]], reason: str, at: datetime
    ) -> None:
        """Audit that `operator` saw the personal data of these notifications, and why."""
        subject = ",".join(message_id for _, message_id in messages)
        details = {"query": "status", "hospitals": sorted({hospital for hospital, _ in messages})}

        async def append(conn: PgConnection) -> None:
            async with conn.transaction():
                await PostgresAuditLog(conn).append(
                    AuditEntry(operator, "personal-data.view", subject, reason, details), at
                )

        await self._on_connection(append)

    async def dead_letters(
        self, *, reason: str | None, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]:
        return await self._on_connection(lambda conn: q.dead_letters(conn, reason=reason, since=since, until=until))

    async def failure_overview(self, shown: int) -> dict[str, Any]:
        """Dead letters by reason and rejections by code and hospital (count, newest), the
        totals, and the newest `shown` rows of each; grouped in the database."""
        return await self._on_connection(lambda conn: q.failure_overview(conn, shown))

    async def dead_letter(self, topic: str, partition: int, offset: int) -> dict[str, Any] | None:
        return await self._on_connection(lambda conn: q.dead_letter(conn, topic, partition, offset))

    async def rejections(
        self, *, code: str | None, hospital: str | None, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]:
        return await self._on_connection(
            lambda conn: q.rejections(conn, code=code, hospital=hospital, since=since, until=until)
        )

    async def review_cases(self, status: str | None) -> list[dict[str, Any]]:
        """Review cases with the given status (None: all), oldest first."""
        return await self._on_connection(lambda conn: q.review_cases(conn, status))

    async def review_hospitals(self, message_id: str) -> list[str]:
        """The hospitals with a review case under this message id."""
        return await self._on_connection(lambda conn: q.review_hospitals(conn, message_id))

    async def review_case(self, hospital_id: str, message_id: str) -> ReviewCase | None:
        return await self._on_connection(lambda conn: PostgresReviews(conn).get(hospital_id, message_id))

    async def registry_overview(self) -> dict[str, Any]:
        """Registry sagas by state and each hub process's circuit breaker."""
        return await self._on_connection(q.registry_overview)

    async def audit_entries(self, limit: int) -> list[dict[str, Any]]:
        return await self._on_connection(lambda conn: q.audit_entries(conn, limit))

    async def inbox_positions(self, message_ids: list[str]) -> dict[str, dict[str, tuple[str, int, int]]]:
        """(topic, partition, offset) where each known message id was read, by hospital."""
        return await self._on_connection(lambda conn: q.inbox_positions(conn, message_ids))

    async def hospitals(self, since: datetime) -> list[dict[str, Any]]:
        """Every hospital (organisation id, name, regency and its name, the `active` flag) with its
        notifications first processed since `since`: received, registered and rejected, and the
        time of its newest notification ever (None if it never sent one). Ordered by name."""

        async def read(conn: PgConnection) -> list[dict[str, Any]]:
            return [dict(r) for r in await conn.fetch(_HOSPITALS, since)]

        rows = await self._on_connection(read)
        return [
            {**row, "regency": row["regency"].strip(), "regency_name": region_name(row["regency"].strip())}
            for row in rows
        ]

    async def messages_for_family_card(self, kk_number: str) -> list[tuple[str, str]]:
        """The (hospital, message id) of the registered births of a family card's members: births
        to its mothers (stillbirths too) and births of its children, oldest first."""

        async def read(conn: PgConnection) -> list[tuple[str, str]]:
            rows = await conn.fetch(_FAMILY_BIRTHS, kk_number)
            return [(r["hospital_id"], r["message_id"]) for r in rows]

        return await self._on_connection(read)


# Through the members' NIKs, which are indexed (births.mother_nik, births.child_nik), not births.kk_number.
_FAMILY_BIRTHS = """SELECT hospital_id, message_id, min(registered_at) AS registered_at FROM (
    SELECT b.hospital_id, b.message_id, b.registered_at FROM persons p JOIN births b ON b.mother_nik = p.nik
     WHERE p.kk_number = $1
    UNION ALL
    SELECT b.hospital_id, b.message_id, b.registered_at FROM persons p JOIN births b ON b.child_nik = p.nik
     WHERE p.kk_number = $1) found
 GROUP BY hospital_id, message_id ORDER BY 3, 2, 1"""


_HOSPITALS = """SELECT h.org_id, h.name, h.regency, h.active,
       w.received, w.registered, w.rejected,
       (SELECT max(i.processed_at) FROM inbox i WHERE i.hospital_id = h.org_id) AS last_message_at
  FROM hospitals h
  CROSS JOIN LATERAL (SELECT count(*) AS received,
                             count(*) FILTER (WHERE i.status = 'registered') AS registered,
                             count(*) FILTER (WHERE i.status = 'rejected') AS rejected
                        FROM inbox i WHERE i.hospital_id = h.org_id AND i.processed_at >= $1) w
 ORDER BY h.name, h.org_id"""
