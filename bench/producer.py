"""The latency scenario's load generator, run as its own process: a steady rate for a fixed time.

    python -m bench.producer PLAN OUT --bootstrap HOST:PORT --rate R

PLAN is a pickle of [(message_id, key, value, topic, headers), ...] (rate x duration of them):
each message with its hospital's notification topic and the headers made when the plan was built,
its signature among them (signing is not part of the offered load). Message i is sent at
start + i / rate. OUT gets JSON: each send's message id and wall-clock time (time.time() just
before the send call), how far behind schedule the sender fell, and how many sends failed.

It connects as the admin principal, whose credentials come from the settings' defaults (HUB_*
variables, else the local broker's secrets under .local/: run it from the repository's root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from hub.adapters.kafka.security import Role, access
from hub.config import Settings

Planned = tuple[str, bytes, bytes, str, tuple[tuple[str, bytes], ...]]


async def offer(plan: list[Planned], bootstrap: str, rate: float) -> dict:
    client = access(Settings(kafka_bootstrap=bootstrap), Role.ADMIN).aiokafka()
    producer = AIOKafkaProducer(**client, enable_idempotence=True, acks="all", linger_ms=0)
    await producer.start()
    sends, acks, behind = [], [], 0.0
    try:
        start = time.monotonic()
        for index, (message_id, key, value, topic, headers) in enumerate(plan):
            due = start + index / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            behind = max(behind, time.monotonic() - due)
            sends.append((message_id, time.time()))
            acks.append(await producer.send(topic, value, key=key, headers=list(headers)))
        offered_s = time.monotonic() - start
        done = await asyncio.gather(*acks, return_exceptions=True)
    finally:
        await producer.stop()
    return {
        "sends": sends,
        "offered_s": offered_s,
        "achieved_rate": len(plan) / offered_s if offered_s else None,
        "max_behind_schedule_s": behind,
        "failed": sum(isinstance(d, BaseException) for d in done),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--rate", type=float, required=True)
    args = parser.parse_args()
    plan = pickle.loads(args.plan.read_bytes())
    report = asyncio.run(offer(plan, args.bootstrap, args.rate))
    args.out.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
