"""The unit of work when PostgreSQL goes away under it (hub/adapters/postgres/unit_of_work.py): a
driver error on the lost connection is a retry, not a crash; a connection lost while handed back
after the work is done is no error at all; on a live connection a driver error stays a bug."""

from __future__ import annotations

import asyncpg
import pytest

from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.errors import StoreUnavailable

PROTOCOL_HALF_WAY = "cannot switch to state 15; another operation (2) is in progress"


class Transaction:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def start(self) -> None:
        if self.conn.dead_on_arrival:
            self.conn.closed = True
            raise asyncpg.exceptions.InternalClientError(PROTOCOL_HALF_WAY)

    async def commit(self) -> None:
        pass

    async def rollback(self) -> None:
        raise asyncpg.exceptions.InterfaceError(
            "cannot call Transaction.rollback(): the underlying connection is closed"
        )


class Connection:
    def __init__(self) -> None:
        self.closed = self.dead_on_arrival = False

    def transaction(self) -> Transaction:
        return Transaction(self)

    def is_closed(self) -> bool:
        return self.closed


class Pool:
    def __init__(self, release_error: BaseException | None = None) -> None:
        self.conn, self.release_error, self.released = Connection(), release_error, 0

    async def acquire(self) -> Connection:
        return self.conn

    async def release(self, conn: Connection) -> None:
        self.released += 1
        if self.release_error is not None:
            raise self.release_error


def _uow(pool: Pool) -> PostgresUnitOfWork:
    return PostgresUnitOfWork(pool)  # type: ignore[arg-type]


async def test_a_driver_error_on_a_connection_the_server_dropped_is_retried():
    pool = Pool()
    with pytest.raises(StoreUnavailable, match="InternalClientError"):
        async with _uow(pool):
            pool.conn.closed = True  # the server went away mid-statement
            raise asyncpg.exceptions.InternalClientError(PROTOCOL_HALF_WAY)
    assert pool.released == 1


async def test_a_dead_connection_from_the_pool_is_retried_and_handed_back():
    pool = Pool()
    pool.conn.dead_on_arrival = True
    with pytest.raises(StoreUnavailable, match="InternalClientError"):
        async with _uow(pool):
            pytest.fail("the unit of work began on a dead connection")
    assert pool.released == 1


async def test_a_driver_error_on_a_live_connection_is_a_bug():
    with pytest.raises(asyncpg.exceptions.InternalClientError):
        async with _uow(Pool()):
            raise asyncpg.exceptions.InternalClientError(PROTOCOL_HALF_WAY)


async def test_a_read_only_database_is_waited_out():
    with pytest.raises(StoreUnavailable, match="ReadOnlySQLTransactionError"):
        async with _uow(Pool()):
            raise asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction")


@pytest.mark.parametrize(
    "lost",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=type,
)
async def test_a_connection_lost_while_handed_back_after_the_work_is_no_error(lost):
    pool = Pool(release_error=lost)
    async with _uow(pool) as uow:
        await uow.commit()
    assert pool.released == 1
