"""Consumer lag of the hub's group on the notification topic, in records and in seconds.

Records: the partition's end offset minus the group's committed offset. Seconds: the age of the
first record not yet committed (read with a group-less consumer), 0 when caught up. The numbers
describe the whole group, so every hub process reports the same values: aggregate with `max`.
"""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub.observability import metrics


class ConsumerLag:
    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self._bootstrap, self._group, self._topic = bootstrap, group, topic
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def sample(self) -> dict[int, tuple[int, float]]:
        """{partition: (records behind, seconds behind)}; also sets the gauges."""
        admin, reader = await self._clients()
        described = await admin.describe_topics([self._topic])
        numbers = sorted(p["partition"] for t in described for p in t.get("partitions", ()))
        partitions = [TopicPartition(self._topic, p) for p in numbers]
        committed = await admin.list_consumer_group_offsets(self._group, partitions=partitions)
        ends = await reader.end_offsets(partitions)
        lag: dict[int, tuple[int, float]] = {}
        for tp in partitions:
            meta = committed.get(tp)
            position = meta.offset if meta is not None and meta.offset >= 0 else await self._beginning(reader, tp)
            behind = max(0, ends[tp] - position)
            seconds = await self._age(reader, tp, position) if behind else 0.0
            lag[tp.partition] = (behind, seconds)
            metrics.LAG_RECORDS.labels(topic=self._topic, partition=str(tp.partition)).set(behind)
            metrics.LAG_SECONDS.labels(topic=self._topic, partition=str(tp.partition)).set(seconds)
        return lag

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=5000)
            reader = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False, request_timeout_ms=5000
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
