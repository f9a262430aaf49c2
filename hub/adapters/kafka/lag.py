"""Consumer lag of the hub's group on the hospitals' notification topics, in records and in seconds.

Records: the partition's end offset minus the group's committed offset. Seconds: the age of the
first record not yet committed (read with a group-less consumer), 0 when caught up. The numbers
describe the whole group, so every hub process reports the same values: aggregate with `max`.
"""

from __future__ import annotations

import re
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub.adapters.kafka.security import KafkaAccess
from hub.observability import metrics


class ConsumerLag:
    """`pattern`: the topics the group consumes (Topics.notification_pattern)."""

    def __init__(self, access: KafkaAccess, group: str, pattern: str) -> None:
        self._access, self._group, self._pattern = access, group, re.compile(pattern)
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def sample(self) -> dict[tuple[str, int], tuple[int, float]]:
        """{(topic, partition): (records behind, seconds behind)}; also sets the gauges."""
        admin, reader = await self._clients()
        topics = sorted(t for t in await admin.list_topics() if self._pattern.match(t))
        if not topics:
            return {}
        described = await admin.describe_topics(topics)
        partitions = sorted(
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t.get("partitions", ())
        )
        committed = await admin.list_consumer_group_offsets(self._group, partitions=partitions)
        ends = await reader.end_offsets(partitions)
        lag: dict[tuple[str, int], tuple[int, float]] = {}
        for tp in partitions:
            meta = committed.get(tp)
            position = meta.offset if meta is not None and meta.offset >= 0 else await self._beginning(reader, tp)
            behind = max(0, ends[tp] - position)
            seconds = await self._age(reader, tp, position) if behind else 0.0
            lag[(tp.topic, tp.partition)] = (behind, seconds)
            metrics.LAG_RECORDS.labels(topic=tp.topic, partition=str(tp.partition)).set(behind)
            metrics.LAG_SECONDS.labels(topic=tp.topic, partition=str(tp.partition)).set(seconds)
        return lag

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            admin = AIOKafkaAdminClient(**self._access.aiokafka(), request_timeout_ms=5000)
            reader = AIOKafkaConsumer(
                **self._access.aiokafka(), group_id=None, enable_auto_commit=False, request_timeout_ms=5000
            )
            try:
                await admin.start()
                await reader.start()
            except BaseException:
                await admin.close()
                await reader.stop()
                raise
            self._admin, self._reader = admin, reader
        return self._admin, self._reader

    @staticmethod
    async def _beginning(reader: AIOKafkaConsumer, tp: TopicPartition) -> int:
        return (await reader.beginning_offsets([tp]))[tp]

    @staticmethod
    async def _age(reader: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> float:
        reader.assign([tp])
        reader.seek(tp, offset)
        batch = await reader.getmany(tp, timeout_ms=2000, max_records=1)
        records = batch.get(tp) or []
        if not records or records[0].timestamp is None:
            return 0.0
        return max(0.0, time.time() - records[0].timestamp / 1000)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
        if self._admin is not None:
            await self._admin.close()
        self._admin = self._reader = None
