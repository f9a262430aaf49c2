"""OpenTelemetry traces on the real broker, database and reference SIAK server (registry siak-http).

A test "hospital" sends a notification inside a span of its own, with the W3C `traceparent`
header. The hub's consumer (the FastStream application as `hub run` builds it), the saga worker
and the outbox relay run in this process with an in-memory span exporter. The hospital's trace
then holds the hub's spans in the order the work happened (consume, validate, decide, the
transaction; the registry write with SIAK's HTTP calls inside; the relay's publish last), and
the result and the civil events it publishes carry the trace on in their `traceparent` header.
No span says who was born: no NIK, name or number appears in any attribute or event.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hub.adapters.kafka.relay import OutboxRelay, idempotent_producer
from hub.adapters.kafka.security import Role, access
from hub.bootstrap import consumer_handler, saga_worker, units_of_work
from hub.config import RegistryKind
from hub.devtools.simulation.bundles import build_notification
from hub.entrypoints.consumer import build_broker
from hub.observability import metrics
from hub.observability.tracing_setup import recording
from tests.support.kafka import collect, publish
from tests.support.people import birth, households
from tests.support.trust import secure_environment

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
HOSPITAL = "103578001"  # seeded


@pytest.fixture
async def traced_hub(environment, pool, siak):
    """The hub's settings for SIAK over HTTP, its topics, and spans recorded while the test runs."""
    settings = environment.settings.model_copy(
        update={"registry": RegistryKind.SIAK_HTTP, "siak_url": siak.url, "consumer_batch_wait_ms": 0}
    )
    await secure_environment(settings, pool)
    with recording() as spans:
        async with units_of_work(settings, pool) as uow:
            yield settings, uow, spans


async def _hospital_sends(settings, raw: bytes, key: bytes) -> trace.Span:
    """Publish inside the hospital's own span, carrying its context in the record's headers."""
    with trace.get_tracer("test-hospital").start_as_current_span("hospital.send", kind=SpanKind.PRODUCER) as sent:
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
        headers = [(name, value.encode()) for name, value in carrier.items()]
        await publish(settings.kafka_bootstrap, settings.topics.notifications, [(key, raw)], headers=headers)
    return sent


