"""Publish notifications and collect what the hub publishes, with plain aiokafka (as a hospital would).

The broker is secured (TLS + SCRAM-SHA-512, ACLs): the tests' own clients connect as the admin
principal, as an operator's tools would. Hospitals have their own topics and sign what they send,
so `publish` does for each notification what the hospital named in its MessageHeader.sender does:
it signs the exact bytes (tests/support/trust.py holds the test hospitals' keys) and writes to that
hospital's notification topic, `<notifications>.<org id>`. A notification whose sender cannot be read
or has no topic goes to DEFAULT_HOSPITAL's topic (signed by it). `collect` given a family name
(`topics.results`) reads every hospital's results topic of that family and files the records under
the family name; `Received.topic` keeps the real topic. Tests of the trust rules themselves publish
with `publish_records` and `sign=False`, choosing every header.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.adapters.kafka.security import KafkaAccess, Role, access
from hub.config import Settings, Topics, is_hospital_id
from hub.intake import vocabulary as v
from hub.intake.envelope import Envelope, open_envelope
from tests.support import trust

NOTIFICATIONS = Topics().notifications  # a family name ends with these
RESULTS = Topics().results
DEFAULT_HOSPITAL = trust.DEFAULT_HOSPITAL


def client(bootstrap: str, role: Role = Role.ADMIN) -> dict[str, Any]:
    """aiokafka keyword arguments for the tests' clients: the admin principal unless told otherwise."""
    return kafka_access(bootstrap, role).aiokafka()


def kafka_access(bootstrap: str, role: Role = Role.ADMIN) -> KafkaAccess:
    return access(Settings(kafka_bootstrap=bootstrap), role)


def _family(topic: str, name: str) -> bool:
    return topic == name or topic.endswith(f".{name}")


def sender_of(value: bytes | None) -> str | None:
    """The hospital a notification names as its sender, when it can be read and has a topic name."""
    envelope = open_envelope(value or b"", max_bytes=64 * 1024 * 1024, max_depth=10_000)
    hospital = envelope.hospital_id if isinstance(envelope, Envelope) else None
    return hospital if is_hospital_id(hospital) else None


def route(topic: str, value: bytes | None, hospital: str | None = None) -> tuple[str, str]:
    """(the topic, the hospital that signs): a notification family name becomes the sender's own
    topic (or DEFAULT_HOSPITAL's); any other topic is kept, signed by `hospital` or the default."""
    if _family(topic, NOTIFICATIONS):
        org = hospital or sender_of(value) or DEFAULT_HOSPITAL
        if org not in trust.hospitals_with_topics():
            org = DEFAULT_HOSPITAL
        return f"{topic}.{org}", org
    head, _, tail = topic.rpartition(".")
    owner = tail if _family(head, NOTIFICATIONS) and tail != "dlq" else None
    return topic, hospital or owner or DEFAULT_HOSPITAL


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
        """The records of a topic, or of a family (`topics.results`: every hospital's results)."""
        if topic in self.by_topic:
            return self.by_topic[topic]
        return [r for records in self.by_topic.values() for r in records if r.topic == topic]

    def results_by_message(self, topics: Topics) -> dict[str, list[Received]]:
        """Every hospital's results, by the notification's message id they answer."""
        found: dict[str, list[Received]] = {}
        for received in self.on(topics.results):
            found.setdefault(received.headers["correlation-id"], []).append(received)
        return found


async def publish(
    bootstrap: str,
    topic: str,
    messages: list[tuple[bytes | None, bytes]],
    *,
    headers: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
) -> None:
    """Publish signed notifications as their senders would (module docstring); `headers` are added."""
    producer = AIOKafkaProducer(
        **client(bootstrap), enable_idempotence=True, acks="all", max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    try:
        futures = []
        for key, value in messages:
            target, signer = route(topic, value)
            signed = [*headers, *trust.signature_headers(signer, value or b"")]
            futures.append(await producer.send(target, value, key=key, headers=signed))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def collect(bootstrap: str, topics: list[str], *, until, timeout: float) -> Collected:
    """Read the topics from the beginning until `until(collected)` is true or the timeout passes.
    A results family name (`topics.results`) stands for every hospital's results topic of it."""
    consumer = AIOKafkaConsumer(
        **client(bootstrap), group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    collected = Collected()
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        families = [t for t in topics if _family(t, RESULTS)]
        existing = await consumer.topics()
        wanted = {t for t in topics if t not in families}
        by_family = {
            name: family
            for family in families
            for name in existing
            if re.fullmatch(rf"{re.escape(family)}\.[A-Za-z0-9][A-Za-z0-9-]*", name)
        }
        consumer.subscribe(topics=sorted(wanted | set(by_family)))
        while time.monotonic() < deadline and not until(collected):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    headers = {k: (val or b"").decode(errors="replace") for k, val in r.headers or ()}
                    filed = by_family.get(r.topic, r.topic)
                    collected.by_topic.setdefault(filed, []).append(Received(r.topic, r.key, r.value, headers))
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


async def publish_records(
    bootstrap: str, topic: str, records: list[Outgoing], *, hospital: str | None = None, sign: bool = True
) -> None:
    """Publish exactly these records, in order per partition and topic: each to its sender's
    notification topic when `topic` is the family name (to `hospital`'s, when given), signed by that
    hospital unless `sign` is False. gzip lets a value far larger than the broker's record limit
    through when it compresses well (as a hostile producer's would)."""
    routed = []
    for r in records:
        target, signer = route(topic, r.value, hospital)
        signed = replace(r, headers=(*r.headers, *trust.signature_headers(signer, r.value or b""))) if sign else r
        routed.append((target, signed))
    producer = AIOKafkaProducer(
        **client(bootstrap),
        enable_idempotence=True,
        acks="all",
        compression_type="gzip",
        max_request_size=64 * 1024 * 1024,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(target, r.value, key=r.key, partition=r.partition, headers=list(r.headers))
            for target, r in routed
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
