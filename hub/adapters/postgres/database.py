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

# Errors after which the same transaction, retried, may succeed. The server's own states say
# "not now": restarting or shutting down (class 57: 57P01-03), read-only (25006: a standby, or an
# operator's default_transaction_read_only), out of disk, memory or connections (class 53); the
# connection lost mid-statement; conflicts between concurrent writers. A data error (class 22) is
# not among them: the same values fail the same way (unit_of_work.py answers the message instead).
TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
    # A concurrent writer won a unique key (same message id or same birth): retrying re-reads
    # the state and takes the already-processed path.
    asyncpg.exceptions.UniqueViolationError,
)


def connection_lost(conn: PgConnection) -> bool:
    """The connection is gone: closed, or (borrowed from a pool) taken back by the pool when it died."""
    try:
        return conn.is_closed()
    except asyncpg.exceptions.InterfaceError:  # "released back to the pool": asyncpg does so on a lost connection
        return True


def transient(exc: BaseException, conn: PgConnection | None = None) -> bool:
    """Whether retrying the transaction may succeed: a TRANSIENT error, or asyncpg's
    InternalClientError on `conn` once that connection is gone (a server that goes away in the
    middle of a statement can leave the driver's protocol half-way, "cannot switch to state ...").
    On a live connection an InternalClientError stays what it says: a bug."""
    if isinstance(exc, TRANSIENT):
        return True
    return isinstance(exc, asyncpg.exceptions.InternalClientError) and conn is not None and connection_lost(conn)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def translated(conn: PgConnection | None = None):
    """Re-raise transient driver errors as StoreUnavailable; anything else is a bug. With `conn`,
    the connection the block works on, a driver error on it after it was lost counts as transient."""
    try:
        yield
    except TRANSIENT as exc:
        raise _unavailable(exc) from exc
    except asyncpg.exceptions.InternalClientError as exc:
        if not transient(exc, conn):
            raise
        raise _unavailable(exc) from exc


@contextlib.asynccontextmanager
async def borrowed(pool: asyncpg.Pool) -> AsyncIterator[PoolConnectionProxy]:
    """A pooled connection for one piece of work, its driver errors translated (translated(conn))."""
    with translated():
        conn = await pool.acquire()
    try:
        with translated(conn):
            yield conn
    finally:
        await release(pool, conn)


async def release(pool: asyncpg.Pool, conn: PoolConnectionProxy) -> None:
    """Hand a connection back. One lost meanwhile is no error: the pool drops it, and the work
    done on it is committed or rolled back already, so there is nothing to retry."""
    try:
        await pool.release(conn)
    except (*TRANSIENT, asyncpg.exceptions.InternalClientError) as exc:
        if not transient(exc, conn):
            raise


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
