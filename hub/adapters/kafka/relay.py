"""The outbox relay: publishes committed outbox rows to Kafka, at least once, in order.

Guarantees: a row is marked sent only after the broker acknowledged it (idempotent producer,
acks=all), so a crash means re-publishing, never losing; re-published messages keep their
`event-id` header for consumers to deduplicate. Records also carry the trace their row was
queued in (`traceparent`, `tracestate`: hub/observability/tracing.py). One relay leads at a time
(a transaction-scoped advisory lock), so rows are published in id order even with several hub
processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry.trace import SpanKind

from hub.adapters.postgres.database import TRANSIENT
from hub.adapters.postgres.store import OUTBOX_CHANNEL
from hub.config import Topics
from hub.errors import BrokerUnavailable, StoreUnavailable
from hub.observability import metrics, tracing

log = logging.getLogger("hub.relay")
RELAY_LOCK = 727_002

_PENDING = """
SELECT id, topic, key, value, headers, trace_context, origin_at FROM outbox
WHERE sent_at IS NULL ORDER BY id LIMIT $1
"""
_RESULTS = Topics().results  # the results topic's name under any prefix ends with it


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
        """Each row is published as `hub.relay.publish`, in the trace it was queued in, and its
        record's `traceparent` header names that span (or the stored context, tracing off)."""
        stored = [json.loads(row["headers"]) for row in rows]
        spans = [_publish_span(row, headers.get("event-id", "")) for row, headers in zip(rows, stored, strict=True)]
        try:
            futures = []
            for row, span, kept in zip(rows, spans, stored, strict=True):
                headers = [(k, v.encode()) for k, v in kept.items()]
                headers += tracing.kafka_headers(tracing.trace_context_of(span) or row["trace_context"])
                futures.append(await self._producer.send(row["topic"], row["value"], key=row["key"], headers=headers))
            for span, metadata in zip(spans, await asyncio.gather(*futures), strict=True):
                span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
                span.set_attribute("messaging.kafka.offset", metadata.offset)
        except KafkaError as exc:
            for span in spans:
                tracing.failed(span, exc)
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            for span in spans:
                span.end()
        _published(rows)


def _publish_span(row: asyncpg.Record, event_id: str):
    return tracing.start_span(
        "hub.relay.publish",
        parent=row["trace_context"],
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": row["topic"],
            "messaging.message.id": event_id,
        },
    )


def _published(rows: list[asyncpg.Record]) -> None:
    """Metrics of acknowledged rows: published per topic, and a result's age since its notification."""
    now = datetime.now(UTC)
    for row in rows:
        metrics.PUBLISHED.labels(row["topic"]).inc()
        if row["origin_at"] is not None and row["topic"].endswith(_RESULTS):
            metrics.END_TO_END_AGE.observe(max((now - row["origin_at"]).total_seconds(), 0.0))


async def wake_on_notify(dsn: str, wake: asyncio.Event, channel: str = OUTBOX_CHANNEL) -> asyncpg.Connection:
    """A connection that sets `wake` whenever a transaction notifies `channel` (default: outbox rows added)."""
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(channel, lambda *_: wake.set())
    return conn
