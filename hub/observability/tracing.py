"""OpenTelemetry traces: a hospital that sends a W3C `traceparent` sees the hub's work in its trace.

Off unless `configure()` finds the standard OTEL_* variables asking for an exporter (see
hub/observability/tracing_setup.py). While off, every helper here returns at once: no span is
made, no header parsed, no context stored, and the deferred work carries no trace context.

The spans (names are stable; attributes never hold personal data: no NIK, name, birth date, KK or
akta number, Kafka key, URL path or query value, exception text). With tracing on, the database
queries and HTTP calls made inside a span are client spans below it.

    hub.consume                 CONSUMER, one per notification record: the child of the hospital's
    │                           `traceparent` header, or the root of a new trace without one
    ├─ hub.validate             FHIR structure and profile rules (in the validator thread)
    ├─ hub.decide               registry facts, the decision and carrying it out; with siak-http
    │  │                        it opens the registry saga, which keeps this span's context
    │  └─ hub.registry.write    siak-http: the saga worker, later; SIAK's HTTP calls inside
    │     ├─ hub.documents.issue    (as below, when the registration owes documents)
    │     └─ hub.relay.publish      one per row it queued
    ├─ hub.db.transaction       the batch's transaction: with one message, its child; with several,
    │                           the root of a trace of its own, linked to every message's hub.consume
    ├─ hub.documents.issue      a document job, in the trace of the span that requested it
    │  ├─ hub.documents.sign    one per document (version, slot, QR and PDF signatures)
    │  └─ hub.relay.publish     the result with its documents, civil.documents-issued
    └─ hub.relay.publish        PRODUCER, one per outbox row queued while handling the message;
                                the published record's `traceparent` header names this span

Deferred work (registry sagas, document jobs, outbox rows) keeps the context as text: the
`traceparent` value, followed by one space and the `tracestate` value when there is one
("00-<trace id>-<span id>-<flags> vendor=value"). `traceparent` never contains a space.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("hub.tracing")
tracer = trace.get_tracer("hub")  # a proxy until a provider is installed
_PROPAGATOR = TraceContextTextMapPropagator()
_HEADERS = ("traceparent", "tracestate")

Parent = str | Span | None  # a stored trace context, a span, or None for the current context


class _Switch:
    on = False


_switch = _Switch()


def enabled() -> bool:
    return _switch.on


def switch(on: bool) -> None:
    """Turn the hub's spans on or off (tracing_setup does, once a provider is installed)."""
    _switch.on = on


def configure() -> bool:
    """Install the SDK provider and exporters if the OTEL_* variables ask for them; True if so."""
    from hub.observability.tracing_setup import configure as setup

    return setup()


# --- trace context as text ---------------------------------------------------------------------


def context_from_traceparent(value: str | None) -> Context | None:
    """The remote parent a stored trace context names; None when absent or malformed."""
    if not value:
        return None
    traceparent, _, tracestate = value.strip().partition(" ")
    carrier = {"traceparent": traceparent, "tracestate": tracestate} if tracestate else {"traceparent": traceparent}
    found = _PROPAGATOR.extract(carrier, context=Context())
    return found if trace.get_current_span(found).get_span_context().is_valid else None


def current_traceparent() -> str | None:
    """The current span's trace context as deferred work stores it; None when off or no span."""
    if not _switch.on:
        return None
    return _text(None)


def trace_context_of(span: Span) -> str | None:
    """A span's trace context as text; None for a span that is not valid (tracing off)."""
    return _text(trace.set_span_in_context(span)) if span.get_span_context().is_valid else None


def _text(context: Context | None) -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    if "traceparent" not in carrier:
        return None
    return f"{carrier['traceparent']} {carrier['tracestate']}" if carrier.get("tracestate") else carrier["traceparent"]


def from_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> str | None:
    """The trace context a Kafka record's `traceparent` (and `tracestate`) headers carry, rewritten
    in the standard form; None when tracing is off or there is none that is valid. Headers are the
    sender's input: this never raises, and what it keeps is bounded (the propagator drops a
    tracestate beyond 32 well-formed members)."""
    if not _switch.on or not headers:
        return None
    found: dict[str, str] = {}
    for key, value in headers:
        name = key.lower() if isinstance(key, str) else ""
        if name in _HEADERS and isinstance(value, bytes) and len(value) <= 8192:
            found[name] = value.decode("ascii", "replace").strip()
    if not found.get("traceparent") or " " in found["traceparent"]:
        return None
    stored = f"{found['traceparent']} {found['tracestate']}" if found.get("tracestate") else found["traceparent"]
    context = context_from_traceparent(stored)
    return None if context is None else _text(context)


def kafka_headers(trace_context: str | None) -> list[tuple[str, bytes]]:
    """Kafka record headers that carry a stored trace context on."""
    if not trace_context:
        return []
    traceparent, _, tracestate = trace_context.partition(" ")
    headers = [("traceparent", traceparent.encode())]
    return [*headers, ("tracestate", tracestate.encode())] if tracestate else headers


# --- spans ----------------------------------------------------------------------------------------


def start_span(
    name: str, *, parent: Parent = None, kind: SpanKind = SpanKind.INTERNAL, attributes: dict | None = None
) -> Span:
    """A span the caller ends (`span.end()`); not made current. INVALID_SPAN when off."""
    if not _switch.on:
        return INVALID_SPAN
    return tracer.start_span(name, context=_parent_context(parent), kind=kind, attributes=attributes)


@contextmanager
def span(
    name: str, *, parent: Parent = None, kind: SpanKind = SpanKind.INTERNAL, attributes: dict | None = None
) -> Iterator[Span]:
    """A span current for the block and ended after it; an exception leaving the block marks it
    failed (by type only) and goes on."""
    if not _switch.on:
        yield INVALID_SPAN
        return
    with _running(
        tracer.start_span(name, context=_parent_context(parent), kind=kind, attributes=attributes)
    ) as current:
        yield current


@contextmanager
def batch_span(name: str, members: Sequence[Span], attributes: dict | None = None) -> Iterator[Span]:
    """A span current for work done once for several messages: the child of the only message's
    span, or the root of its own trace linked to every message's span (a span has one parent)."""
    if not _switch.on:
        yield INVALID_SPAN
        return
    if len(members) == 1:
        with span(name, parent=members[0], attributes=attributes) as single:
            yield single
        return
    links = [Link(member.get_span_context()) for member in members if member.get_span_context().is_valid]
    with _running(tracer.start_span(name, context=Context(), attributes=attributes, links=links)) as root:
        yield root


@contextmanager
def _running(started: Span) -> Iterator[Span]:
    """Current for the block, ended after it; an exception leaving the block marks it failed."""
    try:
        with within(started):
            yield started
    except BaseException as exc:
        failed(started, exc)
        raise
    finally:
        started.end()


@contextmanager
def within(started: Span) -> Iterator[None]:
    """Make a span started elsewhere current for the block; it is not ended here."""
    if not _switch.on:
        yield
        return
    with trace.use_span(started, end_on_exit=False, record_exception=False, set_status_on_exception=False):
        yield


def failed(started: Span, exc: BaseException) -> None:
    """Mark a span failed by the exception's type: its text may quote a NIK (a registry's message,
    a URL path), so it stays out of the trace."""
    if started.is_recording():
        started.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        started.add_event("exception", {"exception.type": type(exc).__name__})


def _parent_context(parent: Parent) -> Context | None:
    if parent is None:
        return None
    if isinstance(parent, str):
        return context_from_traceparent(parent)  # malformed: the current context
    return trace.set_span_in_context(parent, Context())
