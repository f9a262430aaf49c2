"""The relay through broker trouble (hub/adapters/kafka/relay.py), with a scripted producer: only
acknowledged rows are marked sent, a producer that failed a record is discarded and replaced, and
a broker that refuses the connection is a transient failure."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from hub.adapters.kafka import relay as relay_module
from hub.adapters.kafka.relay import OutboxRelay
from hub.errors import BrokerUnavailable

ACK, FAIL, SILENT, STUCK = "ack", "fail", "silent", "stuck"


class ScriptedProducer:
    """Answers each send as scripted: acknowledged, failed, never acknowledged, or never queued."""

    def __init__(self, *script: str, start_fails: bool = False) -> None:
        self.script, self.start_fails, self.sent = list(script), start_fails, []
        self.stopped = self.discarded = False
        self._closed = False
        self._sender = SimpleNamespace(close=self._sender_closed)
        self.client = SimpleNamespace(close=self._client_closed, fetch_all_metadata=self._metadata)

    async def start(self) -> None:
        if self.start_fails:
            raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 1)]")

    async def stop(self) -> None:
        self.stopped = True

    async def flush(self) -> None:
        pass

    async def send(self, topic, value, key=None, headers=None):
        outcome = self.script.pop(0)
        if outcome == STUCK:
            await asyncio.sleep(3600)
        self.sent.append(value)
        future = asyncio.get_running_loop().create_future()
        if outcome == ACK:
            future.set_result(SimpleNamespace(partition=0, offset=len(self.sent)))
        elif outcome == FAIL:
            future.set_exception(OutOfOrderSequenceNumber())
        return future

    async def _sender_closed(self) -> None:
        self.discarded = True

    async def _client_closed(self) -> None:
        pass

    async def _metadata(self) -> None:
        pass


class Outbox:
    """The relay's side of PostgreSQL: unsent rows, the leader lock, and what was marked sent."""

    def __init__(self, count: int) -> None:
        self.rows = [_row(i) for i in range(1, count + 1)]
        self.marked: list[int] = []

    async def acquire(self):
        return self

    async def release(self, conn) -> None:
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_):
        return None

    def transaction(self):
        return self

    async def fetchval(self, query, *args):
        return True  # the advisory lock: this relay leads

    async def fetch(self, query, limit):
        return [r for r in self.rows if r["id"] not in self.marked][:limit]

    async def execute(self, query, ids):
        self.marked += ids

    def is_closed(self) -> bool:
        return False


def _row(i: int) -> dict:
    headers = {"event-id": f"event-{i}", "correlation-id": f"message-{i}"}
    return {
        "id": i,
        "topic": "t.birth.result.v1",
        "key": b"hospital",
        "value": f"row-{i}".encode(),
        "headers": json.dumps(headers),
        "trace_context": None,
        "origin_at": None,
    }


def _relay(outbox: Outbox, producers: list[ScriptedProducer], within: float = 0.2) -> OutboxRelay:
    return OutboxRelay(outbox, lambda: producers.pop(0), batch=10, deliver_within=within)  # type: ignore[arg-type]


async def test_every_row_acknowledged_is_marked_sent():
    outbox, producer = Outbox(3), ScriptedProducer(ACK, ACK, ACK)
    relay = _relay(outbox, [producer])
    assert await relay.publish_pending() == 3
    assert outbox.marked == [1, 2, 3] and not producer.discarded


async def test_a_failed_record_marks_the_others_and_the_next_producer_sends_only_it():
    outbox = Outbox(3)
    first, second = ScriptedProducer(ACK, FAIL, ACK), ScriptedProducer(ACK)
    relay = _relay(outbox, [first, second])

    with pytest.raises(BrokerUnavailable, match="OutOfOrderSequenceNumber"):
        await relay.publish_pending()
    assert outbox.marked == [1, 3], "the acknowledged rows, and only they"
    assert first.discarded and first._closed, "a producer that failed a batch numbers the next ones wrong"

    assert await relay.publish_pending() == 1
    assert second.sent == [b"row-2"] and outbox.marked == [1, 3, 2]


async def test_rows_not_acknowledged_in_time_stay_unsent_and_the_producer_is_replaced():
    outbox = Outbox(3)
    first, second = ScriptedProducer(ACK, SILENT, SILENT), ScriptedProducer(ACK, ACK)
    relay = _relay(outbox, [first, second])
    with pytest.raises(BrokerUnavailable, match="KafkaTimeoutError"):
        await relay.publish_pending()
    assert outbox.marked == [1] and first.discarded
    assert await relay.publish_pending() == 2
    assert second.sent == [b"row-2", b"row-3"]


async def test_a_producer_that_cannot_queue_is_given_no_more_rows():
    outbox, first = Outbox(3), ScriptedProducer(ACK, STUCK, ACK)
    relay = _relay(outbox, [first, ScriptedProducer()])
    with pytest.raises(BrokerUnavailable, match="KafkaTimeoutError"):
        await relay.publish_pending()
    assert first.sent == [b"row-1"] and outbox.marked == [1] and first.discarded


async def test_a_broker_that_refuses_the_connection_is_transient_and_nothing_is_read():
    outbox = Outbox(2)
    refused, working = ScriptedProducer(start_fails=True), ScriptedProducer(ACK, ACK)
    relay = _relay(outbox, [refused, working])
    with pytest.raises(BrokerUnavailable, match="cannot start a producer"):
        await relay.publish_pending()
    assert refused.stopped and outbox.marked == []
    with pytest.raises(BrokerUnavailable):
        await relay.broker_ready()
    assert await relay.publish_pending() == 2
    assert await relay.broker_ready() == "ok"


async def test_closing_lets_the_producer_deliver_for_a_moment_then_discards_it(monkeypatch):
    monkeypatch.setattr(relay_module, "CLOSE_WITHIN", 0.05)
    delivering, stuck = ScriptedProducer(), ScriptedProducer()

    async def never_delivers() -> None:
        await asyncio.sleep(3600)

    stuck.flush = never_delivers  # type: ignore[method-assign]
    for producer in (delivering, stuck):
        relay = _relay(Outbox(0), [producer])
        await relay.connect()
        await relay.close()
    assert delivering.stopped and not delivering.discarded
    assert stuck.discarded and stuck._closed and not stuck.stopped


async def test_a_broker_that_never_answers_the_start_is_given_up_in_time():
    silent = ScriptedProducer()

    async def never_answers() -> None:
        await asyncio.sleep(3600)

    silent.start = never_answers  # type: ignore[method-assign]
    relay = _relay(Outbox(1), [silent], within=0.05)
    with pytest.raises(BrokerUnavailable, match="TimeoutError"):
        await relay.publish_pending()
    assert silent.stopped
