"""Installing OpenTelemetry's SDK for the hub's traces, from the standard OTEL_* variables.

Tracing is on when the variables ask for an exporter, and off otherwise (the default: nothing is
installed, the API stays the no-op one and the hub's helpers return at once):

- `OTEL_SDK_DISABLED=true` turns it off whatever else is set;
- `OTEL_TRACES_EXPORTER`: `otlp` (OTLP over HTTP/protobuf), `console`, both (comma-separated), or
  `none`; when unset, setting `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
  means `otlp`. The exporter reads its own variables (endpoint, headers, timeout, compression) and
  the batch processor its `OTEL_BSP_*` ones; only the `http/protobuf` protocol is installed;
- `OTEL_SERVICE_NAME` (default `hub`) and `OTEL_RESOURCE_ATTRIBUTES` describe the process;
- `OTEL_TRACES_SAMPLER` (and `_ARG`) replace the hub's sampler, which follows the parent's
  decision and, at the root, records everything except a database query or HTTP call made
  outside any hub span: those are background polls (the relay's lock, the workers' claims,
  readiness probes) that would otherwise start a trace every few seconds.

When on, the httpx clients (SIAK, the signing service) and asyncpg are instrumented: their calls
become client spans of the hub span they run in, and outgoing HTTP requests carry `traceparent`.
HTTP spans keep the URL with every path segment except words and the API version replaced by
`{id}` and query values by `*` (SIAK's paths hold NIKs); asyncpg spans keep the SQL text, which
never holds values (they travel as parameters, which are not recorded).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from opentelemetry import trace

from hub.observability import tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

log = logging.getLogger("hub.tracing")
EXPORTERS = ("otlp", "console")
_KEPT_SEGMENT = re.compile(r"v\d+|[A-Za-z_-]+")
_URL_ATTRIBUTES = ("http.url", "url.full")  # the old and the new HTTP semantic conventions


class _Recorder:
    """The test recorder: one provider per process (OpenTelemetry's global provider is set once)."""

    provider: TracerProvider | None = None
    exporter: InMemorySpanExporter | None = None


_recorder = _Recorder()


def exporters_wanted() -> tuple[str, ...]:
    """The exporters the environment asks for; () when tracing stays off. A name the hub does not
    ship, or a protocol other than http/protobuf, is a configuration error."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ()
    named = [name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    if not named:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        named = ["otlp"] if endpoint else []
    if "none" in named:
        return ()
    unknown = sorted(set(named) - set(EXPORTERS))
    if unknown:
        raise ValueError(f"OTEL_TRACES_EXPORTER names {', '.join(unknown)}; the hub ships otlp and console")
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if "otlp" in named and protocol and protocol.strip() != "http/protobuf":
        raise ValueError(f"OTLP protocol {protocol!r} is not installed; the hub exports http/protobuf")
    return tuple(dict.fromkeys(named))


def configure() -> bool:
    """Install the provider the environment asks for (a batch processor per exporter) and
    instrument httpx and asyncpg; True if tracing is now on. Call once, at start-up."""
    wanted = exporters_wanted()
    if not wanted:
        return False
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = _provider()
    for name in wanted:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    _install(provider)
    _instrument(provider)
    tracing.switch(True)
    log.info("tracing on exporters=%s", ",".join(wanted))
    return True


@contextmanager
def recording() -> Iterator[InMemorySpanExporter]:
    """For tests: the hub's spans (and its httpx and asyncpg calls') go to an in-memory exporter
    while the block runs, with the hub's sampler; off and uninstrumented again after it."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if _recorder.provider is None:
        provider, exporter = _provider(), InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        _install(provider)
        _recorder.provider, _recorder.exporter = provider, exporter
    assert _recorder.exporter is not None
    _recorder.exporter.clear()
    _instrument(_recorder.provider)
    tracing.switch(True)
    try:
        yield _recorder.exporter
    finally:
        tracing.switch(False)
        _uninstrument()


def _install(provider: TracerProvider) -> None:
    trace.set_tracer_provider(provider)  # once per process: a second provider is refused
    if trace.get_tracer_provider() is not provider:
        raise RuntimeError("another OpenTelemetry tracer provider is already installed")


def _provider() -> TracerProvider:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "hub"})
    return TracerProvider(resource=resource, sampler=_sampler())


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _sampler() -> Any:
    """None (the SDK reads OTEL_TRACES_SAMPLER) when the environment names one; else the hub's."""
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
    from opentelemetry.trace import SpanKind

    class NoStrayClientCalls(Sampler):
        """At the root: a client call outside any hub span is a background poll; drop it."""

        def should_sample(
            self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
        ):
            if kind is SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

        def get_description(self) -> str:
            return "NoStrayClientCalls"

    return ParentBased(root=NoStrayClientCalls())


def _instrument(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(
        tracer_provider=provider, request_hook=_redact, async_request_hook=_redact_async
    )
    AsyncPGInstrumentor().instrument(tracer_provider=provider)


def _uninstrument() -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    AsyncPGInstrumentor().uninstrument()


def redacted_url(url: str) -> str:
    """The URL without what may be personal: path segments other than words and the API version
    become `{id}`, query values `*`, and credentials are dropped."""
    parts = urlsplit(url)
    path = "/".join(s if not s or _KEPT_SEGMENT.fullmatch(s) else "{id}" for s in parts.path.split("/"))
    query = "&".join(f"{name}=*" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def _redact(span, request) -> None:
    if not span.is_recording():
        return
    recorded = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        if key in recorded:
            span.set_attribute(key, redacted_url(str(request.url)))


async def _redact_async(span, request) -> None:
    _redact(span, request)
