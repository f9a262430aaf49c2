"""The audit log: append-only, each row chained to the previous one by a SHA-256 hash.

A trigger refuses UPDATE and DELETE; the chain makes any change that bypasses it (a superuser
disabling the trigger, an edit of the files) detectable: `verify` recomputes every hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from hub.adapters.postgres.database import PgConnection
from hub.service.ports import AuditEntry

GENESIS = "0" * 64
AUDIT_LOCK = 727_003


def entry_hash(prev_hash: str, at: str, entry: AuditEntry) -> str:
    canonical = json.dumps(
        {
            "at": at,
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "reason": entry.reason,
            "details": entry.details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


class PostgresAuditLog:
    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn

    async def append(self, entry: AuditEntry, at: datetime) -> str:
        """Append inside the caller's transaction; appends are serialised so the chain stays linear."""
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK)
        prev = await self._conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
        stamp = at.isoformat()
        digest = entry_hash(prev, stamp, entry)
        await self._conn.execute(
            """INSERT INTO audit_log (at, actor, action, subject, reason, details, prev_hash, hash)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            stamp,
            entry.actor,
            entry.action,
            entry.subject,
            entry.reason,
            json.dumps(entry.details),
            prev,
            digest,
        )
        return digest


@dataclass(frozen=True)
class Verification:
    rows: int
    broken_at: int | None  # id of the first row whose hash or link does not hold
    problem: str | None


async def verify_chain(conn: PgConnection) -> Verification:
    prev, count = GENESIS, 0
    async with conn.transaction():
        async for row in conn.cursor("SELECT * FROM audit_log ORDER BY id"):
            count += 1
            if row["prev_hash"] != prev:
                return Verification(
                    count, row["id"], "link to the previous row is broken (a row was removed or inserted)"
                )
            entry = AuditEntry(row["actor"], row["action"], row["subject"], row["reason"], json.loads(row["details"]))
            if entry_hash(prev, row["at"], entry) != row["hash"]:
                return Verification(count, row["id"], "contents do not match the hash (the row was changed)")
            prev = row["hash"]
    return Verification(count, None, None)
