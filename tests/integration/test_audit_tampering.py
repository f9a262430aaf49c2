"""The audit log against its own writer, on the real PostgreSQL server (issue #8).

The hub's runtime role is refused every rewrite. Someone with the owner role's credentials can
rewrite, and each of the four tamperings is then reported by `hub audit verify` with the rows
concerned: an edited row by the chain; deleting the newest row, re-hashing the chain after an
edit, and truncating by the anchor that the key outside the database sealed.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from typer.testing import CliRunner

from hub.adapters.audit_anchors import AnchorFile
from hub.adapters.postgres.audit import GENESIS, entry_hash, rewrite_privileges
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.bootstrap import audit_anchoring, open_pool, operator_actions, prepare_database
from hub.entrypoints.cli import app
from hub.entrypoints.ops_common import operator_identity
from hub.service.ports import AuditEntry
from tests.integration.test_registry_concurrency import notice_for, register
from tests.support.environment import create_environment, drop_environment
from tests.support.people import birth, households

pytestmark = [pytest.mark.postgres, pytest.mark.faults]
ACTOR = "Siti Rahmawati"  # stands for personal data: no report may show it
ROWS = 5
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
async def logged():
    """A database of its own with ROWS audit entries, the newest anchored."""
    environment = await create_environment("audit")
    pool = await open_pool(environment.settings)
    try:
        for n in range(ROWS):
            async with PostgresUnitOfWork(pool) as uow:
                entry = AuditEntry(ACTOR, "review.approve", f"message-{n}", "checked", {"n": n})
                await uow.audit.append(entry, START + timedelta(minutes=n))
                await uow.commit()
        anchor = await audit_anchoring(environment.settings, pool).anchor()
        assert anchor is not None and anchor.row == ROWS
        yield environment, pool
    finally:
        await pool.close()
        await drop_environment(environment)


async def _as_owner(environment, *statements: str) -> None:
    conn = await asyncpg.connect(environment.owner_dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _verify(environment, pool):
    report = await audit_anchoring(environment.settings, pool).verify()
    return report, [(f.row, f.problem) for f in report.findings]


def _cli(environment, *args: str):
    return CliRunner().invoke(app, list(args), env=environment.env())


async def test_the_runtime_role_reads_and_appends_but_cannot_rewrite(logged):
    environment, pool = logged
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == ROWS
        assert await rewrite_privileges(conn) == []
        for attempt in (
            "UPDATE audit_log SET actor = 'someone else' WHERE id = 2",
            f"DELETE FROM audit_log WHERE id = {ROWS}",
            "TRUNCATE audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
            "DROP TABLE audit_log",
            "CREATE TABLE audit_log_copy (id bigint)",
            "DELETE FROM schema_migrations",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(attempt)
        await conn.execute("GRANT UPDATE ON audit_log TO CURRENT_USER")  # PostgreSQL warns and grants nothing
        assert await rewrite_privileges(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == ROWS
    report, findings = await _verify(environment, pool)
    assert report.intact and findings == [] and report.notes == []


async def test_a_privilege_granted_by_hand_is_taken_back_by_the_next_migration(logged):
    environment, pool = logged
    await _as_owner(environment, "GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO hub")
    async with pool.acquire() as conn:
        assert await rewrite_privileges(conn) == ["UPDATE", "DELETE", "TRUNCATE"]
    report, _ = await _verify(environment, pool)
    assert report.intact and any("UPDATE/DELETE/TRUNCATE" in note for note in report.notes)
    await prepare_database(environment.settings)
    async with pool.acquire() as conn:
        assert await rewrite_privileges(conn) == []


async def test_an_edited_row_is_reported_by_the_chain(logged):
    environment, pool = logged
    await _as_owner(
        environment,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "UPDATE audit_log SET actor = 'someone else' WHERE id = 2",
    )
    _, findings = await _verify(environment, pool)
    assert findings == [(2, "contents do not match the hash (the row was changed)")]


async def test_deleting_the_newest_row_is_reported_by_the_anchor(logged):
    environment, pool = logged
    await _as_owner(
        environment,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        f"DELETE FROM audit_log WHERE id = {ROWS}",
    )
    report, findings = await _verify(environment, pool)
    assert report.rows == ROWS - 1
    assert [(row, "gone" in problem) for row, problem in findings] == [(ROWS, True)]


async def test_an_edit_with_the_chain_re_hashed_is_reported_by_the_anchor(logged):
    environment, pool = logged
    conn = await asyncpg.connect(environment.owner_dsn)
    try:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = 2")
        prev = GENESIS
        for row in await conn.fetch("SELECT * FROM audit_log ORDER BY id"):
            entry = AuditEntry(row["actor"], row["action"], row["subject"], row["reason"], json.loads(row["details"]))
            digest = entry_hash(prev, row["at"], entry)
            await conn.execute("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3", prev, digest, row["id"])
            prev = digest
    finally:
        await conn.close()
    report, findings = await _verify(environment, pool)
    assert report.rows == ROWS
    assert [(row, "re-hashed" in problem) for row, problem in findings] == [(ROWS, True)], "the chain holds in itself"


async def test_truncating_is_reported_by_the_anchor_and_on_the_command_line(logged):
    environment, pool = logged
    await _as_owner(environment, "TRUNCATE audit_log")
    report, findings = await _verify(environment, pool)
    assert report.rows == 0 and [row for row, _ in findings] == [ROWS]
    shown = await asyncio.to_thread(_cli, environment, "audit", "verify", "--json")
    assert shown.exit_code == 1, shown.output
    data = json.loads(shown.output)
    assert data["intact"] is False and data["findings"][0]["row"] == ROWS and data["findings"][0]["anchor_line"] == 1
    text = await asyncio.to_thread(_cli, environment, "audit", "verify")
    assert text.exit_code == 1 and "TAMPERED" in text.output and f"row {ROWS}" in text.output
    assert ACTOR not in shown.output + text.output


async def test_an_altered_anchor_is_reported_and_an_intact_log_verifies(logged):
    environment, pool = logged
    intact = await asyncio.to_thread(_cli, environment, "audit", "verify")
    assert intact.exit_code == 0 and "intact" in intact.output and "1 anchors checked" in intact.output
    anchors = environment.settings.audit_anchor_file
    anchors.write_text(anchors.read_text().replace(f'"row":{ROWS}', f'"row":{ROWS - 1}'))
    _, findings = await _verify(environment, pool)
    assert findings == [(ROWS - 1, "the seal does not hold: the anchor was altered")]


async def test_anchoring_writes_only_a_changed_head_and_once_more_when_stopping(logged):
    environment, pool = logged
    anchoring = audit_anchoring(environment.settings, pool)
    assert await anchoring.anchor() is None, "the newest row is anchored already"
    stop = asyncio.Event()
    keeping = asyncio.ensure_future(anchoring.keep_anchored(0.05, stop))
    await asyncio.sleep(0.2)
    async with PostgresUnitOfWork(pool) as uow:
        await uow.audit.append(AuditEntry("x@host", "replay.start", "replay-run:1", "", {}), START)
        await uow.commit()
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(keeping, 5)
    rows = [anchor.row for _, anchor in AnchorFile(environment.settings.audit_anchor_file).lines() if anchor]
    assert rows == [ROWS, ROWS + 1]


async def test_an_operator_command_anchors_what_it_appended_as_it_ends(logged):
    environment, pool = logged
    async with operator_actions(environment.settings) as actions:
        run_id = await actions.runs.begin(operator_identity(), {"source": "ids"}, "test", START)
    newest = AnchorFile(environment.settings.audit_anchor_file).newest(await _identity(pool))
    assert newest is not None and newest.row == ROWS + 1
    assert (await _verify(environment, pool))[0].intact
    assert run_id


async def _identity(pool) -> str:
    from hub.adapters.postgres.audit import database_identity

    async with pool.acquire() as conn:
        return await database_identity(conn)


async def test_the_actor_recorded_is_the_operating_system_account(environment, pool):
    home = (await households(environment.settings.dsn, 3))[2]
    registration = await register(pool, notice_for(birth(home, "103578001")))
    shown = await asyncio.to_thread(
        _cli, environment, "status", registration.akta_number, "--show-personal-data", "--reason", "request 42"
    )
    assert shown.exit_code == 0, shown.output
    listed = await asyncio.to_thread(_cli, environment, "audit", "list", "--json")
    (view,) = [a for a in json.loads(listed.output) if a["action"] == "personal-data.view"]
    assert view["actor"] == operator_identity()
    refused = await asyncio.to_thread(
        _cli, environment, "status", registration.akta_number, "--operator", "someone-else", "--json"
    )
    assert refused.exit_code == 2 and "No such option" in refused.output
    verified = json.loads((await asyncio.to_thread(_cli, environment, "audit", "verify", "--json")).output)
    assert verified["intact"] and verified["anchors"]["newest"]["row"] == view["id"], "status anchored its entry"
