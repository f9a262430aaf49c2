"""Read a bounded stretch of a topic for replay: by offsets, by time, or single records.

The end of every partition is fixed when reading starts, so a replay always terminates even while
hospitals keep publishing. No consumer group is used: replay never moves the hub's own offsets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from hub.adapters.kafka.security import KafkaAccess
from hub.errors import BrokerUnavailable


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    timestamp_ms: int | None = None  # the record's Kafka timestamp
    broker_time: bool = False  # stamped by the broker (LogAppendTime)


@dataclass(frozen=True)
class Span:
    """Offsets to read per partition: [start, end)."""

    ranges: dict[int, tuple[int, int]]

    @property
    def total(self) -> int:
        return sum(max(0, end - start) for start, end in self.ranges.values())


class TopicReader:
    def __init__(self, access: KafkaAccess, topic: str) -> None:
        self.topic = topic
        self._consumer = AIOKafkaConsumer(
            **access.aiokafka(), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
        )

    async def __aenter__(self) -> TopicReader:
        try:
            await self._consumer.start()
        except KafkaConnectionError as exc:
            raise BrokerUnavailable(str(exc)) from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def span(
        self,
        *,
        partitions: list[int] | None = None,
        from_offset: int | None = None,
        to_offset: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        resume: dict[int, int] | None = None,
    ) -> Span:
        found = sorted(self._consumer.partitions_for_topic(self.topic) or ())
        if not found:
            await self._consumer._client.force_metadata_update()
            found = sorted(self._consumer.partitions_for_topic(self.topic) or ())
        tps = [TopicPartition(self.topic, p) for p in (partitions if partitions is not None else found)]
        first = await self._consumer.beginning_offsets(tps)
        last = await self._consumer.end_offsets(tps)
        starts = {tp.partition: max(first[tp], from_offset or 0) for tp in tps}
        ends = {tp.partition: last[tp] if to_offset is None else min(last[tp], to_offset + 1) for tp in tps}
        if since is not None:
            starts.update(await self._offsets_at(tps, since, last))
        if until is not None:
            ends.update({p: min(ends[p], o) for p, o in (await self._offsets_at(tps, until, last)).items()})
        for partition, offset in (resume or {}).items():
            if partition in starts:
                starts[partition] = max(starts[partition], offset)
        return Span({p: (starts[p], ends[p]) for p in starts})

    async def _offsets_at(self, tps: list[TopicPartition], moment: datetime, last) -> dict[int, int]:
        found = await self._consumer.offsets_for_times({tp: int(moment.timestamp() * 1000) for tp in tps})
        return {tp.partition: (found[tp].offset if found[tp] is not None else last[tp]) for tp in tps}

    async def read(self, span: Span) -> AsyncIterator[Record]:
        wanted = {TopicPartition(self.topic, p): rng for p, rng in span.ranges.items() if rng[1] > rng[0]}
        if not wanted:
            return
        self._consumer.assign(list(wanted))
        for tp, (start, _) in wanted.items():
            self._consumer.seek(tp, start)
        while wanted:
            batch = await self._consumer.getmany(*wanted, timeout_ms=1000, max_records=500)
            for tp, records in batch.items():
                for rec in records:
                    if tp in wanted and rec.offset < wanted[tp][1]:
                        yield _record(rec)
            for tp in list(wanted):
                if await self._consumer.position(tp) >= wanted[tp][1]:
                    del wanted[tp]
                    self._consumer.pause(tp)

    async def fetch(self, partition: int, offset: int) -> Record | None:
        """One record by its coordinates, or None if it is no longer on the topic."""
        span = await self.span(partitions=[partition], from_offset=offset, to_offset=offset)
        async for record in self.read(span):
            return record
        return None


def _record(rec) -> Record:
    headers = {k: v.decode(errors="replace") for k, v in rec.headers or () if v is not None}
    return Record(
        rec.topic, rec.partition, rec.offset, rec.key, rec.value, headers, rec.timestamp, rec.timestamp_type == 1
    )
