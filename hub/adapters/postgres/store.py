"""Inbox, outbox and review queue on the unit of work's connection (the hospital directory: hospitals.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from hub.adapters.postgres.database import PgConnection
from hub.domain.values import BirthNotice
from hub.service.ports import Delivery, InboxRecord, OutboundMessage, ReviewCase

OUTBOX_CHANNEL = "hub_outbox"


def scope(hospital_id: str | None) -> str:
    """The hospital column of a message key: a message whose sender could not be read (None) is
    kept under the empty string, a scope of its own, so the key columns are NOT NULL."""
    return hospital_id or ""


def sender(column: str | None) -> str | None:
    """The hospital id a key column stands for (the inverse of `scope`)."""
    return column or None


_INBOX_SELECT = """SELECT message_id, hospital_id, status, result_event_id, codes, topic, partition, "offset",
                          mother_nik, result_sequence FROM inbox"""


def _record(row) -> InboxRecord:
    return InboxRecord(
        row["message_id"],
        sender(row["hospital_id"]),
        row["status"],
        str(row["result_event_id"]),
        tuple(row["codes"]),
        Delivery(row["topic"], row["partition"], row["offset"]),
        row["mother_nik"],
        row["result_sequence"],
    )


def _key(record: InboxRecord) -> tuple[str, str]:
    return scope(record.hospital_id), record.message_id


class PostgresInbox:
    """Inbox rows are buffered like outbox rows and written in one statement before commit.
    Rows are keyed by (hospital, message id); `scope` maps a missing sender to ''."""

    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn
        self._pending: list[InboxRecord] = []
        self._known: dict[tuple[str, str], InboxRecord | None] = {}

    async def delivered(self, delivery: Delivery) -> bool:
        return await self._conn.fetchval(
            'SELECT EXISTS (SELECT 1 FROM deliveries WHERE topic = $1 AND partition = $2 AND "offset" = $3)',
            delivery.topic,
            delivery.partition,
            delivery.offset,
        )

    async def claim_deliveries(self, deliveries: list[Delivery]) -> set[tuple[str, int, int]]:
        rows = await self._conn.fetch(
            """INSERT INTO deliveries (topic, partition, "offset", action)
               SELECT t, p, o, 'received' FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(t, p, o)
               ON CONFLICT DO NOTHING RETURNING topic, partition, "offset" """,
            [d.topic for d in deliveries],
            [d.partition for d in deliveries],
            [d.offset for d in deliveries],
        )
        return {(r["topic"], r["partition"], r["offset"]) for r in rows}

    async def note_deliveries(self, outcomes: list[tuple[Delivery, str | None, str | None, str]]) -> None:
        if not outcomes:
            return
        await self._conn.execute(
            """UPDATE deliveries d SET hospital_id = u.h, message_id = u.m, action = u.a
               FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[])
                    AS u(t, p, o, h, m, a)
               WHERE d.topic = u.t AND d.partition = u.p AND d."offset" = u.o""",
            [d.topic for d, _, _, _ in outcomes],
            [d.partition for d, _, _, _ in outcomes],
            [d.offset for d, _, _, _ in outcomes],
            [None if m is None else scope(h) for _, h, m, _ in outcomes],
            [m for _, _, m, _ in outcomes],
            [a for _, _, _, a in outcomes],
        )

    async def prefetch(self, keys: list[tuple[str | None, str]]) -> None:
        """Read the inbox rows of a whole batch in one statement; `find` answers from them."""
        wanted = {(scope(h), m) for h, m in keys}
        rows = await self._conn.fetch(
            _INBOX_SELECT + " WHERE (hospital_id, message_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [h for h, _ in wanted],
            [m for _, m in wanted],
        )
        buffered = {_key(r) for r in self._pending}  # recorded in this unit of work, not written yet
        self._known.update({key: None for key in wanted - buffered})
        self._known.update({(row["hospital_id"], row["message_id"]): _record(row) for row in rows})

    async def find(self, hospital_id: str | None, message_id: str) -> InboxRecord | None:
        key = (scope(hospital_id), message_id)
        if key in self._known:
            return self._known[key]
        row = await self._conn.fetchrow(_INBOX_SELECT + " WHERE hospital_id = $1 AND message_id = $2", *key)
        return None if row is None else _record(row)

    async def record(self, record: InboxRecord) -> None:
        """Buffered and written with the others before commit (`flush`)."""
        self._pending.append(record)
        self._known[_key(record)] = record

    async def flush(self) -> None:
        if not self._pending:
            return
        await self._conn.executemany(
            """INSERT INTO inbox (message_id, hospital_id, status, codes, result_event_id, topic, partition, "offset",
                                  mother_nik, result_sequence)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            [
                (
                    r.message_id,
                    scope(r.hospital_id),
                    r.status,
                    list(r.codes),
                    r.result_event_id,
                    r.delivery.topic,
                    r.delivery.partition,
                    r.delivery.offset,
                    r.mother_nik,
                    r.result_sequence,
                )
                for r in self._pending
            ],
        )
        self._pending.clear()

    async def replace(self, record: InboxRecord) -> None:
        """The row keeps its first delivery, its hospital and (when none is given) its mother."""
        await self.flush()
        self._known.pop(_key(record), None)  # `find` reads the row as stored
        await self._conn.execute(
            """UPDATE inbox SET status = $2, codes = $3, result_event_id = $4, mother_nik = coalesce($5, mother_nik),
                                result_sequence = $6, updated_at = now()
               WHERE message_id = $1 AND hospital_id = $7""",
            record.message_id,
            record.status,
            list(record.codes),
            record.result_event_id,
            record.mother_nik,
            record.result_sequence,
            scope(record.hospital_id),
        )

    async def record_delivery(
        self, delivery: Delivery, hospital_id: str | None, message_id: str | None, action: str
    ) -> None:
        await self._conn.execute(
            """INSERT INTO deliveries (topic, partition, "offset", hospital_id, message_id, action)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            delivery.topic,
            delivery.partition,
            delivery.offset,
            None if message_id is None else scope(hospital_id),
            message_id,
            action,
        )

    async def record_dead_letter(self, delivery: Delivery, reason: str, detail: str | None) -> None:
        await self._conn.execute(
            'INSERT INTO dead_letters (topic, partition, "offset", reason, detail) VALUES ($1, $2, $3, $4, $5)',
            delivery.topic,
            delivery.partition,
            delivery.offset,
            reason,
            detail,
        )


class PostgresReviews:
    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn

    async def open(self, notice: BirthNotice, document: bytes, reasons: tuple[str, ...]) -> None:
        await self._conn.execute(
            "INSERT INTO reviews (message_id, hospital_id, reasons, document) VALUES ($1, $2, $3, $4)",
            notice.message_id,
            notice.hospital_id,
            list(reasons),
            document,
        )

    async def get(self, hospital_id: str, message_id: str, *, lock: bool = False) -> ReviewCase | None:
        row = await self._conn.fetchrow(
            """SELECT message_id, hospital_id, reasons, document, status, opened_at, decided_at, decided_by, note
               FROM reviews WHERE hospital_id = $1 AND message_id = $2"""
            + (" FOR UPDATE" if lock else ""),
            hospital_id,
            message_id,
        )
        return None if row is None else ReviewCase(**{**dict(row), "reasons": tuple(row["reasons"])})

    async def decide(
        self, hospital_id: str, message_id: str, status: str, officer: str, note: str, at: datetime
    ) -> None:
        await self._conn.execute(
            """UPDATE reviews SET status = $3, decided_by = $4, note = $5, decided_at = $6
               WHERE hospital_id = $1 AND message_id = $2""",
            hospital_id,
            message_id,
            status,
            officer,
            note,
            at,
        )


OUTBOX_SELECT = "SELECT event_id, topic, key, value, headers, trace_context, origin_at FROM outbox"


def outbound_message(row) -> OutboundMessage:
    """An outbox row (as OUTBOX_SELECT reads it) as the message it was queued as."""
    return OutboundMessage(
        str(row["event_id"]),
        row["topic"],
        row["key"],
        row["value"],
        json.loads(row["headers"]),
        row["trace_context"],
        row["origin_at"],
    )


class PostgresOutbox:
    """Rows are buffered and written together just before commit (one statement, one NOTIFY);
    they become visible to the relay at commit, and NOTIFY wakes it at the same moment."""

    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn
        self._pending: list[OutboundMessage] = []

    async def add(self, messages: list[OutboundMessage]) -> None:
        self._pending.extend(messages)

    async def expired(self, event_id: str) -> bool:
        return await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE event_id = $1 AND purged_at IS NOT NULL)", event_id
        )

    async def copy_event(self, event_id: str) -> bool:
        found = next((m for m in self._pending if m.event_id == event_id), None)
        if found is None:
            row = await self._conn.fetchrow(
                OUTBOX_SELECT + " WHERE event_id = $1 AND value IS NOT NULL ORDER BY id LIMIT 1", event_id
            )
            if row is None:
                return False
            found = outbound_message(row)
        self._pending.append(replace(found, origin_at=None))  # a copy's age is not its notification's
        return True

    async def flush(self) -> None:
        if not self._pending:
            return
        await self._conn.executemany(
            """INSERT INTO outbox (event_id, topic, key, value, headers, trace_context, origin_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            [
                (m.event_id, m.topic, m.key, m.value, json.dumps(m.headers), m.trace_context, m.origin_at)
                for m in self._pending
            ],
        )
        await self._conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
        self._pending.clear()
