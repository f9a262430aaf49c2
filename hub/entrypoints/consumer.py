"""The FastStream application: one subscriber for birth notifications, publishers documented.

The subscriber reads batches of raw records, hands them to `RegisterBirths` and translates the
outcome. FastStream decodes nothing: its decoder would parse every value as JSON (by content-type,
or by trying) before the hub's own limits run, and raise on input that is the hub's to answer
(5,000 digits, arrays nested 50,000 deep); its batch parser decodes every header value as UTF-8
and fails the whole batch on one it cannot read. The subscriber's parser therefore drops such
header values (the hub reads only the trace context from headers) and its decoder passes the
bytes on untouched:

- handled (registered, rejected, dead-lettered, ...): the batch's offsets are committed after return;
- transient failure: retried with backoff inside the handler, offset not committed meanwhile;
- anything else is a bug: the message is rewound (NACK) and the process is asked to stop, so the
  message is redelivered to the restarted hub.

Ack policy is NACK_ON_ERROR: commit after success, seek back on error. FastStream's default
(ACK_FIRST, auto-commit) would lose messages on a crash; ACK would commit failed ones.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import BaseSecurity, SASLScram512
from faststream.specification import AsyncAPI

from hub import __version__
from hub.adapters.kafka.security import access
from hub.config import Settings
from hub.domain import codes
from hub.domain.outcomes import Handling, ResultStatus
from hub.intake import signature
from hub.logging import quoted
from hub.observability import metrics, tracing
from hub.service.events import (
    BirthRegistered,
    DocumentsIssued,
    DocumentStatusChanged,
    FamilyCardReissued,
)
from hub.service.ports import Delivery
from hub.service.register_birth import RegisterBirths
from hub.service.retry import retry_transient

log = logging.getLogger("hub.consumer")
LOG_APPEND_TIME = 1  # a record's timestamp_type when the broker stamped it


def build_broker(
    settings: Settings,
    handler: RegisterBirths | None,
    on_bug: Callable[[BaseException], None],
    *,
    security: BaseSecurity | None = None,
) -> KafkaBroker:
    """`security`: how the consumer connects; unset, as the consumer's principal (TLS + SCRAM-SHA-512,
    hub/adapters/kafka/security.py). The AsyncAPI generator and FastStream's in-memory test broker
    pass a placeholder of the same kind: they never connect."""
    topics = settings.topics
    metrics.prime(
        [str(o) for o in (*ResultStatus, *Handling)],
        [
            c.code
            for c in (
                codes.NOT_UTF8,
                codes.NOT_JSON,
                codes.NOT_OBJECT,
                codes.NO_MESSAGE_ID,
                codes.TOO_DEEP,
                codes.TOO_LARGE,
                codes.STORE_DATA_REJECTED,
            )
        ],
    )
    broker = KafkaBroker(
        settings.kafka_bootstrap,
        security=security or access(settings).faststream(),
        client_id="hub",
        metadata_max_age_ms=5_000,  # a hospital onboarded (topics made) while the hub runs is consumed within seconds
        # This broker only consumes (its publishers document the topics; the outbox relay, another
        # principal, writes them). FastStream still starts a producer: a plain one, because an
        # idempotent producer asks the cluster for a producer id, which the consumer's principal
        # may not (Kafka grants it only with Write on some topic or IdempotentWrite on the cluster).
        enable_idempotence=False,
        acks="all",
        allow_auto_create_topics=False,
        logger=logging.getLogger("hub.faststream"),
        log_level=logging.DEBUG,
        description="Civil-registry birth registration hub",
        middlewares=[KafkaPrometheusMiddleware(registry=metrics.REGISTRY, app_name="hub")],
    )

    @broker.subscriber(
        pattern=topics.notification_pattern,
        group_id=settings.consumer_group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=settings.consumer_batch,
        batch_timeout_ms=settings.consumer_batch_wait_ms,
        parser=_readable_batch,
        decoder=_undecoded,
        title="birth.notification.v1.{hospital}:consume",
        description="Hospitals' birth notifications, one topic per hospital (birth.notification.v1.<SATUSEHAT "
        "organisation id>; only that hospital's principal may write it): FHIR R4 message Bundles "
        "(application/fhir+json), key = the regency of the mother's family card (the first 4 digits of her KK "
        "number), signed by the hospital (header hub-signature: a "
        "detached JWS, RFC 7797, ES256, over the exact record bytes). See contracts/profile.md.",
    )
    async def on_notifications(message: KafkaMessage) -> None:
        items = [(r.value or b"", _delivery(r)) for r in _records(message.raw_message)]  # a tombstone: empty
        started = time.perf_counter()
        metrics.RECEIVED.labels(topics.notifications).inc(len(items))
        metrics.BATCH_SIZE.observe(len(items))
        try:
            if handler is None:
                raise RuntimeError("a broker built without a handler (for its AsyncAPI document) cannot consume")
            results = await retry_transient(
                lambda: handler.handle_batch(items),
                initial=settings.retry_initial_seconds,
                maximum=settings.retry_max_seconds,
                what="notifications",
            )
        except Exception as exc:  # a bug: stop the process; the batch is rewound and redelivered
            on_bug(exc)
            raise
        _count(results, time.perf_counter() - started)
        for (_, delivery), handled in zip(items, results, strict=False):
            log.info(
                "notification handled partition=%d offset=%d message_id=%s hospital=%s outcome=%s codes=%s",
                delivery.partition,
                delivery.offset,
                quoted(handled.message_id),
                quoted(handled.hospital_id),
                handled.outcome,
                ",".join(handled.codes) or "-",
                extra={
                    "partition": delivery.partition,
                    "offset": delivery.offset,
                    "message_id": handled.message_id,
                    "hospital": handled.hospital_id,
                    "outcome": str(handled.outcome),
                    "codes": ",".join(handled.codes) or None,
                },
            )

    broker.publisher(
        f"{topics.results}.{{hospital}}",
        title="birth.result.v1.{hospital}:publish",
        description=(
            "One topic per hospital (birth.result.v1.<SATUSEHAT organisation id>; only that hospital's principal "
            "may read it). One FHIR R4 message Bundle per notification (application/fhir+json), key = hospital "
            "organisation id; "
            "MessageHeader.response.identifier = the notification's message id. A registration's result carries "
            "the signed documents: per document a DocumentReference (id, version, QR payload, what it replaces) "
            "and a Binary with the PAdES-signed PDF (the Kutipan Akta Kelahiran and the reissued Kartu Keluarga). "
            "A correction sends a further result with the new versions. See contracts/profile.md."
        ),
    )
    broker.publisher(
        topics.births_registered,
        schema=BirthRegistered,
        title="civil.birth-registered.v1:publish",
        description="A registered birth, key = akta number.",
    )
    broker.publisher(
        topics.family_cards,
        schema=FamilyCardReissued,
        title="civil.family-card-updated.v1:publish",
        description="A reissued family card with all its members, key = KK number.",
    )
    broker.publisher(
        topics.documents_issued,
        schema=DocumentsIssued,
        title="civil.documents-issued.v1:publish",
        description="Signed documents issued (registration or correction) and what they supersede, key = KK number.",
    )
    broker.publisher(
        topics.document_status,
        schema=DocumentStatusChanged,
        title="civil.document-status.v1:publish",
        description="A document revoked by an operator, with the reason, key = KK number.",
    )
    broker.publisher(
        topics.dead_letters,
        title="birth.notification.v1.dlq:publish",
        description=(
            "Notifications that cannot be read (not UTF-8, not JSON, no MessageHeader.id, far over the size or "
            "depth limit), whose refusal the database could not store, or that are not trusted (unsigned, unknown "
            "or expired key, bad signature, sender other than the signer, disabled hospital: the SIGNATURE-* and "
            "SENDER-* codes; such a record is also answered on the results topic of the hospital whose topic "
            "carried it): original key and bytes (the first 512 KiB of larger ones, with the dlq-original-bytes "
            "header), reason in the dlq-reason and dlq-detail headers, where it was read in dlq-original-topic, "
            "-partition, -offset and -timestamp, and the record's hub-signature header, so a replay judges it as "
            "it was first judged. A result that names no hospital (a hub fault) lands here as "
            "DLQ-RESULT-UNROUTABLE."
        ),
    )
    return broker


def _count(results, seconds: float) -> None:
    """Outcomes and codes of a committed batch (each message waited for the whole batch)."""
    for handled in results:
        outcome = str(handled.outcome)
        metrics.ANSWERED.labels(outcome).inc()
        if handled.outcome != Handling.DEAD_LETTER:
            metrics.BY_HOSPITAL.labels(metrics.hospital_label(handled.hospital_id)).inc()
        metrics.PROCESSING.observe(seconds)
        for code in handled.codes:
            metrics.ISSUES.labels(outcome, code).inc()
        if handled.outcome == Handling.DEAD_LETTER:
            metrics.DEAD_LETTERS.labels(handled.codes[0] if handled.codes else "unknown").inc()


def _delivery(record) -> Delivery:
    """A record's coordinates, its Kafka timestamp and the sender's trace context (tracing on)."""
    return Delivery(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        trace_context=tracing.from_headers(record.headers),
        timestamp_ms=record.timestamp,
        signature=_header(record.headers, signature.HEADER),
        broker_time=getattr(record, "timestamp_type", 0) == LOG_APPEND_TIME,
    )


def _header(headers, name: str) -> bytes | None:
    """The last value of a record header (None when absent)."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found


