"""The answer to a hospital: a FHIR R4 message Bundle on birth.result.v1.

`MessageHeader.response.identifier` is the notification's message id; `response.code` is `ok`
when the hub accepted the notification (registered, duplicate, stillbirth recorded, or waiting for
review) and `fatal-error` when the hospital must fix it. The registration-status extension says
which, an OperationOutcome lists every issue, and a Parameters resource carries the numbers.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.domain.codes import Issue
from hub.domain.documents import DocumentKind, SignedDocument
from hub.domain.outcomes import ResultStatus
from hub.intake import vocabulary as v

_NO_ISSUE = {"severity": "information", "code": "informational", "diagnostics": "OK"}


@dataclass(frozen=True, slots=True)
class ResultContent:
    event_id: str
    message_id: str
    hospital_id: str | None
    status: ResultStatus
    issues: tuple[Issue, ...]
    numbers: dict[str, str | int] = field(default_factory=dict)


def build_result(content: ResultContent, now: datetime) -> dict[str, Any]:
    base = uuid.UUID(content.event_id)
    outcome_id, numbers_id = str(uuid.uuid5(base, "outcome")), str(uuid.uuid5(base, "numbers"))
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": content.event_id,
        "extension": [{"url": v.REGISTRATION_STATUS, "valueCode": content.status}],
        "eventCoding": {"system": v.EVENT_SYSTEM, "code": v.BIRTH_RESULT},
        "source": {"name": "hub", "endpoint": "urn:hub:birth-registration"},
        "response": {
            "identifier": content.message_id,
            "code": content.status.response_code,
            "details": {"reference": f"urn:uuid:{outcome_id}"},
        },
    }
    if content.hospital_id:
        header["destination"] = [{"endpoint": f"urn:hospital:{content.hospital_id}"}]
    entries = [header, operation_outcome(outcome_id, content.issues)]
    if content.numbers:
        header["focus"] = [{"reference": f"urn:uuid:{numbers_id}"}]
        entries.append(_numbers(numbers_id, content.numbers))
    return {
        "resourceType": "Bundle",
        "id": content.event_id,
        "type": "message",
        "timestamp": now.isoformat(timespec="milliseconds"),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def operation_outcome(outcome_id: str, issues: tuple[Issue, ...]) -> dict[str, Any]:
    rendered = [_issue(issue) for issue in issues]
    if not rendered:
        rendered = [dict(_NO_ISSUE)]
    return {"resourceType": "OperationOutcome", "id": outcome_id, "issue": rendered}


def _issue(issue: Issue) -> dict[str, Any]:
    code = issue.code
    text = f"{code.id} / {code.en}" + (f" ({issue.detail})" if issue.detail else "")
    rendered: dict[str, Any] = {
        "severity": issue.effective_severity.value,
        "code": code.fhir_type,
        "details": {"coding": [{"system": v.ISSUE_CODE_SYSTEM, "code": code.code, "display": code.en}], "text": text},
    }
    if issue.detail:
        rendered["diagnostics"] = issue.detail
    if issue.expression:
        rendered["expression"] = [issue.expression]
    return rendered


def _numbers(resource_id: str, numbers: dict[str, str | int]) -> dict[str, Any]:
    parameters = []
    for name, value in numbers.items():
        parameters.append({"name": name, "valueInteger" if isinstance(value, int) else "valueString": value})
    return {"resourceType": "Parameters", "id": resource_id, "parameter": parameters}


_DOCUMENT_TITLES = {DocumentKind.AKTA: "Kutipan Akta Kelahiran", DocumentKind.KK: "Kartu Keluarga"}


def attach_documents(
    bundle: dict[str, Any], documents: list[SignedDocument], note: Issue, supersedes: dict[str, str] | None = None
) -> dict[str, Any]:
    """The result Bundle with the signed documents: per document a DocumentReference (what it is,
    its id, version and status, and what it replaces) and a Binary with the PDF; the
    MessageHeader's focus names the DocumentReferences and the OperationOutcome gains `note`."""
    bundle = copy.deepcopy(bundle)
    header, outcome = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
    if outcome["issue"] == [_NO_ISSUE]:
        outcome["issue"] = []
    outcome["issue"].append(_issue(note))
    for document in documents:
        reference, binary = _document_entries(document, (supersedes or {}).get(document.ref.document_id))
        header.setdefault("focus", []).append({"reference": f"urn:uuid:{reference['id']}"})
        bundle["entry"] += [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in (reference, binary)]
    return bundle


def _document_entries(document: SignedDocument, replaces: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    ref = document.ref
    binary_id = str(uuid.uuid5(uuid.UUID(ref.document_id), "binary"))
    identifier_system = v.AKTA_NUMBER_SYSTEM if ref.kind is DocumentKind.AKTA else v.KK_NUMBER_SYSTEM
    reference: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": ref.document_id,
        "extension": [
            {"url": v.DOCUMENT_VERSION, "valueInteger": ref.version},
            {"url": v.DOCUMENT_QR_PAYLOAD, "valueString": document.qr_payload},
        ],
        "masterIdentifier": {"system": v.DOCUMENT_ID_SYSTEM, "value": ref.document_id},
        "identifier": [{"system": identifier_system, "value": ref.number}],
        "status": "current",
        "docStatus": "final",
        "type": {
            "coding": [
                {"system": v.DOCUMENT_TYPE_SYSTEM, "code": ref.kind.value, "display": _DOCUMENT_TITLES[ref.kind]}
            ]
        },
        "date": ref.issued_at.isoformat(timespec="seconds"),
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": f"urn:uuid:{binary_id}",
                    "size": len(document.pdf),
                    "hash": base64.b64encode(hashlib.sha1(document.pdf, usedforsecurity=False).digest()).decode(),
                    "title": f"{ref.kind.value}-{ref.number}-v{ref.version}.pdf",
                    "creation": ref.issued_at.isoformat(timespec="seconds"),
                }
            }
        ],
    }
    if replaces:
        reference["relatesTo"] = [
            {"code": "replaces", "target": {"identifier": {"system": v.DOCUMENT_ID_SYSTEM, "value": replaces}}}
        ]
    binary = {
        "resourceType": "Binary",
        "id": binary_id,
        "contentType": "application/pdf",
        "data": base64.b64encode(document.pdf).decode(),
    }
    return reference, binary