async def _saga_of(pool, message_id: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await pool.fetchrow(
            "SELECT trace_context, origin_at FROM registry_sagas WHERE message_id = $1", message_id
        )
        if row is not None:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError("the consumer opened no registry saga")


def _sample(name: str, settings=None) -> float:
    labels = {"topic": settings.topics.results_of(HOSPITAL)} if settings else {}  # the hospital's own
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def _by_name(finished) -> dict[str, list]:
    found: dict[str, list] = {}
    for span in finished:
        found.setdefault(span.name, []).append(span)
    return found


def _inside(child, parent, finished) -> bool:
    """`child` descends from `parent` in the finished spans."""
    by_id = {span.context.span_id: span for span in finished}
    current = child
    while current.parent is not None:
        if current.parent.span_id == parent.context.span_id:
            return True
        current = by_id.get(current.parent.span_id)
        if current is None:
            return False
    return False


async def test_a_hospitals_trace_holds_the_hubs_spans_in_order_and_the_result_carries_it_on(
    environment, pool, traced_hub
):
    settings, uow, spans = traced_hub
    home = (await households(environment.settings.dsn, 40))[5]
    spec = birth(home, HOSPITAL)
    raw = json.dumps(build_notification(spec)).encode()
    bugs: list[BaseException] = []
    broker = build_broker(settings, consumer_handler(settings, uow), bugs.append)
    await broker.start()
    try:
        sent = await _hospital_sends(settings, raw, spec.mother.nik.encode())
        saga = await _saga_of(pool, spec.message_id)
    finally:
        await broker.stop()
    assert bugs == []
    hospital = sent.get_span_context()
    assert saga["trace_context"].startswith(f"00-{hospital.trace_id:032x}-")
    assert abs(time.time() - saga["origin_at"].timestamp()) < 60, "origin_at is the record's Kafka timestamp"

    handled = await saga_worker(settings, uow).run_one()
    assert handled.outcome == "registered"
    ages, published = _sample("hub_result_age_seconds_count"), _sample("hub_outbox_published_total", settings)
    relay = OutboxRelay(pool, lambda: idempotent_producer(access(settings, Role.RELAY)), batch=50)
    try:
        assert await relay.publish_pending() == 3  # result and two civil events
    finally:
        await relay.close()
    assert _sample("hub_result_age_seconds_count") == ages + 1, "one result, aged since the hospital sent it"
    assert _sample("hub_outbox_published_total", settings) == published + 1

    finished = spans.get_finished_spans()
    named = _by_name(finished)
    (consume,) = named["hub.consume"]
    (validate,) = named["hub.validate"]
    (decide,) = named["hub.decide"]
    (transaction,) = named["hub.db.transaction"]
    (write,) = named["hub.registry.write"]
    publishes = named["hub.relay.publish"]
    hub_spans = [s for s in finished if s.name.startswith("hub.")]
    assert {s.context.trace_id for s in hub_spans} == {hospital.trace_id}, "one trace: the hospital's"

    # The structure: what is the child of what.
    assert consume.parent.span_id == hospital.span_id and consume.kind is SpanKind.CONSUMER
    assert validate.parent.span_id == decide.parent.span_id == transaction.parent.span_id == consume.context.span_id
    assert write.parent.span_id == decide.context.span_id, "the saga was opened while deciding"
    assert {p.parent.span_id for p in publishes} == {write.context.span_id}, "the worker queued the messages"
    calls = [s for s in finished if s.kind is SpanKind.CLIENT and _inside(s, write, finished)]
    http = [s for s in calls if s.name in ("GET", "POST")]
    assert {s.name for s in http} == {"GET", "POST"}, "SIAK's lookups and its registration, in the registry write"

    # The order: each step starts once the one before it is done (or, for the consumer's steps,
    # inside the message's span); the relay publishes last.
    assert consume.start_time <= validate.start_time <= validate.end_time <= decide.start_time
    assert transaction.start_time <= decide.start_time <= decide.end_time <= transaction.end_time
    assert transaction.end_time <= consume.end_time <= write.start_time
    assert all(write.start_time <= s.start_time <= s.end_time <= write.end_time for s in http)
    assert write.end_time <= min(p.start_time for p in publishes)
    assert consume.attributes["messaging.message.id"] == spec.message_id
    assert consume.attributes["messaging.destination.name"] == settings.topics.notifications_of(HOSPITAL)

    # Nothing personal in any span the hub (or its instrumented clients) recorded.
    personal = {spec.mother.nik, spec.mother.kk_number, spec.mother.name, spec.father.nik, spec.child_name}
    recorded = [str(v) for s in finished for v in s.attributes.values()]
    recorded += [str(v) for s in finished for e in s.events for v in e.attributes.values()]
    assert not [value for value in recorded if any(p in value for p in personal)]

    published = await collect(
        settings.kafka_bootstrap,
        [settings.topics.results, settings.topics.births_registered, settings.topics.family_cards],
        until=lambda c: len(c.on(settings.topics.results)) >= 1 and len(c.on(settings.topics.family_cards)) >= 1,
        timeout=30,
    )
    ours = [
        r
        for topic in (settings.topics.results, settings.topics.births_registered, settings.topics.family_cards)
        for r in published.on(topic)
        if r.headers.get("correlation-id") == spec.message_id
    ]
    assert {r.topic for r in ours} == {
        settings.topics.results_of(HOSPITAL),
        settings.topics.births_registered,
        settings.topics.family_cards,
    }
    publish_ids = {f"{p.context.span_id:016x}" for p in publishes}
    for record in ours:
        _version, trace_id, span_id, _flags = record.headers["traceparent"].split("-")
        assert trace_id == f"{hospital.trace_id:032x}" and span_id in publish_ids
