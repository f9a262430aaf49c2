"""The outbox relay: publishes committed outbox rows to Kafka, at least once, in order.

Guarantees: a row is marked sent only after the broker acknowledged it (idempotent producer,
acks=all), so a crash means re-publishing, never losing; re-published messages keep their
`event-id` header for consumers to deduplicate. One relay leads at a time (a transaction-scoped
advisory lock), so rows are published in id order even with several hub processes.
"""

from __future__ import annotations

import asyncio
import json
import logging

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hub.adapters.postgres.database import TRANSIENT
from hub.adapters.postgres.store import OUTBOX_CHANNEL
from hub.errors import BrokerUnavailable, StoreUnavailable

log = logging.getLogger("hub.relay")
RELAY_LOCK = 727_002

_PENDING = """
SELECT id, topic, key, value, headers FROM outbox
WHERE sent_at IS NULL ORDER BY id LIMIT $1
"""


def idempotent_producer(bootstrap: str, client_id: str = "hub-relay") -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=30000,
    )


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, *, batch: int) -> None:
        self._pool, self._producer, self._batch = pool, producer, batch

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns how many were published (0: none, or not leader)."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
                    return 0
                rows = await conn.fetch(_PENDING, self._batch)
                if rows:
                    await self._send(rows)
                    await conn.execute(
                        "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [row["id"] for row in rows]
                    )
                return len(rows)
        except TRANSIENT as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def _send(self, rows: list[asyncpg.Record]) -> None:
        try:
            futures = []
            for row in rows:
                headers = [(k, v.encode()) for k, v in json.loads(row["headers"]).items()]
                futures.append(await self._producer.send(row["topic"], row["value"], key=row["key"], headers=headers))
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc


async def wake_on_notify(dsn: str, wake: asyncio.Event, channel: str = OUTBOX_CHANNEL) -> asyncpg.Connection:
    """A connection that sets `wake` whenever a transaction notifies `channel` (default: outbox rows added)."""
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(channel, lambda *_: wake.set())
    return conn
