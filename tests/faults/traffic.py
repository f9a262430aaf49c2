"""Load and bookkeeping shared by the fault tests: notifications to publish, what the database
holds, and what the hub published (copies per event id)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import asyncpg

from hub.config import Topics
from hub.devtools.simulation.bundles import BirthSpec, build_notification
from tests.support.kafka import Collected

HOSPITAL = "103578001"
_LIBRARY_LINE = re.compile(r"^\d\d:\d\d:\d\d \w+ +(aiokafka|faststream|hub\.faststream)\b")


def as_messages(specs: list[BirthSpec]) -> list[tuple[bytes, bytes]]:
    return [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in specs]


async def fetchval(dsn: str, query: str, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def outbox_event_ids(dsn: str) -> dict[str, set[str]]:
    """{topic: event ids} of every outbox row: what the relay owes the broker."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT topic, headers FROM outbox")
    finally:
        await conn.close()
    owed: dict[str, set[str]] = {}
    for row in rows:
        owed.setdefault(row["topic"], set()).add(json.loads(row["headers"])["event-id"])
    return owed


def copies(collected: Collected, topics: Topics) -> Counter[str]:
    """How many times each event id was published, over every topic the hub writes."""
    published = [topics.results, *topics.all()]  # the results family stands for every hospital's
    return Counter(r.headers["event-id"] for topic in published for r in collected.on(topic))


def delivered_all(collected: Collected, owed: dict[str, set[str]]) -> bool:
    return all(ids <= {r.headers["event-id"] for r in collected.on(topic)} for topic, ids in owed.items())


def library_lines(log_text: str) -> list[str]:
    """The lines logged by the Kafka client libraries (aiokafka, FastStream)."""
    return [line for line in log_text.splitlines() if _LIBRARY_LINE.search(line)]


def log_since(path: Path, offset: int) -> str:
    with open(path, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")
