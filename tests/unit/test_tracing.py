"""Traces with in-memory ports (hub/observability/tracing.py): off by default and free when off;
when on, a notification's spans join the sender's trace, and the deferred work (registry saga,
document job, outbox rows) carries the trace and the notification's time on. Span attributes and
events never hold personal data, and headers from outside cannot break the consumer.

The end-to-end picture on the real broker, database and SIAK server: tests/integration/test_tracing.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from opentelemetry.trace import SpanKind

from hub.adapters.signing.local import LocalSigner
from hub.adapters.signing.pki import ensure_keys
from hub.observability import metrics, tracing
from hub.observability.tracing_setup import exporters_wanted, recording, redacted_url
from hub.service.documents import DocumentWorker
from hub.service.ports import Delivery
from hub.service.register_birth import RegisterBirths
from hub.service.registry_sagas import RegistrySagaWorker
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.test_document_service import ISSUER
from tests.unit.test_document_service import PIPELINE as WITH_DOCUMENTS
from tests.unit.test_register_births import NOW, PIPELINE, RESULTS, TOPICS, _population, first_birth, raw
from tests.unit.test_saga_worker import DEFERRED

SENDER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
OTHER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
SENT_MS = 1_777_700_000_000  # the record's Kafka timestamp


def _delivery(offset: int, trace_context: str | None = SENDER) -> Delivery:
    return Delivery(TOPICS.notifications, 0, offset, b"k", trace_context=trace_context, timestamp_ms=SENT_MS)


def _hub_spans(spans) -> dict[str, list]:
    found: dict[str, list] = {}
    for span in spans.get_finished_spans():
        found.setdefault(span.name, []).append(span)
    return found


def _span_id(text: str | None) -> str:
    assert text is not None
    return text.split("-")[2]


@pytest.fixture
def world():
    state = FakeState()
    mother, father = _population(state)
    return state, first_birth(mother, father)


# --- configuration ------------------------------------------------------------------------------


def _run(code: str, **env: str) -> str:
    """Python in a fresh process (OpenTelemetry's provider is process-wide), without OTEL_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_without_otel_variables_configure_installs_nothing_and_instruments_nothing():
    out = _run(
        "import asyncpg, httpx\n"
        "from opentelemetry import trace\n"
        "from hub.observability import tracing\n"
        "print(tracing.configure(), tracing.enabled(), type(trace.get_tracer_provider()).__name__,\n"
        "      hasattr(httpx.AsyncHTTPTransport.handle_async_request, '__wrapped__'),\n"
        "      hasattr(asyncpg.connection.Connection.execute, '__wrapped__'))\n"
        "with tracing.span('hub.consume') as span:\n"
        "    print(span is trace.INVALID_SPAN, tracing.current_traceparent())\n"
    )
    assert out.split() == ["False", "False", "ProxyTracerProvider", "False", "False", "True", "None"]


def test_a_console_exporter_asked_for_by_the_environment_installs_the_sdk_and_exports():
    out = _run(
        "import httpx\n"
        "from opentelemetry import trace\n"
        "from hub.observability import tracing\n"
        "print(tracing.configure(), type(trace.get_tracer_provider()).__name__,\n"
        "      hasattr(httpx.AsyncHTTPTransport.handle_async_request, '__wrapped__'))\n"
        "with tracing.span('hub.consume'):\n"
        "    pass\n"
        "trace.get_tracer_provider().shutdown()\n",
        OTEL_TRACES_EXPORTER="console",
        OTEL_SERVICE_NAME="hub-test",
    )
    assert out.splitlines()[0] == "True TracerProvider True"
    assert '"name": "hub.consume"' in out and '"service.name": "hub-test"' in out


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, ()),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console, otlp"}, ("console", "otlp")),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ()),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, ()),
        ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "console"}, ("console",)),
    ],
)
def test_the_standard_variables_decide_which_exporters_run(monkeypatch, env, wanted):
    for name in [k for k in os.environ if k.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert exporters_wanted() == wanted


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_EXPORTER": "jaeger"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_an_exporter_or_protocol_the_hub_does_not_ship_is_a_configuration_error(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError):
        exporters_wanted()


def test_http_spans_keep_no_path_segment_or_query_value_that_may_be_personal():
    assert redacted_url("http://u:p@siak:8080/v1/persons/3273014104950003") == "http://siak:8080/v1/persons/{id}"
    assert (
        redacted_url("http://siak/v1/births?mother_nik=3273014104950003&x=") == "http://siak/v1/births?mother_nik=*&x=*"
    )
    assert redacted_url("http://siak/v1/births/by-key/birth:1234-abcd") == "http://siak/v1/births/by-key/{id}"
    assert redacted_url("https://signer/v1/keys/current") == "https://signer/v1/keys/current"


# --- the trace context in headers and rows --------------------------------------------------------


def test_headers_from_outside_give_a_trace_context_only_when_valid_and_never_raise():
    with recording():
        assert tracing.from_headers([("traceparent", SENDER.encode())]) == SENDER
        assert tracing.from_headers([("TraceParent", f" {SENDER} ".encode()), ("tracestate", b"rs=1")]) == (
            f"{SENDER} rs=1"
        )
        for hostile in ([("traceparent", b"\xff\xfe")], [("traceparent", b"00-zz-yy-01")], [(None, b"x")], None):
            assert tracing.from_headers(hostile) is None  # type: ignore[arg-type]
        assert tracing.from_headers([("traceparent", b"00-" + b"0" * 32 + b"-b7ad6b7169203331-01")]) is None
        context = tracing.from_headers([("traceparent", SENDER.encode()), ("tracestate", b"a=1, b=2")])
        assert tracing.kafka_headers(context) == [("traceparent", SENDER.encode()), ("tracestate", b"a=1,b=2")]
    assert tracing.from_headers([("traceparent", SENDER.encode())]) is None, "off: not even read"


def test_a_failed_span_names_the_exception_type_but_keeps_its_text_out():
    with recording() as spans:
        with pytest.raises(ValueError), tracing.span("hub.decide"):
            raise ValueError("mother 3273014104950003 unknown")
    (span,) = spans.get_finished_spans()
    assert span.status.description == "ValueError"
    assert [dict(e.attributes) for e in span.events] == [{"exception.type": "ValueError"}]


# --- the consumer, the saga worker, the document worker --------------------------------------------


async def test_a_message_is_traced_under_its_senders_context_and_its_rows_carry_the_trace_on(world):
    state, spec = world
    handler = RegisterBirths(lambda: FakeUnitOfWork(state), PIPELINE, lambda: NOW)
    with recording() as spans:
        handled = await handler.handle(raw(spec), _delivery(1))
    named = _hub_spans(spans)
    (consume,), (validate,), (decide,), (transaction,) = (
        named[n] for n in ("hub.consume", "hub.validate", "hub.decide", "hub.db.transaction")
    )
    assert f"{consume.context.trace_id:032x}" == SENDER.split("-")[1]
    assert f"{consume.parent.span_id:016x}" == SENDER.split("-")[2] and consume.kind is SpanKind.CONSUMER
    assert {s.parent.span_id for s in (validate, decide, transaction)} == {consume.context.span_id}
    assert consume.attributes["messaging.message.id"] == spec.message_id
    assert consume.attributes["hub.outcome"] == handled.outcome == "registered"
    assert len(state.outbox) == 3
    for message in state.outbox:
        assert _span_id(message.trace_context) == f"{consume.context.span_id:016x}"
        assert message.origin_at == datetime.fromtimestamp(SENT_MS / 1000, UTC)


async def test_a_batch_transaction_starts_its_own_trace_linked_to_each_message(world):
    state, spec = world
    handler = RegisterBirths(lambda: FakeUnitOfWork(state), PIPELINE, lambda: NOW)
    unreadable = b"not json"
    with recording() as spans:
        await handler.handle_batch([(raw(spec), _delivery(1)), (unreadable, _delivery(2, OTHER))])
    named = _hub_spans(spans)
    (transaction,) = named["hub.db.transaction"]
    consumed = sorted(named["hub.consume"], key=lambda s: s.attributes["messaging.kafka.offset"])
    assert transaction.parent is None
    assert [link.context.span_id for link in transaction.links] == [s.context.span_id for s in consumed]
    assert [f"{s.context.trace_id:032x}" for s in consumed] == [SENDER.split("-")[1], OTHER.split("-")[1]]
    (letter,) = [m for m in state.outbox if m.topic == TOPICS.dead_letters]
    assert _span_id(letter.trace_context) == f"{consumed[1].context.span_id:016x}", "each row in its own trace"


async def test_when_off_nothing_is_traced_but_rows_still_note_the_notifications_time(world):
    state, spec = world
    handler = RegisterBirths(lambda: FakeUnitOfWork(state), PIPELINE, lambda: NOW)
    with recording() as spans:
        pass
    await handler.handle(raw(spec), _delivery(1))
    assert spans.get_finished_spans() == ()
    assert {m.trace_context for m in state.outbox} == {None}
    assert {m.origin_at for m in state.outbox} == {datetime.fromtimestamp(SENT_MS / 1000, UTC)}


async def test_the_saga_worker_writes_in_the_trace_of_the_decision_that_deferred_it(world):
    state, spec = world
    state.clock = lambda: NOW  # the store's now(), when the saga is due
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    consumer = RegisterBirths(uow, DEFERRED, lambda: NOW)
    worker = RegistrySagaWorker(uow, DEFERRED, lambda: NOW, retry_initial=1, retry_max=2)
    with recording() as spans:
        await consumer.handle(raw(spec), _delivery(1))
        saga = state.sagas[spec.message_id]
        assert saga["origin_at"] == datetime.fromtimestamp(SENT_MS / 1000, UTC)
        assert (await worker.run_one()).outcome == "registered"
    named = _hub_spans(spans)
    (decide,), (write,) = named["hub.decide"], named["hub.registry.write"]
    assert _span_id(saga["trace_context"]) == f"{decide.context.span_id:016x}"
    assert write.parent.span_id == decide.context.span_id and write.attributes["hub.outcome"] == "registered"
    assert {_span_id(m.trace_context) for m in state.outbox} == {f"{write.context.span_id:016x}"}
    assert {m.origin_at for m in state.outbox} == {saga["origin_at"]}


async def test_a_resent_result_keeps_its_trace_but_is_not_counted_as_a_slow_result(world):
    state, spec = world
    handler = RegisterBirths(lambda: FakeUnitOfWork(state), PIPELINE, lambda: NOW)
    with recording():
        await handler.handle(raw(spec), _delivery(1))
        await handler.handle(raw(spec), _delivery(2, OTHER))
    first, copy = [m for m in state.outbox if m.topic == RESULTS]
    assert copy.trace_context == first.trace_context and first.origin_at is not None and copy.origin_at is None


def _issued(kind: str) -> float:
    return metrics.REGISTRY.get_sample_value("hub_documents_issued_total", {"kind": kind}) or 0.0


async def test_a_document_job_is_issued_in_its_requesters_trace_with_a_span_per_signature(tmp_path, world):
    state, spec = world
    ensure_keys(tmp_path)
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    handler = RegisterBirths(uow, WITH_DOCUMENTS, lambda: NOW)
    worker = DocumentWorker(
        uow, LocalSigner(tmp_path), ISSUER, TOPICS, lambda: datetime.now(UTC), retry_initial=1, retry_max=2
    )
    before = (_issued("akta"), _issued("kk"))
    with recording() as spans:
        await handler.handle(raw(spec), _delivery(1))
        assert await worker.run_one() == spec.message_id
    named = _hub_spans(spans)
    (consume,), (issue,) = named["hub.consume"], named["hub.documents.issue"]
    assert issue.parent.span_id == consume.context.span_id
    assert sorted(s.attributes["hub.document.kind"] for s in named["hub.documents.sign"]) == ["akta", "kk"]
    assert {s.parent.span_id for s in named["hub.documents.sign"]} == {issue.context.span_id}
    (result,) = [m for m in state.outbox if m.topic == RESULTS]
    assert _span_id(result.trace_context) == f"{issue.context.span_id:016x}"
    assert result.origin_at == datetime.fromtimestamp(SENT_MS / 1000, UTC)
    assert (_issued("akta"), _issued("kk")) == (before[0] + 1, before[1] + 1)