async def _readable_batch(records: Any, default: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream's own batch parser, given the records with only the headers it can read."""
    return await default(_with_readable_headers(records))


def _with_readable_headers(item: Any) -> Any:
    if isinstance(item, (tuple, list)):  # a batch (FastStream's test broker nests them)
        return type(item)(_with_readable_headers(record) for record in item)
    headers = getattr(item, "headers", None) or ()
    kept = [(key, value) for key, value in headers if isinstance(value, bytes) and _is_utf8(value)]
    return item if len(kept) == len(headers) else dataclasses.replace(item, headers=kept)


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


def _undecoded(message: Any) -> Any:
    """The bodies as received: the hub reads bytes itself, within its limits (hub/intake/envelope.py)."""
    return message.body


def _records(raw) -> list:
    """The ConsumerRecords of a batch: a flat tuple from Kafka (FastStream's test broker nests lists)."""
    if isinstance(raw, (tuple, list)):
        return [record for item in raw for record in _records(item)]
    return [raw]


def build_app(broker: KafkaBroker) -> FastStream:
    spec = AsyncAPI(
        broker,
        title="hub: birth registration events",
        version=__version__,
        description="Topics the hub consumes and produces. Every produced message carries the headers "
        "event-id, correlation-id, content-type and schema, and, when the notification it answers carried "
        "a W3C traceparent header (optionally tracestate), those too, naming the hub's span: the hospital "
        "finds the hub's work under its own trace.",
    )
    return FastStream(broker, specification=spec, logger=logging.getLogger("hub.faststream"))


def placeholder_security(settings: Settings) -> BaseSecurity:
    """The consumer's kind of security without its secret: for the AsyncAPI document and tests that
    never connect."""
    return SASLScram512(settings.kafka_username, "-", use_ssl=True)
