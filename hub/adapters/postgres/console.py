"""PostgreSQL adapters of the console's ports: accounts and sessions (ConsoleAccounts) and
correction proposals (CorrectionProposals), on the unit of work's connection (migration 0011)."""

from __future__ import annotations

import json
from datetime import datetime

from hub.adapters.postgres.database import PgConnection
from hub.errors import OperatorError
from hub.service.ports import ConsoleAccount, ConsoleSession, CorrectionProposal

_ACCOUNT = """username, display_name, role, password_hash, created_at, password_set_at, disabled_at,
              failed_signins, locked_until"""
_SESSION = "token_hash, username, csrf_token, created_at, last_seen_at, expires_at"
_PROPOSAL = "id, akta_number, changes, reason, proposed_by, proposed_at, status, decided_by, decided_at, note"


class PostgresConsoleAccounts:
    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn

    async def add(self, account: ConsoleAccount) -> None:
        added = await self._conn.fetchval(
            f"""INSERT INTO console_users ({_ACCOUNT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (username) DO NOTHING RETURNING true""",
            *_account_row(account),
        )
        if not added:
            raise OperatorError(f"a console user named {account.username!r} exists already")

    async def get(self, username: str, *, lock: bool = False) -> ConsoleAccount | None:
        row = await self._conn.fetchrow(
            f"SELECT {_ACCOUNT} FROM console_users WHERE username = $1" + (" FOR UPDATE" if lock else ""), username
        )
        return None if row is None else ConsoleAccount(**dict(row))

    async def all(self) -> list[ConsoleAccount]:
        rows = await self._conn.fetch(f"SELECT {_ACCOUNT} FROM console_users ORDER BY username")
        return [ConsoleAccount(**dict(row)) for row in rows]

    async def save(self, account: ConsoleAccount) -> None:
        await self._conn.execute(
            """UPDATE console_users SET display_name = $2, role = $3, password_hash = $4, created_at = $5,
                      password_set_at = $6, disabled_at = $7, failed_signins = $8, locked_until = $9
               WHERE username = $1""",
            *_account_row(account),
        )

    async def open_session(self, session: ConsoleSession) -> None:
        await self._conn.execute(
            f"INSERT INTO console_sessions ({_SESSION}) VALUES ($1, $2, $3, $4, $5, $6)",
            session.token_hash,
            session.username,
            session.csrf_token,
            session.created_at,
            session.last_seen_at,
            session.expires_at,
        )

    async def session(self, token_hash: bytes) -> ConsoleSession | None:
        row = await self._conn.fetchrow(f"SELECT {_SESSION} FROM console_sessions WHERE token_hash = $1", token_hash)
        return None if row is None else ConsoleSession(**dict(row))

    async def touch(self, token_hash: bytes, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE console_sessions SET last_seen_at = greatest(last_seen_at, $2) WHERE token_hash = $1",
            token_hash,
            at,
        )

    async def end_session(self, token_hash: bytes) -> None:
        await self._conn.execute("DELETE FROM console_sessions WHERE token_hash = $1", token_hash)

    async def end_sessions_of(self, username: str) -> int:
        ended = await self._conn.fetch("DELETE FROM console_sessions WHERE username = $1 RETURNING 1", username)
        return len(ended)


def _account_row(a: ConsoleAccount) -> tuple:
    return (
        a.username,
        a.display_name,
        a.role,
        a.password_hash,
        a.created_at,
        a.password_set_at,
        a.disabled_at,
        a.failed_signins,
        a.locked_until,
    )


class PostgresCorrectionProposals:
    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn

    async def propose(self, akta_number: str, changes: dict, reason: str, by: str, at: datetime) -> int:
        return await self._conn.fetchval(
            """INSERT INTO correction_proposals (akta_number, changes, reason, proposed_by, proposed_at)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            akta_number,
            json.dumps(changes),
            reason,
            by,
            at,
        )

    async def get(self, proposal_id: int, *, lock: bool = False) -> CorrectionProposal | None:
        row = await self._conn.fetchrow(
            f"SELECT {_PROPOSAL} FROM correction_proposals WHERE id = $1" + (" FOR UPDATE" if lock else ""),
            proposal_id,
        )
        return None if row is None else _proposal(row)

    async def listed(self, status: str | None) -> list[CorrectionProposal]:
        rows = await self._conn.fetch(
            f"""SELECT {_PROPOSAL} FROM correction_proposals WHERE $1::text IS NULL OR status = $1
                ORDER BY proposed_at, id""",
            status,
        )
        return [_proposal(row) for row in rows]

    async def decide(self, proposal_id: int, status: str, by: str, note: str, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE correction_proposals SET status = $2, decided_by = $3, note = $4, decided_at = $5 WHERE id = $1",
            proposal_id,
            status,
            by,
            note,
            at,
        )


def _proposal(row) -> CorrectionProposal:
    values = dict(row)
    values["changes"] = json.loads(values["changes"])
    return CorrectionProposal(**values)
