"""Connection pool, schema migrations and the translation of driver errors into hub errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hub.errors import StoreUnavailable

log = logging.getLogger("hub.postgres")
MIGRATION_LOCK = 727_001  # advisory lock id: one migrator at a time

# What the adapters run their SQL on: a connection borrowed from the pool (a proxy to one, which
# asyncpg's stubs keep apart from Connection) or one opened directly.
PgConnection = asyncpg.Connection | PoolConnectionProxy

# Errors after which the same transaction, retried, may succeed.
TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
    # A concurrent writer won a unique key (same message id or same birth): retrying re-reads
    # the state and takes the already-processed path.
    asyncpg.exceptions.UniqueViolationError,
)


@contextlib.contextmanager
def translated():
    """Re-raise transient driver errors as StoreUnavailable; anything else is a bug."""
    try:
        yield
    except TRANSIENT as exc:
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc


async def create_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    with translated():
        return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, command_timeout=30)


@contextlib.asynccontextmanager
async def connection(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    with translated():
        conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


def _migrations(packages: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The hub's migrations, then those of `packages` (each with a migrations/ folder)."""
    found = []
    for package in ("hub.adapters.postgres", *packages):
        folder = resources.files(package).joinpath("migrations")
        found += [
            (f.name.removesuffix(".sql"), f.read_text())
            for f in sorted(folder.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".sql")
        ]
    return found


async def migrate(conn: PgConnection, *, also: tuple[str, ...] = (), runtime_role: str | None = None) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction. Returns their names.
    `also`: packages whose migrations follow the hub's (the reference servers' own tables).
    `runtime_role`: the role the hub runs as, when `conn` is the owner's: it is granted what it
    needs (migration 0008), and no more, after every run."""
    applied_now = []
    with translated():
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            # No DDL when the table exists: a runtime role without CREATE may then run this too.
            if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
                await conn.execute(
                    "CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
            done = {row["name"] for row in await conn.fetch("SELECT name FROM schema_migrations")}
            for name, sql in _migrations(also):
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                log.info("migration applied name=%s", name)
                applied_now.append(name)
            if runtime_role is not None and runtime_role != await conn.fetchval("SELECT current_user"):
                await conn.execute("SELECT grant_runtime_privileges($1)", runtime_role)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now
