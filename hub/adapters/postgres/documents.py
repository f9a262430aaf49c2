"""Issued documents, status-list slots and document jobs on the unit of work's connection.

`claim_due` locks one due job (FOR UPDATE SKIP LOCKED) for the rest of the transaction and skips
a job while an earlier job of the same family is still pending, so a family's card versions are
issued in order (twins). `next_version` takes a transaction-scoped advisory lock on the document's
identity, so two transactions never issue the same version.
"""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from hub.adapters.postgres.database import PgConnection
from hub.adapters.postgres.store import scope, sender
from hub.documents.content_json import from_json, to_json
from hub.domain.documents import (
    STATUS_CODE,
    DocumentKind,
    DocumentRef,
    DocumentStatus,
    SignedDocument,
    StatusCode,
    StatusSlot,
)
from hub.service.ports import DocumentJob, DocumentRequest, StoredDocument

DOCUMENT_CHANNEL = "hub_documents"
_COLUMNS = """document_id, kind, number, version, status, kk_number, regency, list_year, list_index, message_id, reason,
              content, pdf, qr_payload, key_id, issued_at, supersedes, status_reason, hospital_id"""


class PostgresDocuments:
    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn
        self._wake_workers = False

    async def request(self, request: DocumentRequest) -> None:
        body = {
            "reason": request.reason,
            "contents": [to_json(c) for c in request.contents],
            "result": request.result,
            "hospital_id": request.hospital_id,
            "correction": request.correction,
        }
        await self._conn.execute(
            """INSERT INTO document_jobs (message_id, sequence, reason, kk_number, request, trace_context, origin_at,
                                         hospital_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (hospital_id, message_id, sequence) DO NOTHING""",
            request.message_id,
            request.sequence,
            request.reason,
            request.kk_number,
            json.dumps(body),
            request.trace_context,
            request.origin_at,
            scope(request.hospital_id),
        )
        self._wake_workers = True

    async def flush(self) -> None:
        """Just before commit: one NOTIFY wakes the document workers for every job this unit of
        work queued (PostgreSQL delivers it at commit, one round trip instead of one per job)."""
        if self._wake_workers:
            await self._conn.execute(f"NOTIFY {DOCUMENT_CHANNEL}")
            self._wake_workers = False

    async def claim_due(self, now: datetime) -> DocumentJob | None:
        row = await self._conn.fetchrow(
            """SELECT j.id, j.message_id, j.sequence, j.kk_number, j.request, j.attempts, j.owed_copies,
                      j.trace_context, j.origin_at
               FROM document_jobs j
               WHERE j.state = 'pending' AND j.next_attempt_at <= $1
                 AND NOT EXISTS (SELECT 1 FROM document_jobs e
                                 WHERE e.kk_number = j.kk_number AND e.state = 'pending' AND e.id < j.id)
               ORDER BY j.next_attempt_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED""",
            now,
        )
        if row is None:
            return None
        body = json.loads(row["request"])
        request = DocumentRequest(
            row["message_id"],
            row["sequence"],
            body["reason"],
            row["kk_number"],
            tuple(from_json(c) for c in body["contents"]),
            body["result"],
            body["hospital_id"],
            body.get("correction"),
            row["trace_context"],
            row["origin_at"],
        )
        return DocumentJob(row["id"], request, row["attempts"], row["owed_copies"])

    async def owe_copy(self, hospital_id: str | None, message_id: str) -> bool:
        return bool(
            await self._conn.fetchval(
                """UPDATE document_jobs SET owed_copies = owed_copies + 1
               WHERE id = (SELECT max(id) FROM document_jobs WHERE hospital_id = $1 AND message_id = $2)
                 AND state = 'pending'
               RETURNING true""",
                scope(hospital_id),
                message_id,
            )
        )

    async def retry_at(self, job_id: int, when: datetime, error: str) -> None:
        await self._conn.execute(
            """UPDATE document_jobs SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3
               WHERE id = $1""",
            job_id,
            when,
            error,
        )

    async def finish(self, job_id: int) -> None:
        await self._conn.execute(
            "UPDATE document_jobs SET state = 'done', attempts = attempts + 1, done_at = now() WHERE id = $1", job_id
        )

    async def next_version(self, kind: DocumentKind, number: str) -> int:
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"document:{kind.value}:{number}"
        )
        latest = await self._conn.fetchval(
            "SELECT max(version) FROM documents WHERE kind = $1 AND number = $2", kind.value, number
        )
        return (latest or 0) + 1

    async def allocate_slot(self, regency: str, year: int) -> StatusSlot:
        index = await self._conn.fetchval(
            """INSERT INTO status_lists (regency, year, next_index) VALUES ($1, $2, 1)
               ON CONFLICT (regency, year) DO UPDATE SET next_index = status_lists.next_index + 1
               RETURNING next_index - 1""",
            regency,
            year,
        )
        return StatusSlot(regency, year, index)

    async def store(
        self,
        document: SignedDocument,
        *,
        kk_number: str,
        message_id: str,
        reason: str,
        stale: bool = False,
        hospital_id: str | None = None,
    ) -> str | None:
        ref = document.ref
        previous = (
            None
            if stale
            else await self._conn.fetchval(
                """UPDATE documents SET status = 'superseded', status_reason = $3, status_changed_at = $4
               WHERE kind = $1 AND number = $2 AND status = 'active' RETURNING document_id""",
                ref.kind.value,
                ref.number,
                f"superseded by version {ref.version}",
                ref.issued_at,
            )
        )
        await self._conn.execute(
            """INSERT INTO documents (document_id, kind, number, version, status, kk_number, regency, list_year, list_index,
                                      message_id, reason, content, pdf, qr_payload, key_id, issued_at, supersedes,
                                      status_reason, status_changed_at, hospital_id)
               VALUES ($1, $2, $3, $4, $17::text, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::timestamptz, $16,
                       CASE WHEN $17::text = 'superseded' THEN 'a newer card version was issued first' END,
                       CASE WHEN $17::text = 'superseded' THEN $15::timestamptz END, $18)""",
            ref.document_id,
            ref.kind.value,
            ref.number,
            ref.version,
            kk_number,
            ref.slot.regency,
            ref.slot.year,
            ref.slot.index,
            message_id,
            reason,
            json.dumps(to_json(document.content)),
            document.pdf,
            document.qr_payload,
            document.key_id,
            ref.issued_at,
            previous,
            "superseded" if stale else "active",
            scope(hospital_id),
        )
        return None if previous is None else str(previous)

    async def current(self, kind: DocumentKind, number: str) -> StoredDocument | None:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM documents WHERE kind = $1 AND number = $2 AND status = 'active'",
            kind.value,
            number,
        )
        return None if row is None else _stored(row)

    async def get(self, document_id: str) -> StoredDocument | None:
        row = await self._conn.fetchrow(f"SELECT {_COLUMNS} FROM documents WHERE document_id = $1::uuid", document_id)
        return None if row is None else _stored(row)

    async def versions(self, kind: DocumentKind, number: str) -> list[StoredDocument]:
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM documents WHERE kind = $1 AND number = $2 ORDER BY version", kind.value, number
        )
        return [_stored(row) for row in rows]

    async def of_message(self, hospital_id: str | None, message_id: str) -> list[StoredDocument]:
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM documents WHERE message_id = $2 AND hospital_id = $1 ORDER BY issued_at, kind",
            scope(hospital_id),
            message_id,
        )
        return [_stored(row) for row in rows]

    async def set_status(self, document_id: str, status: DocumentStatus, reason: str, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE documents SET status = $2, status_reason = $3, status_changed_at = $4 WHERE document_id = $1::uuid",
            document_id,
            status.value,
            reason,
            at,
        )

    async def statuses(self, regency: str, year: int) -> tuple[dict[int, StatusCode], int]:
        size = await self._conn.fetchval(
            "SELECT next_index FROM status_lists WHERE regency = $1 AND year = $2", regency, year
        )
        rows = await self._conn.fetch(
            "SELECT list_index, status FROM documents WHERE regency = $1 AND list_year = $2 AND status <> 'active'",
            regency,
            year,
        )
        return {row["list_index"]: STATUS_CODE[DocumentStatus(row["status"])] for row in rows}, size or 0


def _stored(row: asyncpg.Record) -> StoredDocument:
    slot = StatusSlot(row["regency"], row["list_year"], row["list_index"])
    ref = DocumentRef(
        str(row["document_id"]),
        DocumentKind(row["kind"]),
        row["number"],
        row["version"],
        row["issued_at"],
        slot,
        DocumentStatus(row["status"]),
    )
    return StoredDocument(
        ref,
        from_json(json.loads(row["content"])),
        row["kk_number"],
        row["message_id"],
        bytes(row["pdf"]),
        row["qr_payload"],
        row["key_id"],
        row["reason"],
        None if row["supersedes"] is None else str(row["supersedes"]),
        row["status_reason"],
        sender(row["hospital_id"]),
    )


async def document_backlog(conn: PgConnection) -> dict[str, int]:
    """Jobs pending and done, for operators."""
    rows = await conn.fetch("SELECT state, count(*) AS n FROM document_jobs GROUP BY state")
    return {row["state"]: row["n"] for row in rows}
