"""The outbox relay: publishes committed outbox rows to Kafka, at least once, in order.

Guarantees: a row is marked sent only after the broker acknowledged it (idempotent producer,
acks=all), so a crash means re-publishing, never losing; re-published messages keep their
`event-id` header for consumers to deduplicate. Records also carry the trace their row was
queued in (`traceparent`, `tracestate`: hub/observability/tracing.py). One relay leads at a time
(a transaction-scoped advisory lock), so rows are published in id order even with several hub
processes.

Outages: each batch gets `deliver_within` seconds to be acknowledged. The rows acknowledged are
marked sent, and only those. When any row was not (the broker is gone, or refused a batch), the
producer is discarded and a new one sends the rest: an idempotent producer whose batch failed
keeps numbering the partition's records past the failed batch, and the broker then refuses every
later batch (OutOfOrderSequenceNumber) however often it is retried. So the only records sent
twice are those of the one batch in flight when the trouble began, always with their event id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from opentelemetry.trace import SpanKind

from hub.adapters.kafka.security import KafkaAccess
from hub.adapters.postgres.database import PgConnection, borrowed
from hub.config import Topics
from hub.errors import BrokerUnavailable
from hub.observability import metrics, tracing

log = logging.getLogger("hub.relay")
RELAY_LOCK = 727_002
DELIVER_WITHIN = 30.0  # seconds a batch has to be acknowledged: the producer's request timeout
CLOSE_WITHIN = 5.0  # seconds a producer being stopped or discarded gets to finish

_PENDING = """
SELECT id, topic, key, value, headers, trace_context, origin_at FROM outbox
WHERE sent_at IS NULL ORDER BY id LIMIT $1
"""
_RESULTS = f".{Topics().results}."  # a hospital's results topic, under any prefix, contains it
ProducerFactory = Callable[[], AIOKafkaProducer]


def idempotent_producer(access: KafkaAccess, client_id: str = "hub-relay") -> AIOKafkaProducer:
    """The relay's producer, as the relay's own principal (hub/adapters/kafka/security.py)."""
    return AIOKafkaProducer(
        **access.aiokafka(),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=int(DELIVER_WITHIN * 1000),
    )


class OutboxRelay:
    """`new_producer` makes an unstarted producer: one at start, another whenever the last one's
    state can no longer be trusted (module docstring)."""

    def __init__(
        self, pool: asyncpg.Pool, new_producer: ProducerFactory, *, batch: int, deliver_within: float = DELIVER_WITHIN
    ) -> None:
        self._pool, self._new_producer, self._batch = pool, new_producer, batch
        self._deliver_within = deliver_within
        self._producer: AIOKafkaProducer | None = None

    async def connect(self) -> AIOKafkaProducer:
        """The current producer, started; BrokerUnavailable when the broker does not answer."""
        if self._producer is None:
            producer = self._new_producer()
            try:
                await asyncio.wait_for(producer.start(), self._deliver_within)
            except (KafkaError, TimeoutError) as exc:
                await _close(producer)
                raise BrokerUnavailable(f"cannot start a producer: {type(exc).__name__}: {exc}") from exc
            self._producer = producer
        return self._producer

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns how many were published (0: none, or not
        leader). Raises BrokerUnavailable, after marking the acknowledged rows, when any was not."""
        producer = await self.connect()
        async with borrowed(self._pool) as conn:
            acknowledged, failure = await self._publish_locked(conn, producer)
        if failure is not None:
            raise BrokerUnavailable(f"{type(failure).__name__}: {failure}") from failure
        return acknowledged

    async def broker_ready(self) -> str:
        """For readiness: the current producer's connection answers a metadata request."""
        if self._producer is None:
            raise BrokerUnavailable("no producer: the broker refused the last one")
        await self._producer.client.fetch_all_metadata()
        return "ok"

    async def close(self) -> None:
        """Stop the producer, letting it deliver what it holds for a moment (unacknowledged rows
        stay unsent: the next start publishes them)."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            await asyncio.wait_for(producer.flush(), CLOSE_WITHIN)
        except TimeoutError:
            await _discard(producer)
        else:
            await producer.stop()

    async def _publish_locked(self, conn: PgConnection, producer: AIOKafkaProducer) -> tuple[int, BaseException | None]:
        async with conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
                return 0, None
            rows = await conn.fetch(_PENDING, self._batch)
            if not rows:
                return 0, None
            acknowledged, failure = await _deliver(producer, rows, self._deliver_within)
            try:
                if acknowledged:
                    ids = [row["id"] for row in acknowledged]
                    await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", ids)
            finally:
                if failure is not None:
                    await self._replace(producer, failure, len(rows) - len(acknowledged))
        _published(acknowledged)
        return len(acknowledged), failure

    async def _replace(self, producer: AIOKafkaProducer, failure: BaseException, unacknowledged: int) -> None:
        log.warning(
            "producer discarded: records not acknowledged; a new producer sends them again rows=%d error=%s",
            unacknowledged,
            type(failure).__name__,
        )
        self._producer = None
        await _discard(producer)


async def _deliver(
    producer: AIOKafkaProducer, rows: list[asyncpg.Record], within: float
) -> tuple[list[asyncpg.Record], BaseException | None]:
    """Send every row and wait up to `within` seconds for the acknowledgements. Returns the rows
    acknowledged and the first failure (None: all were). Each row is published as
    `hub.relay.publish`, in the trace it was queued in, and its record's `traceparent` header
    names that span (or the stored context, tracing off)."""
    deadline = asyncio.get_running_loop().time() + within
    stored = [json.loads(row["headers"]) for row in rows]
    spans = [_publish_span(row, headers.get("event-id", "")) for row, headers in zip(rows, stored, strict=True)]
    failures: dict[int, BaseException] = {}
    try:
        sent = await _queue(producer, rows, spans, stored, deadline, failures)
        if sent:
            await asyncio.wait(sent, timeout=_left(deadline))
        acknowledged = [rows[i] for i in _acknowledged(sent, spans, failures)]
        for index, error in failures.items():
            tracing.failed(spans[index], error)
    finally:
        for span in spans:
            span.end()
    return acknowledged, next(iter(failures.values()), None)


async def _queue(producer, rows, spans, stored, deadline: float, failures: dict) -> dict[asyncio.Future, int]:
    """Hand the rows to the producer: {acknowledgement future: row index}. A row it refuses is a
    failure; once it cannot even queue one in time, the rest are not tried."""
    sent: dict[asyncio.Future, int] = {}
    for index, (row, span, kept) in enumerate(zip(rows, spans, stored, strict=True)):
        headers = [(k, v.encode()) for k, v in kept.items()]
        headers += tracing.kafka_headers(tracing.trace_context_of(span) or row["trace_context"])
        try:
            send = producer.send(row["topic"], row["value"], key=row["key"], headers=headers)
            sent[await asyncio.wait_for(send, _left(deadline))] = index
        except (TimeoutError, KafkaTimeoutError):
            failures[index] = KafkaTimeoutError("the producer could not queue a record in time")
            break
        except KafkaError as exc:
            failures[index] = exc
    return sent


def _acknowledged(sent: dict[asyncio.Future, int], spans, failures: dict) -> list[int]:
    """The indexes of the rows the broker acknowledged; the others' failures go to `failures`."""
    acknowledged = []
    for future, index in sent.items():
        if not future.done() or future.cancelled():
            failures[index] = KafkaTimeoutError("not acknowledged in time")
        elif (error := future.exception()) is not None:
            failures[index] = error
        else:
            metadata = future.result()
            spans[index].set_attribute("messaging.destination.partition.id", str(metadata.partition))
            spans[index].set_attribute("messaging.kafka.offset", metadata.offset)
            acknowledged.append(index)
    return sorted(acknowledged)


def _left(deadline: float) -> float:
    return max(deadline - asyncio.get_running_loop().time(), 0.0)


async def _discard(producer: AIOKafkaProducer) -> None:
    """Close a producer without delivering what it still holds: its stop() first waits for every
    pending batch, which a broker that is gone, or that refuses the producer's sequence numbers,
    never acknowledges. aiokafka has no call for this, so its sender task is cancelled (what it
    held stays unacknowledged: the relay sends those rows again) and its connections closed."""
    producer._closed = True  # as stop() marks it: no "unclosed producer" warning later
    try:
        await asyncio.wait_for(producer._sender.close(), CLOSE_WITHIN)
    except TimeoutError:
        log.warning("a discarded producer's sender did not stop in time; its connections are closed anyway")
    await producer.client.close()


async def _close(producer: AIOKafkaProducer) -> None:
    """Close a producer whose start failed or timed out (its client may hold connections)."""
    try:
        await asyncio.wait_for(producer.stop(), CLOSE_WITHIN)
    except (TimeoutError, KafkaError):
        await _discard(producer)


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
        if row["origin_at"] is not None and _RESULTS in f".{row['topic']}":
            metrics.END_TO_END_AGE.observe(max((now - row["origin_at"]).total_seconds(), 0.0))
