"""Publish notifications and collect what the hub publishes, with plain aiokafka (as a hospital would)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.config import Topics
from hub.intake import vocabulary as v


@dataclass
class Received:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.value)


@dataclass
class Collected:
    by_topic: dict[str, list[Received]] = field(default_factory=dict)

    def on(self, topic: str) -> list[Received]:
        return self.by_topic.get(topic, [])

    def results_by_message(self, topics: Topics) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = {}
        for received in self.on(topics.results):
            found.setdefault(received.headers["correlation-id"], []).append(received)
        return found


async def publish(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def collect(bootstrap: str, topics: list[str], *, until, timeout: float) -> Collected:
    """Read the topics from the beginning until `until(collected)` is true or the timeout passes."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    collected = Collected()
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not until(collected):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    headers = {k: (val or b"").decode(errors="replace") for k, val in r.headers or ()}
                    collected.by_topic.setdefault(r.topic, []).append(Received(r.topic, r.key, r.value, headers))
    finally:
        await consumer.stop()
    return collected


def status_of(result: dict[str, Any]) -> str:
    header = result["entry"][0]["resource"]
    return next(e["valueCode"] for e in header["extension"] if e["url"] == v.REGISTRATION_STATUS)


def codes_of(result: dict[str, Any]) -> list[str]:
    outcome = next(e["resource"] for e in result["entry"] if e["resource"]["resourceType"] == "OperationOutcome")
    return [c["code"] for issue in outcome["issue"] for c in issue.get("details", {}).get("coding", [])]


def numbers_of(result: dict[str, Any]) -> dict[str, Any]:
    for entry in result["entry"]:
        if entry["resource"]["resourceType"] == "Parameters":
            return {p["name"]: p.get("valueString", p.get("valueInteger")) for p in entry["resource"]["parameter"]}
    return {}


@dataclass(frozen=True)
class Outgoing:
    """One record to publish as a producer chooses it: partition, key, raw value, raw headers."""

    partition: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


async def publish_records(bootstrap: str, topic: str, records: list[Outgoing]) -> None:
    """Publish exactly these records, in order per partition. gzip lets a value far larger than the
    broker's record limit through when it compresses well (as a hostile producer's would)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        compression_type="gzip",
        max_request_size=64 * 1024 * 1024,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, r.value, key=r.key, partition=r.partition, headers=list(r.headers))
            for r in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
