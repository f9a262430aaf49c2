"""Operators' queries and records: message trails, dead letters, rejections, reviews, the audit
log's latest rows, replay runs. Functions run on a connection the caller holds; the read model that
operator commands use (`PostgresOperationsView`) and `PostgresReplayRuns` wrap them over a pool."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import asyncpg

from hub.adapters.postgres.audit import PostgresAuditLog
from hub.adapters.postgres.database import PgConnection, translated
from hub.service.answers import RESULT_SCHEMA
from hub.service.ports import AuditEntry

_AKTA = re.compile(r"[0-9]{4}-L[UT]-[0-9]{8}-[0-9]{4}")


def _rows(records) -> list[dict[str, Any]]:
    return [dict(r) for r in records]


async def messages_for(conn: PgConnection, query: str) -> list[tuple[str, str]]:
    """The (hospital, message id) of the notifications matching a message id (every hospital that
    sent it), an akta number or a mother's NIK. A message without a readable sender has hospital ''."""
    if _AKTA.fullmatch(query):
        sql = """SELECT b.hospital_id, b.message_id FROM birth_certificates c JOIN births b ON b.id = c.birth_id
                 WHERE c.akta_number = $1"""
    elif len(query) == 16 and query.isascii() and query.isdigit():
        sql = """SELECT hospital_id, message_id FROM inbox WHERE mother_nik = $1
                 UNION SELECT hospital_id, message_id FROM births WHERE mother_nik = $1 ORDER BY 2, 1"""
    else:
        sql = """SELECT hospital_id, message_id FROM inbox WHERE message_id = $1
                 UNION SELECT coalesce(hospital_id, ''), message_id FROM deliveries WHERE message_id = $1
                 UNION SELECT hospital_id, message_id FROM reviews WHERE message_id = $1 ORDER BY 1"""
    return [(r["hospital_id"], r["message_id"]) for r in await conn.fetch(sql, query)]


async def trail(conn: PgConnection, hospital_id: str, message_id: str) -> dict[str, Any]:
    """Everything the hub knows about one notification (hospital, message id), oldest first.
    Results are told apart by their key (the hospital); civil events of another hospital's
    message with the same id are not (they carry only the message id); audit entries by their `hospital` detail
    (entries written before message ids were scoped have none)."""
    key = (hospital_id, message_id)
    inbox = await conn.fetchrow("SELECT * FROM inbox WHERE hospital_id = $1 AND message_id = $2", *key)
    birth = await conn.fetchrow(
        """SELECT b.*, c.akta_number, c.variant, c.registration_type, c.issuing_regency, c.issued_at
           FROM births b LEFT JOIN birth_certificates c ON c.birth_id = b.id
           WHERE b.hospital_id = $1 AND b.message_id = $2""",
        *key,
    )
    return {
        "message_id": message_id,
        "hospital_id": hospital_id,
        "inbox": dict(inbox) if inbox else None,
        "deliveries": await _scoped(
            conn, 'SELECT topic, partition, "offset", action, handled_at FROM deliveries', key, "handled_at"
        ),
        "registration": dict(birth) if birth else None,
        "review": _without_document(
            await conn.fetchrow("SELECT * FROM reviews WHERE hospital_id = $1 AND message_id = $2", *key)
        ),
        "registry_saga": _without_document(
            await conn.fetchrow("SELECT * FROM registry_sagas WHERE hospital_id = $1 AND message_id = $2", *key)
        ),
        "published": _rows(
            await conn.fetch(
                """SELECT topic, headers ->> 'event-id' AS event_id, created_at, sent_at FROM outbox
               WHERE headers ->> 'correlation-id' = $2
                 AND (headers ->> 'schema' <> $3 OR key IS NOT DISTINCT FROM $1) ORDER BY id""",
                hospital_id.encode() or None,
                message_id,
                RESULT_SCHEMA,
            )
        ),
        "audit": _rows(
            await conn.fetch(
                """SELECT at, actor, action, reason, details FROM audit_log
                   WHERE subject = $2 AND coalesce(details ->> 'hospital', $1) = $1 ORDER BY id""",
                *key,
            )
        ),
        "document_jobs": await _scoped(
            conn,
            """SELECT sequence, reason, state, attempts, next_attempt_at, last_error, owed_copies, created_at, done_at
               FROM document_jobs""",
            key,
            "id",
        ),
        "documents": await _scoped(
            conn,
            """SELECT document_id::text, kind, number, version, status, status_reason, issued_at, key_id, reason,
                      regency, list_year, list_index
               FROM documents""",
            key,
            "issued_at, kind",
        ),
    }


