"""Outbound messages of the use cases: results, civil events and dead letters, with their headers.

Event ids are derived (UUID v5) from what they describe, so a retry after a crash produces the
same ids and consumers can deduplicate.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime

from hub.config import Topics, is_hospital_id
from hub.domain import codes
from hub.domain.codes import CATALOGUE, Issue
from hub.domain.decision import Register
from hub.domain.documents import DocumentStatus, SignedDocument
from hub.domain.outcomes import ResultStatus
from hub.domain.values import BirthNotice
from hub.intake.results import ResultContent, build_result
from hub.intake.signature import HEADER as SIGNATURE_HEADER
from hub.intake.signature import MAX_HEADER_BYTES as MAX_SIGNATURE_HEADER_BYTES
from hub.observability import tracing
from hub.service.events import (
    BirthRegistered,
    Child,
    DocumentsIssued,
    DocumentStatusChanged,
    FamilyCardReissued,
    IssuedDocument,
    Member,
    Parent,
)
from hub.service.ports import (
    Delivery,
    DocumentJob,
    InboxRecord,
    OutboundMessage,
    Registration,
    StoredDocument,
)

EVENT_NAMESPACE = uuid.UUID("5b0c9f7e-2d1a-4c53-9a57-6a1f3c2e8d40")
FHIR_JSON = "application/fhir+json"
EVENT_JSON = "application/json"
RESULT_SCHEMA = "birth-result/v1"


def event_id(*parts: object) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts)))


def result_event_id(hospital_id: str | None, message_id: str, sequence: int = 1) -> str:
    """The n-th result for a notification (a review decision sends a second one). The hospital is
    part of it: two hospitals may send the same message id, and their results are different events."""
    return event_id("result", hospital_id or "", message_id, sequence)


def stamped(messages: list[OutboundMessage], origin_at: datetime | None) -> list[OutboundMessage]:
    """The messages with the current trace context (the relay publishes them in that trace) and
    the time the hospital sent the notification they answer (for a result's end-to-end age)."""
    trace_context = tracing.current_traceparent()
    if trace_context is None and origin_at is None:
        return messages
    return [replace(m, trace_context=trace_context, origin_at=origin_at) for m in messages]


def headers(eid: str, correlation_id: str, content_type: str, schema: str) -> dict[str, str]:
    return {"event-id": eid, "correlation-id": correlation_id, "content-type": content_type, "schema": schema}


def result_message(topics: Topics, content: ResultContent, now: datetime) -> OutboundMessage:
    return bundle_message(topics, build_result(content, now), content.message_id, content.hospital_id)


def expired_result(topics: Topics, prior: InboxRecord, now: datetime) -> OutboundMessage:
    """What a re-sent message id gets once its result's body was removed under the retention
    policy: the same event id, status and codes (without their details), and RESULT-EXPIRED."""
    issues = [Issue(CATALOGUE[c]) for c in prior.codes if c in CATALOGUE and c != codes.RESULT_EXPIRED.code]
    content = ResultContent(
        prior.result_event_id,
        prior.message_id,
        prior.hospital_id,
        ResultStatus(prior.status),
        (*issues, Issue(codes.RESULT_EXPIRED)),
    )
    return result_message(topics, content, now)


def bundle_message(topics: Topics, bundle: dict, message_id: str, hospital_id: str | None) -> OutboundMessage:
    """A result Bundle as a message to the hospital, on its own results topic; its event id is the
    Bundle's id. The trust check (hub/intake/signature.py) lets through only messages whose sender
    is the hospital that owns the topic they came on, so a result always has a hospital to go to;
    should one not (a hub bug), it is kept on the dead-letter topic rather than lost."""
    body = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()
    key = (hospital_id or "").encode() or None
    head = headers(bundle["id"], message_id, FHIR_JSON, RESULT_SCHEMA)
    if hospital_id is not None and is_hospital_id(hospital_id):
        return OutboundMessage(bundle["id"], topics.results_of(hospital_id), key, body, head)
    head |= {
        "dlq-reason": codes.RESULT_UNROUTABLE.code,
        "dlq-detail": "the result names no hospital with a results topic",
    }
    return OutboundMessage(bundle["id"], topics.dead_letters, key, body, head)


def documents_issued(
    topics: Topics, job: DocumentJob, issued: list[SignedDocument], supersedes: dict[str, str], now: datetime
) -> OutboundMessage:
    """`civil.documents-issued.v1`, keyed by the KK number: a family's documents stay in order."""
    request = job.request
    event = DocumentsIssued(
        event_id=event_id("documents-issued", request.hospital_id or "", request.message_id, request.sequence),
        occurred_at=now,
        message_id=request.message_id,
        reason=request.reason,
        kk_number=request.kk_number,
        correction=request.correction,
        documents=[
            IssuedDocument(
                document_id=d.ref.document_id,
                kind=d.ref.kind,
                number=d.ref.number,
                version=d.ref.version,
                issued_at=d.ref.issued_at,
                key_id=d.key_id,
                status_list_regency=d.ref.slot.regency,
                status_list_year=d.ref.slot.year,
                status_list_index=d.ref.slot.index,
                supersedes=supersedes.get(d.ref.document_id),
            )
            for d in issued
        ],
    )
    return OutboundMessage(
        event.event_id,
        topics.documents_issued,
        request.kk_number.encode(),
        event.model_dump_json().encode(),
        headers(event.event_id, request.message_id, EVENT_JSON, "DocumentsIssued/v1"),
    )


def document_status_changed(
    topics: Topics, document: StoredDocument, status: DocumentStatus, reason: str, actor: str, now: datetime
) -> OutboundMessage:
    """`civil.document-status.v1`: an operator revoked a document (supersession travels with the
    documents-issued event of the new version)."""
    ref = document.ref
    event = DocumentStatusChanged(
        event_id=event_id("document-status", ref.document_id, status.value, now.isoformat()),
        occurred_at=now,
        message_id=document.message_id,
        document_id=ref.document_id,
        kind=ref.kind,
        number=ref.number,
        version=ref.version,
        status=status,
        reason=reason,
        actor=actor,
    )
    return OutboundMessage(
        event.event_id,
        topics.document_status,
        document.kk_number.encode(),
        event.model_dump_json().encode(),
        headers(event.event_id, document.message_id, EVENT_JSON, "DocumentStatusChanged/v1"),
    )


def registration_numbers(registration: Registration, decision: Register) -> dict[str, str | int]:
    return {
        "nik": registration.child_nik,
        "akta-number": registration.akta_number,
        "akta-variant": decision.variant.value,
        "registration-type": "LT" if decision.late else "LU",
        "kk-number": registration.family_card.kk_number,
        "kk-version": registration.family_card.version,
    }


def civil_events(
    topics: Topics, notice: BirthNotice, decision: Register, registration: Registration
) -> list[OutboundMessage]:
    """The civil events of a registration. Built without re-validation (`model_construct`): every
    value comes from a validated notice and the registry; tests validate the events against the
    models, which are the published JSON Schemas."""
    card = registration.family_card
    born = BirthRegistered.model_construct(
        event_id=event_id("birth-registered", registration.akta_number),
        occurred_at=registration.registered_at,
        message_id=notice.message_id,
        hospital_id=notice.hospital_id,
        encounter_id=notice.encounter_id,
        akta_number=registration.akta_number,
        akta_variant=decision.variant,
        registration_type="LT" if decision.late else "LU",
        issuing_regency=registration.issuing_regency,
        child=Child.model_construct(
            nik=registration.child_nik,
            name=notice.child_name,
            sex=notice.sex,
            born_at=notice.born_at,
            birth_order=notice.birth_order,
            plurality=notice.plurality,
            weight_g=notice.weight_g,
            length_cm=notice.length_cm,
            attendant=notice.attendant,
            place_type=notice.place_type,
        ),
        mother=Parent.model_construct(nik=notice.mother_nik, name=notice.mother_name),
        father=Parent.model_construct(nik=notice.father_nik, name=notice.father_name) if notice.father_nik else None,
        reporter_nik=notice.reporter_nik,
        witness_niks=list(notice.witness_niks),
        kk_number=card.kk_number,
        kk_version=card.version,
    )
    reissued = FamilyCardReissued.model_construct(
        event_id=event_id("family-card", card.kk_number, card.version),
        occurred_at=registration.registered_at,
        message_id=notice.message_id,
        kk_number=card.kk_number,
        version=card.version,
        previous_version=card.version - 1,
        kecamatan=card.kecamatan,
        issuing_regency=registration.issuing_regency,
        akta_number=registration.akta_number,
        members=[
            Member.model_construct(
                nik=m.nik, name=m.name, sex=m.sex, birth_date=m.birth_date, relationship=m.relationship
            )
            for m in card.members
        ],
    )
    return [
        OutboundMessage(
            born.event_id,
            topics.births_registered,
            born.akta_number.encode(),
            born.model_dump_json().encode(),
            headers(born.event_id, notice.message_id, EVENT_JSON, "BirthRegistered/v1"),
        ),
        OutboundMessage(
            reissued.event_id,
            topics.family_cards,
            card.kk_number.encode(),
            reissued.model_dump_json().encode(),
            headers(reissued.event_id, notice.message_id, EVENT_JSON, "FamilyCardReissued/v1"),
        ),
    ]


# What of an unreadable message its dead letter keeps: a record must stay under the broker's and
# the relay producer's 1 MiB limit, or the relay could never publish it (and nothing after it).
DEAD_LETTER_MAX_BYTES = 512 * 1024
DEAD_LETTER_MAX_KEY_BYTES = 1024


def dead_letter(topics: Topics, raw: bytes, delivery: Delivery, reason: str, detail: str | None) -> OutboundMessage:
    """The original key and bytes with the reason; a larger value keeps its first
    DEAD_LETTER_MAX_BYTES, and the header `dlq-original-bytes` says how long it was."""
    eid = event_id("dead-letter", delivery.topic, delivery.partition, delivery.offset)
    # No message id could be read: the correlation id is where the message was.
    where = f"{delivery.topic}:{delivery.partition}:{delivery.offset}"
    meta = headers(eid, where, "application/octet-stream", "dead-letter/v1")
    meta.update(
        {
            "dlq-reason": reason,
            "dlq-detail": detail or "",
            "dlq-original-topic": delivery.topic,
            "dlq-original-partition": str(delivery.partition),
            "dlq-original-offset": str(delivery.offset),
        }
    )
    # What a replay needs to judge the record again as it was first judged (hub/service/trust.py).
    if delivery.timestamp_ms is not None:
        meta["dlq-original-timestamp"] = str(delivery.timestamp_ms)
        meta["dlq-original-timestamp-type"] = "LogAppendTime" if delivery.broker_time else "CreateTime"
    if delivery.signature is not None:  # bounded: a hospital must not grow a dead letter past the broker's limit
        too_long = len(delivery.signature) > MAX_SIGNATURE_HEADER_BYTES
        meta[SIGNATURE_HEADER] = "oversized" if too_long else delivery.signature.decode("ascii", errors="replace")
    if len(raw) > DEAD_LETTER_MAX_BYTES:
        meta["dlq-original-bytes"] = str(len(raw))
    key = delivery.key[:DEAD_LETTER_MAX_KEY_BYTES] if delivery.key is not None else None
    return OutboundMessage(eid, topics.dead_letters, key, raw[:DEAD_LETTER_MAX_BYTES], meta)
