"""LISTEN for work: a connection that wakes a loop when a transaction notifies its channel, and
is opened again after the database restarts."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from hub.adapters.postgres.database import TRANSIENT, translated

log = logging.getLogger("hub.postgres")
CLOSE_WITHIN = 5.0


class NotifyListener:
    """Sets `wake` on every notification of `channel`. `ensure()`, called before each round of
    work, opens the connection, or opens it again once it was lost (a restart, a failover), and
    then sets `wake`: what was notified meanwhile reached nobody. Until then the loop polls.
    StoreUnavailable while the database cannot be reached. `async with` closes it."""

    def __init__(self, dsn: str, channel: str) -> None:
        self.wake = asyncio.Event()
        self._dsn, self._channel = dsn, channel
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> NotifyListener:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def ensure(self) -> None:
        if self._conn is not None:
            if not self._conn.is_closed():
                return
            log.warning("the connection listening for work was lost; listening again channel=%s", self._channel)
            self._conn.terminate()
            self._conn = None
        with translated():
            conn = await asyncpg.connect(self._dsn)
        try:
            with translated(conn):
                await conn.add_listener(self._channel, self._notified)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self.wake.set()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), CLOSE_WITHIN)
        except TRANSIENT:  # the database went away meanwhile (a timeout is among them)
            conn.terminate()

    def _notified(self, *_: object) -> None:
        self.wake.set()
