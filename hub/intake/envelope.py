"""Opening a raw Kafka value: bytes to a JSON document with a message id, or a reason it is unreadable.

Unreadable messages (not UTF-8, not JSON, JSON too deeply nested for the parser, not an object,
no MessageHeader.id) have no one to answer: they go to the dead-letter topic with the reason.
Everything else gets an answer, even when it is far from a valid notification.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from hub.domain import codes
from hub.domain.codes import Code, Issue

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True, slots=True)
class Unreadable:
    reason: Code
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    """A readable message: its id, the sender if one can be told, and the document."""

    message_id: str
    hospital_id: str | None
    document: dict[str, Any]
    issues: tuple[Issue, ...] = field(default=())


def open_envelope(raw: bytes, *, max_bytes: int, max_depth: int) -> Envelope | Unreadable:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unreadable(codes.NOT_UTF8, f"invalid byte at position {exc.start}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return Unreadable(codes.NOT_JSON, f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return Unreadable(codes.TOO_DEEP, "nested too deeply to read")
    if not isinstance(document, dict):
        return Unreadable(codes.NOT_OBJECT, f"the top-level JSON value is {_json_kind(document)}, not an object")
    message_id = _message_id(document)
    if message_id is None:
        return Unreadable(codes.NO_MESSAGE_ID)
    issues = []
    if len(raw) > max_bytes:
        issues.append(Issue(codes.TOO_LARGE, "Bundle", f"{len(raw)} bytes, limit {max_bytes}"))
    if _deeper_than(document, max_depth):
        issues.append(Issue(codes.TOO_DEEP, "Bundle", f"limit {max_depth} levels"))
    return Envelope(message_id, _sender_id(document), document, tuple(issues))


def _first_resource(document: dict[str, Any]) -> dict[str, Any] | None:
    entries = document.get("entry")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return None
    resource = entries[0].get("resource")
    return resource if isinstance(resource, dict) else None


def _message_id(document: dict[str, Any]) -> str | None:
    header = _first_resource(document)
    if header is None or header.get("resourceType") != "MessageHeader":
        return None
    value = header.get("id")
    if isinstance(value, str) and _FHIR_ID.fullmatch(value):
        return value
    return None


def _sender_id(document: dict[str, Any]) -> str | None:
    """The sending organisation's id, best effort: it only keys the answer."""
    header = _first_resource(document) or {}
    sender = header.get("sender")
    reference = sender.get("reference") if isinstance(sender, dict) else None
    if not isinstance(reference, str):
        return None
    if reference.startswith("Organization/") or "/Organization/" in reference:
        return reference.rsplit("Organization/", 1)[1].split("/")[0] or None
    for entry in document.get("entry") or ():
        if isinstance(entry, dict) and entry.get("fullUrl") == reference:
            resource = entry.get("resource")
            if isinstance(resource, dict) and resource.get("resourceType") == "Organization":
                found = resource.get("id")
                return found if isinstance(found, str) else None
    return None


def _deeper_than(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, (dict, list)))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, (dict, list)))
    return False


def _json_kind(value: object) -> str:
    """What a parsed JSON value is, in JSON's own words (never a Python type name)."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"
