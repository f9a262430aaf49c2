"""Kafka I/O for the harness, with plain aiokafka: produce the plan, collect results, raw-consume.

Every client connects as the admin principal (bench.env.kafka_client). Each message goes to its
hospital's notification topic with the headers made when the plan was built (its signature among
them); results are read from every hospital's results topic.

Result times are the result records' Kafka timestamps (CreateTime: set by the hub's relay
producer when it hands the record to its producer, a few ms before the broker's ack), on the
same machine's clock as the harness. Receipt times (when the harness read the record) are kept too.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.env import kafka_client
from bench.messages import Message
from hub.config import Settings


async def produce_all(settings: Settings, messages: list[Message], advance: Callable[[int], None]) -> float:
    """Publish every message to its hospital's topic (idempotent, acks=all, as a hospital would);
    returns seconds taken."""
    topics = {hospital: settings.topics.notifications_of(hospital) for hospital in {m.hospital for m in messages}}
    producer = AIOKafkaProducer(
        **kafka_client(settings),
        enable_idempotence=True,
        acks="all",
        linger_ms=20,
        max_batch_size=512 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    started = time.monotonic()
    try:
        pending = []
        for message in messages:
            pending.append(
                await producer.send(
                    topics[message.hospital], message.value, key=message.key, headers=list(message.headers)
                )
            )
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                advance(len(pending))
                pending = []
        await asyncio.gather(*pending)
        advance(len(pending))
    finally:
        await producer.stop()
    return time.monotonic() - started


@dataclass(slots=True)
class Result:
    correlation_id: str
    created: float  # the record's timestamp (CreateTime), epoch seconds
    received: float  # when the harness read it, epoch seconds
    value: bytes


async def _subscribe_matching(consumer: AIOKafkaConsumer, pattern: str) -> list[str]:
    """Subscribe a started consumer to the existing topics whose whole name matches `pattern`."""
    names = sorted(t for t in await consumer.topics() if re.fullmatch(pattern, t))
    if not names:
        raise RuntimeError(f"no topic matches {pattern}")
    consumer.subscribe(topics=names)
    return names


def results_pattern(settings: Settings) -> str:
    """Every hospital's results topic."""
    return re.escape(settings.topics.results) + r"\.[A-Za-z0-9-]+"


@dataclass
class ResultCollector:
    """Reads every hospital's results topic from the beginning in the background until `expected`
    results arrived (the topics are made with the run's environment, before any result)."""

    settings: Settings
    expected: int
    results: list[Result] = field(default_factory=list)
    last_progress: float = field(default_factory=time.monotonic)
    _task: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka_client(self.settings),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
        )
        await self._consumer.start()
        await _subscribe_matching(self._consumer, results_pattern(self.settings))
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while len(self.results) < self.expected:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=2000)
            received = time.time()
            for records in batches.values():
                for r in records:
                    headers = dict(r.headers or ())
                    self.results.append(
                        Result(headers.get("correlation-id", b"").decode(), r.timestamp / 1000, received, r.value)
                    )
                self.last_progress = time.monotonic()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def wait(self, stall_timeout: float, tick: Callable[[int], None], deadline: float | None = None) -> bool:
        """True when every expected result came; False when nothing new came for `stall_timeout` seconds
        or the (monotonic) deadline passed."""
        while not self.done:
            tick(len(self.results))
            now = time.monotonic()
            if now - self.last_progress > stall_timeout or (deadline is not None and now > deadline):
                return False
            await asyncio.sleep(0.1)
        self._task.result()
        tick(len(self.results))
        return True

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def raw_consume(settings: Settings, expected: int) -> dict:
    """Transport ceiling: a bare consumer (no group) reads every record of the hospitals'
    notification topics from the beginning."""
    consumer = AIOKafkaConsumer(
        **kafka_client(settings), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await _subscribe_matching(consumer, settings.topics.notification_pattern)
        count, size, started = 0, 0, time.monotonic()
        while count < expected and time.monotonic() - started < 120:
            for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                count += len(records)
                size += sum(len(r.value) for r in records)
        seconds = time.monotonic() - started
    finally:
        await consumer.stop()
    return {"messages": count, "seconds": seconds, "msgs_per_s": count / seconds, "mib_per_s": size / 2**20 / seconds}
