"""The audit log: append-only, each row chained to the previous one by a SHA-256 hash.

The hub's runtime role may only read and append (migration 0008); a trigger also refuses UPDATE
and DELETE. The chain makes a change that bypasses both (the owner role, a superuser, an edit of
the files) detectable: `verify_chain` recomputes every hash. Deleting the newest rows, truncating,
or editing a row and re-hashing the rest keeps a chain that is consistent in itself: the anchors
outside the database (hub/adapters/audit_anchors.py) reveal those.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
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
class ChainProblem:
    row: int
    problem: str  # says what does not hold, never the row's contents


@dataclass(frozen=True)
class Verification:
    rows: int
    problems: list[ChainProblem]  # in row order: the walk goes on past a bad row
    head: tuple[int, str] | None = None  # (id, hash) of the newest row
    hashes: dict[int, str] = field(default_factory=dict)  # the stored hash of each row asked about

    @property
    def broken_at(self) -> int | None:
        """The id of the first row whose hash or link does not hold."""
        return self.problems[0].row if self.problems else None

    @property
    def problem(self) -> str | None:
        return self.problems[0].problem if self.problems else None


async def verify_chain(conn: PgConnection, rows_wanted: Collection[int] = ()) -> Verification:
    """Recompute every row's hash from its contents and its recorded predecessor, and check each
    row links to the one before: an edited row shows as itself, a removed one at its successor.
    Also returns the stored hashes of `rows_wanted` (the anchored rows) that exist."""
    wanted = set(rows_wanted)
    prev, count, problems, head, hashes = GENESIS, 0, [], None, {}
    async with conn.transaction():
        async for row in conn.cursor("SELECT * FROM audit_log ORDER BY id"):
            count += 1
            if row["prev_hash"] != prev:
                problems.append(
                    ChainProblem(
                        row["id"], "does not link to the row before it (a row was removed, inserted or changed)"
                    )
                )
            entry = AuditEntry(row["actor"], row["action"], row["subject"], row["reason"], json.loads(row["details"]))
            if entry_hash(row["prev_hash"], row["at"], entry) != row["hash"]:
                problems.append(ChainProblem(row["id"], "contents do not match the hash (the row was changed)"))
            if row["id"] in wanted:
                hashes[row["id"]] = row["hash"]
            prev, head = row["hash"], (row["id"], row["hash"])
    return Verification(count, problems, head, hashes)


async def chain_head(conn: PgConnection) -> tuple[int, str] | None:
    """(id, hash) of the newest row; None while the log is empty."""
    row = await conn.fetchrow("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    return None if row is None else (row["id"], row["hash"])


async def database_identity(conn: PgConnection) -> str:
    """Which database a chain belongs to: the cluster's system identifier (fixed at initdb, no SQL
    role can change it) and the database's name. A database dropped and created again under the
    same name keeps it, so its old anchors still apply."""
    return await conn.fetchval(
        "SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || current_database()"
    )


async def rewrite_privileges(conn: PgConnection) -> list[str]:
    """What the connected role could do to rewrite the log (empty for the runtime role of 0008):
    a superuser, the owner or a member of the owner role may update, delete and truncate."""
    held = await conn.fetchrow(
        """SELECT has_table_privilege('audit_log', 'UPDATE') AS update,
                  has_table_privilege('audit_log', 'DELETE') AS delete,
                  has_table_privilege('audit_log', 'TRUNCATE') AS truncate"""
    )
    assert held is not None  # a SELECT without FROM returns one row
    return [name.upper() for name, allowed in held.items() if allowed]
