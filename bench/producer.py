"""The latency scenario's load generator, run as its own process: a steady rate for a fixed time.

    python -m bench.producer PLAN OUT --bootstrap HOST:PORT --topic TOPIC --rate R

PLAN is a pickle of [(message_id, key, value), ...] (rate x duration of them); message i is sent
at start + i / rate. OUT gets JSON: each send's message id and wall-clock time (time.time() just
before the send call), how far behind schedule the sender fell, and how many sends failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer


async def offer(plan: list[tuple[str, bytes, bytes]], bootstrap: str, topic: str, rate: float) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=0)
    await producer.start()
    sends, acks, behind = [], [], 0.0
    try:
        start = time.monotonic()
        for index, (message_id, key, value) in enumerate(plan):
            due = start + index / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            behind = max(behind, time.monotonic() - due)
            sends.append((message_id, time.time()))
            acks.append(
                await producer.send(topic, value, key=key, headers=[("content-type", b"application/fhir+json")])
            )
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
    parser.add_argument("--topic", required=True)
    parser.add_argument("--rate", type=float, required=True)
    args = parser.parse_args()
    plan = pickle.loads(args.plan.read_bytes())
    report = asyncio.run(offer(plan, args.bootstrap, args.topic, args.rate))
    args.out.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
