"""Wiring of the FastStream consumer, on FastStream's in-memory broker (no network).

The behaviour on the real broker is covered by tests/e2e; here: the subscriber hands the raw bytes
and their Kafka coordinates (with the record's timestamp and, tracing on, the sender's trace
context) to the use case untouched, a bug stops the process, and the delivery
settings that the guarantees rest on are the ones stated.
"""

from __future__ import annotations

import pytest
from faststream import AckPolicy
from faststream.kafka import TestKafkaBroker

from hub.adapters.kafka import relay
from hub.config import Settings
from hub.entrypoints.consumer import build_broker, placeholder_security
from hub.observability.tracing_setup import recording
from hub.service.pipeline import Handled

SETTINGS = Settings(topic_prefix="w.", consumer_group="wiring")
SECURITY = placeholder_security(SETTINGS)
TOPIC = SETTINGS.topics.notifications_of("101271001")  # a hospital's notification topic


class RecordingHandler:
    def __init__(self) -> None:
        self.calls = []

    async def handle_batch(self, items):
        self.calls.extend(items)
        if any(raw == b"trigger a bug" for raw, _ in items):
            raise ValueError("a bug")
        return [Handled("registered", "m-1", "h-1") for _ in items]


async def test_the_subscriber_passes_raw_bytes_and_coordinates_to_the_use_case():
    handler, bugs = RecordingHandler(), []
    broker = build_broker(SETTINGS, handler, bugs.append, security=SECURITY)
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(b"\xff not even utf-8", TOPIC, key=b"mother")
    ((raw, delivery),) = handler.calls
    assert raw == b"\xff not even utf-8"
    assert (delivery.topic, delivery.key) == (TOPIC, b"mother")
    assert bugs == []


async def test_a_bug_in_handling_asks_the_process_to_stop_and_is_not_swallowed():
    handler, bugs = RecordingHandler(), []
    broker = build_broker(SETTINGS, handler, bugs.append, security=SECURITY)
    async with TestKafkaBroker(broker) as test_broker:
        with pytest.raises(ValueError):
            await test_broker.publish(b"trigger a bug", TOPIC)
    assert [type(exc) for exc in bugs] == [ValueError]


def test_the_subscriber_commits_after_processing_and_starts_from_the_earliest_offset():
    subscriber = build_broker(SETTINGS, RecordingHandler(), lambda _: None, security=SECURITY).subscribers[0]
    assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR
    assert subscriber._connection_args["auto_offset_reset"] == "earliest"
    assert subscriber.max_records == SETTINGS.consumer_batch  # one transaction and one offset commit per batch
    assert subscriber._connection_args["enable_auto_commit"] is False
    assert subscriber.group_id == "wiring"


class RelayAccess:
    """Stands for the relay principal's KafkaAccess: its connection keyword arguments, no TLS files."""

    def aiokafka(self) -> dict:
        return {"bootstrap_servers": "127.0.0.1:19092", "sasl_plain_username": "hub-relay"}


def test_the_relay_producer_is_idempotent_and_waits_for_all_replicas(monkeypatch):
    seen = {}
    monkeypatch.setattr(relay, "AIOKafkaProducer", lambda **kwargs: seen.update(kwargs))
    relay.idempotent_producer(RelayAccess())  # type: ignore[arg-type]
    assert seen["enable_idempotence"] is True and seen["acks"] == "all"
    assert seen["sasl_plain_username"] == "hub-relay", "it connects as the principal it is given"


async def test_the_subscriber_passes_the_records_timestamp_and_the_senders_trace_context():
    handler = RecordingHandler()
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    broker = build_broker(SETTINGS, handler, lambda _: None, security=SECURITY)
    with recording():
        async with TestKafkaBroker(broker) as test_broker:
            await test_broker.publish(
                b"{}",
                TOPIC,
                headers={"traceparent": traceparent},
                timestamp_ms=1_777_700_000_000,
            )
    ((_, delivery),) = handler.calls
    assert (delivery.trace_context, delivery.timestamp_ms) == (traceparent, 1_777_700_000_000)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"n": 1' + b"0" * 5000 + b"}", None),  # Python's int() refuses more than 4,300 digits
        (b"[" * 50_000 + b"]" * 50_000, None),  # deeper than Python's JSON parser goes
        (b'{"resourceType": "Bundle", "entry": [', "application/json"),  # decoded because of its content-type
        (b"\xff\xfe", "text/plain"),
    ],
)
async def test_faststream_decodes_nothing_the_hub_reads_the_bytes_itself(body, content_type):
    handler, bugs = RecordingHandler(), []
    broker = build_broker(SETTINGS, handler, bugs.append, security=SECURITY)
    headers = {"content-type": content_type} if content_type else None
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(body, TOPIC, headers=headers)
    assert [raw for raw, _ in handler.calls] == [body]
    assert bugs == []


async def test_header_values_faststream_cannot_read_are_dropped_and_the_trace_context_kept():
    from aiokafka.structs import ConsumerRecord
    from faststream.kafka.message import KafkaMessage
    from faststream.kafka.parser import AioKafkaBatchParser

    from hub.entrypoints.consumer import _readable_batch

    traceparent = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    record = ConsumerRecord(
        "t", 0, 7, 0, 0, b"k", b"value", None, 1, 5, [("x", b"\xff\xfe"), ("y", None), ("traceparent", traceparent)]
    )
    default = AioKafkaBatchParser(KafkaMessage, None).parse_batch

    message = await _readable_batch((record,), default)

    (kept,) = message.raw_message
    assert (kept.offset, kept.value, kept.headers) == (7, b"value", [("traceparent", traceparent)])
    assert message.batch_headers == [{"traceparent": traceparent.decode()}]


@pytest.mark.parametrize(
    ("cores", "asked", "processes"),
    [(2, None, 1), (1, None, 0), (4, None, 2), (8, None, 2), (3, None, 2), (2, 3, 3), (16, 0, 0), (None, None, 0)],
)
def test_validation_processes_follow_the_cores_unless_set(monkeypatch, cores, asked, processes):
    monkeypatch.setattr("hub.config.os.cpu_count", lambda: cores)
    assert Settings(validation_processes=asked).validation_workers == processes