async def _scoped(conn: PgConnection, select: str, key: tuple[str, str], order: str) -> list[dict[str, Any]]:
    """The rows of one message (hospital, message id) of a table with both columns."""
    return _rows(
        await conn.fetch(f"{select} WHERE coalesce(hospital_id, '') = $1 AND message_id = $2 ORDER BY {order}", *key)
    )


def _without_document(row) -> dict[str, Any] | None:
    if row is None:
        return None
    found = dict(row)
    found.pop("document", None)
    return found


async def dead_letters(
    conn: PgConnection, *, reason: str | None, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    return _rows(
        await conn.fetch(
            """SELECT topic, partition, "offset", reason, detail, recorded_at FROM dead_letters
           WHERE ($1::text IS NULL OR reason = $1) AND ($2::timestamptz IS NULL OR recorded_at >= $2)
             AND ($3::timestamptz IS NULL OR recorded_at < $3) ORDER BY recorded_at""",
            reason,
            since,
            until,
        )
    )


async def rejections(
    conn: PgConnection, *, code: str | None, hospital: str | None, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    return _rows(
        await conn.fetch(
            """SELECT message_id, hospital_id, codes, topic, partition, "offset", updated_at FROM inbox
           WHERE status = 'rejected' AND ($1::text IS NULL OR $1 = ANY (codes))
             AND ($2::text IS NULL OR hospital_id = $2) AND ($3::timestamptz IS NULL OR updated_at >= $3)
             AND ($4::timestamptz IS NULL OR updated_at < $4) ORDER BY updated_at""",
            code,
            hospital,
            since,
            until,
        )
    )


async def failure_overview(conn: PgConnection, shown: int) -> dict[str, Any]:
    """What the console's dead-letter page shows, counted and grouped in the database: dead letters
    by reason and rejections by code and hospital (count, newest), the totals, and the newest
    `shown` of each. Reads the rejected rows through inbox_rejected (migration 0014)."""
    groups = _rows(
        await conn.fetch(
            """SELECT reason, NULL::text AS hospital_id, count(*) AS count, max(recorded_at) AS newest
                 FROM dead_letters GROUP BY reason
               UNION ALL
               SELECT code, hospital_id, count(*), max(updated_at)
                 FROM inbox, unnest(codes) AS code WHERE status = 'rejected' GROUP BY code, hospital_id"""
        )
    )
    letters = _rows(
        await conn.fetch(
            """SELECT topic, partition, "offset", reason, detail, recorded_at FROM dead_letters
               ORDER BY recorded_at DESC LIMIT $1""",
            shown,
        )
    )
    rejected = _rows(
        await conn.fetch(
            """SELECT message_id, hospital_id, codes, topic, partition, "offset", updated_at FROM inbox
               WHERE status = 'rejected' ORDER BY updated_at DESC LIMIT $1""",
            shown,
        )
    )
    letters_total = await conn.fetchval("SELECT count(*) FROM dead_letters")
    rejected_total = await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'rejected'")
    return {
        "groups": groups,
        "letters": letters,
        "rejected": rejected,
        "letters_total": letters_total,
        "rejected_total": rejected_total,
    }


async def dead_letter(conn: PgConnection, topic: str, partition: int, offset: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        'SELECT * FROM dead_letters WHERE topic = $1 AND partition = $2 AND "offset" = $3', topic, partition, offset
    )
    return None if row is None else dict(row)


async def audit_entries(conn: PgConnection, limit: int) -> list[dict[str, Any]]:
    """The most recent operator actions, newest first."""
    return _rows(
        await conn.fetch(
            "SELECT id, at, actor, action, subject, reason FROM audit_log ORDER BY id DESC LIMIT $1", limit
        )
    )


async def inbox_positions(conn: PgConnection, message_ids: list[str]) -> dict[str, dict[str, tuple[str, int, int]]]:
    """Where each known message id was read from, per hospital that sent it: (topic, partition,
    offset), the topic being that hospital's notification topic."""
    rows = await conn.fetch(
        'SELECT hospital_id, message_id, topic, partition, "offset" FROM inbox WHERE message_id = ANY($1::text[])',
        message_ids,
    )
    found: dict[str, dict[str, tuple[str, int, int]]] = {}
    for r in rows:
        found.setdefault(r["message_id"], {})[r["hospital_id"]] = (r["topic"], r["partition"], r["offset"])
    return found


async def review_cases(conn: PgConnection, status: str | None) -> list[dict[str, Any]]:
    return _rows(
        await conn.fetch(
            """SELECT message_id, hospital_id, reasons, status, opened_at, decided_at, decided_by FROM reviews
           WHERE ($1::text IS NULL OR status = $1) ORDER BY opened_at""",
            status,
        )
    )


async def review_hospitals(conn: PgConnection, message_id: str) -> list[str]:
    rows = await conn.fetch("SELECT hospital_id FROM reviews WHERE message_id = $1 ORDER BY 1", message_id)
    return [r["hospital_id"] for r in rows]


async def start_run(conn: PgConnection, operator: str, selector: dict, dry_run: bool) -> int:
    return await conn.fetchval(
        "INSERT INTO replay_runs (operator, selector, dry_run) VALUES ($1, $2, $3) RETURNING id",
        operator,
        json.dumps(selector),
        dry_run,
    )


async def save_run(conn: PgConnection, run_id: int, positions: dict, counts: dict, finished: bool) -> None:
    await conn.execute(
        """UPDATE replay_runs SET positions = $2, counts = $3,
                  finished_at = CASE WHEN $4 THEN now() ELSE finished_at END WHERE id = $1""",
        run_id,
        json.dumps(positions),
        json.dumps(counts),
        finished,
    )


async def get_run(conn: PgConnection, run_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM replay_runs WHERE id = $1", run_id)
    if row is None:
        return None
    found = dict(row)
    for key in ("selector", "positions", "counts"):
        found[key] = json.loads(found[key])
    return found


async def registry_overview(conn: PgConnection) -> dict[str, Any]:
    """Sagas by state (with the oldest waiting one) and each hub process's circuit breaker."""
    states = {
        r["state"]: {"count": r["n"], "oldest": r["oldest"]}
        for r in await conn.fetch(
            "SELECT state, count(*) AS n, min(created_at) AS oldest FROM registry_sagas GROUP BY state"
        )
    }
    breakers = _rows(
        await conn.fetch("SELECT process, state, failures, changed_at FROM registry_breakers ORDER BY process")
    )
    jobs = {
        r["state"]: {"count": r["n"], "oldest": r["oldest"], "failing": r["failing"], "last_error": r["last_error"]}
        for r in await conn.fetch(
            """SELECT state, count(*) AS n, min(created_at) AS oldest, count(*) FILTER (WHERE attempts > CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS failing,
                      (array_agg(last_error ORDER BY id DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error
               FROM document_jobs GROUP BY state"""
        )
    }
    return {"sagas": states, "breakers": breakers, "document_jobs": jobs}


async def table_counts(conn: PgConnection) -> dict[str, int]:
    tables = [
        "births",
        "birth_certificates",
        "persons",
        "family_versions",
        "inbox",
        "deliveries",
        "outbox",
        "dead_letters",
        "reviews",
        "number_serials",
    ]
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


class PostgresReplayRuns:
    """Replay runs, for `--resume` and the audit log: starting and finishing a run are audited in
    the same transaction as the run's row. Progress saves are not audited."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, run_id: int) -> dict[str, Any] | None:
        with translated():
            async with self._pool.acquire() as conn:
                return await get_run(conn, run_id)

    async def begin(self, operator: str, selection: dict, reason: str, at: datetime) -> int:
        with translated():
            async with self._pool.acquire() as conn, conn.transaction():
                run_id = await start_run(conn, operator, selection, False)
                await PostgresAuditLog(conn).append(
                    AuditEntry(operator, "replay.start", f"replay-run:{run_id}", reason, {"selection": selection}), at
                )
        return run_id

    async def save(self, run_id: int, positions: dict, counts: dict) -> None:
        with translated():
            async with self._pool.acquire() as conn:
                await save_run(conn, run_id, positions, counts, False)

    async def finish(
        self, run_id: int, operator: str, positions: dict, counts: dict, reason: str, at: datetime
    ) -> None:
        with translated():
            async with self._pool.acquire() as conn, conn.transaction():
                await save_run(conn, run_id, positions, counts, True)
                await PostgresAuditLog(conn).append(
                    AuditEntry(operator, "replay.finish", f"replay-run:{run_id}", reason, {"counts": counts}), at
                )
