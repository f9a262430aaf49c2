"""The PostgreSQL unit of work: one connection, one transaction, every port on it.

Driver errors leave it as hub errors: transient ones (database.TRANSIENT) as StoreUnavailable,
data errors as StoreRefusedData. A data error is SQLSTATE class 22 (asyncpg's DataError and its
subclasses: a value out of range, too long, with NUL or an untranslatable character; asyncpg
raises it too for an argument it cannot encode) or a UnicodeEncodeError while rows were written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import TracebackType

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from hub.adapters.postgres.audit import PostgresAuditLog
from hub.adapters.postgres.console import PostgresConsoleAccounts, PostgresCorrectionProposals
from hub.adapters.postgres.database import TRANSIENT, PgConnection, release, transient
from hub.adapters.postgres.documents import PostgresDocuments
from hub.adapters.postgres.hospitals import PostgresHospitals
from hub.adapters.postgres.registry import EmbeddedRegistry
from hub.adapters.postgres.sagas import PostgresSagas
from hub.adapters.postgres.store import PostgresInbox, PostgresOutbox, PostgresReviews
from hub.errors import StoreRefusedData, StoreUnavailable
from hub.service.ports import CivilRegistry

DATA_ERRORS = (asyncpg.exceptions.DataError, UnicodeEncodeError)


def _refused(exc: BaseException) -> StoreRefusedData:
    """Named by type and SQLSTATE only: the driver's text quotes the offending value."""
    state = getattr(exc, "sqlstate", None)
    return StoreRefusedData(type(exc).__name__ + (f" (SQLSTATE {state})" if state else ""))


class PostgresUnitOfWork:
    """Use as `async with uow: ...; await uow.commit()`. Leaving without commit rolls back.

    Transient driver errors raised inside the block surface as StoreUnavailable, data errors as
    StoreRefusedData (module docstring).
    """

    def __init__(
        self, pool: asyncpg.Pool, registry: Callable[[PgConnection], CivilRegistry] = EmbeddedRegistry
    ) -> None:
        self._pool, self._registry = pool, registry
        self._conn: PoolConnectionProxy | None = None
        self._tx: Transaction | None = None

    async def __aenter__(self) -> PostgresUnitOfWork:
        try:
            self._conn = conn = await self._pool.acquire()
            self._tx = tx = conn.transaction()
            await tx.start()
        except (*TRANSIENT, asyncpg.exceptions.InternalClientError) as exc:  # the pool's connection was dead
            retry = transient(exc, self._conn)
            await self._release()
            if not retry:
                raise
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self.hospitals = PostgresHospitals(conn)
        self.registry = self._registry(conn)
        self.inbox = PostgresInbox(conn)
        self.outbox = PostgresOutbox(conn)
        self.reviews = PostgresReviews(conn)
        self.audit = PostgresAuditLog(conn)
        self.sagas = PostgresSagas(conn)
        self.documents = PostgresDocuments(conn)
        self.accounts = PostgresConsoleAccounts(conn)
        self.proposals = PostgresCorrectionProposals(conn)
        return self

    async def commit(self) -> None:
        tx = self._tx
        if tx is None:  # the buffered rows would be written outside any transaction
            raise RuntimeError("commit outside the unit of work, or after it committed")
        try:
            await self.registry.flush()
            await self.inbox.flush()
            await self.outbox.flush()
            await self.documents.flush()
            await tx.commit()
        except TRANSIENT as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except DATA_ERRORS as exc:
            raise _refused(exc) from exc
        self._tx = None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        retry = exc is not None and transient(exc, self._conn)  # asked while the connection is still ours
        try:
            if self._tx is not None:
                with contextlib.suppress(*TRANSIENT):  # the connection is gone: the server rolled back already
                    await self._tx.rollback()
        finally:
            await self._release()
        if retry:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if exc is not None and isinstance(exc, DATA_ERRORS):
            raise _refused(exc) from exc

    async def _release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await release(self._pool, conn)
