"""Which PostgreSQL failures are waited out (hub/adapters/postgres/database.py): restarts, a
read-only or full cluster and a connection lost mid-statement are; a data error and a driver
error on a live connection are not."""

from __future__ import annotations

import asyncpg
import pytest

from hub.adapters.postgres.database import borrowed, transient, translated
from hub.errors import StoreUnavailable


class Connection:
    def __init__(self, closed: bool = False, released: bool = False) -> None:
        self._closed, self._released = closed, released

    def is_closed(self) -> bool:
        if self._released:
            raise asyncpg.exceptions.InterfaceError("cannot call Connection.is_closed(): released back to the pool")
        return self._closed


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.CrashShutdownError("terminating connection because of crash of another server process"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
        asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
        asyncpg.exceptions.OutOfMemoryError("out of memory"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
    ids=type,
)
def test_the_database_saying_not_now_is_transient(error):
    assert transient(error)
    with pytest.raises(StoreUnavailable), translated():
        raise error


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.DataError("invalid byte sequence for encoding UTF8: 0x00"),
        asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
        asyncpg.exceptions.UndefinedColumnError("column x does not exist"),
    ],
    ids=type,
)
def test_the_same_statement_failing_the_same_way_is_not(error):
    assert not transient(error, Connection(closed=True))


@pytest.mark.parametrize("connection", [Connection(closed=True), Connection(released=True)], ids=["closed", "released"])
def test_a_driver_error_on_a_lost_connection_is_transient(connection):
    error = asyncpg.exceptions.InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    assert transient(error, connection)
    with pytest.raises(StoreUnavailable), translated(connection):
        raise error


def test_a_driver_error_on_a_live_connection_or_none_at_hand_is_a_bug():
    error = asyncpg.exceptions.InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    assert not transient(error, Connection()) and not transient(error)
    with pytest.raises(asyncpg.exceptions.InternalClientError), translated(Connection()):
        raise error


class Pool:
    def __init__(self, release_error: BaseException | None = None, conn: Connection | None = None) -> None:
        self.conn, self.release_error = conn or Connection(), release_error

    async def acquire(self) -> Connection:
        return self.conn

    async def release(self, conn: Connection) -> None:
        if self.release_error is not None:
            raise self.release_error


HALF_WAY = asyncpg.exceptions.InternalClientError("cannot switch to state 15; another operation (2) is in progress")


async def test_work_on_a_borrowed_connection_that_was_lost_is_retried():
    pool = Pool(release_error=HALF_WAY, conn=Connection(closed=True))
    with pytest.raises(StoreUnavailable, match="InternalClientError"):
        async with borrowed(pool) as conn:
            assert conn is pool.conn
            raise HALF_WAY


async def test_a_connection_lost_on_its_way_back_to_the_pool_is_no_error():
    async with borrowed(Pool(release_error=HALF_WAY, conn=Connection(closed=True))):
        pass
    async with borrowed(Pool(release_error=ConnectionResetError(104, "reset"))):
        pass


async def test_a_driver_error_handing_back_a_live_connection_is_a_bug():
    with pytest.raises(asyncpg.exceptions.InternalClientError):
        async with borrowed(Pool(release_error=HALF_WAY)):
            pass
