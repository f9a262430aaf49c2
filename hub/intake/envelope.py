"""Opening a raw Kafka value: bytes to a JSON document with a message id, or a reason it is unreadable.

Unreadable messages (far over the size or depth limit, not UTF-8, not JSON, not an object, no
MessageHeader.id) have no one to answer: they go to the dead-letter topic with the reason. Everything else gets an answer, even
when it is far from a valid notification.

The limits come before the work they bound. The byte size is checked before anything is decoded,
and the nesting depth by a scan of the brackets outside strings before the JSON parser runs. A
message over a limit is still read, so that the hospital hears why it was refused, unless it is
more than READ_FACTOR times over: that one is dead-lettered unread. Numbers are parsed by the
hub's own hooks: a literal longer than MAX_NUMBER_CHARS, an infinite value or NaN becomes the
OUT_OF_RANGE marker instead of a number (Python's int() refuses more than 4,300 digits with an
exception, and float() turns 1e999 into infinity); the text rules (text.py) report where it is.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from hub.domain import codes
from hub.domain.codes import Code, Issue
from hub.intake import references

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
READ_FACTOR = 4  # how far over a limit a message is still read to be answered
MAX_NUMBER_CHARS = 32  # FHIR's integer has 10 digits and its decimal 18 significant ones: ample room


class OutOfRange:
    """Where the document had a number the hub does not take (see the module docstring)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OUT_OF_RANGE"


OUT_OF_RANGE = OutOfRange()


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
    read = _read(raw, READ_FACTOR * max_bytes, READ_FACTOR * max_depth)
    if isinstance(read, Unreadable):
        return read
    document, depth = read
    message_id = _message_id(document)
    if message_id is None:
        return Unreadable(codes.NO_MESSAGE_ID)
    issues = []
    if len(raw) > max_bytes:
        issues.append(Issue(codes.TOO_LARGE, "Bundle", f"{len(raw)} bytes, limit {max_bytes}"))
    if depth > max_depth:
        issues.append(Issue(codes.TOO_DEEP, "Bundle", f"limit {max_depth} levels"))
    return Envelope(message_id, _sender_id(document), document, tuple(issues))


def _read(raw: bytes, most_bytes: int, most_depth: int) -> tuple[dict[str, Any], int] | Unreadable:
    """The JSON object and its depth; each limit is applied before the work it bounds."""
    if len(raw) > most_bytes:
        return Unreadable(codes.TOO_LARGE, f"{len(raw)} bytes, limit {most_bytes // READ_FACTOR}: not read")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unreadable(codes.NOT_UTF8, f"invalid byte at position {exc.start}")
    depth = json_depth(text, stop_above=most_depth)
    if depth > most_depth:
        return Unreadable(codes.TOO_DEEP, f"more than {most_depth} levels, limit {most_depth // READ_FACTOR}: not read")
    document = _parsed(text)
    if isinstance(document, Unreadable):
        return document
    if not isinstance(document, dict):
        return Unreadable(codes.NOT_OBJECT, f"the top-level JSON value is {_json_kind(document)}, not an object")
    return document, depth


def loads(text: str) -> Any:
    """JSON as the hub reads it: numbers through the hooks below (module docstring)."""
    return json.loads(text, parse_int=_integer, parse_float=_decimal, parse_constant=_not_a_number)


def _parsed(text: str) -> Any:
    try:
        return loads(text)
    except json.JSONDecodeError as exc:
        return Unreadable(codes.NOT_JSON, f"{exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:  # a max_json_depth set so high that the parser's own limit comes first
        return Unreadable(codes.TOO_DEEP, "nested too deeply for the parser")


def _integer(literal: str) -> int | OutOfRange:
    return OUT_OF_RANGE if len(literal) > MAX_NUMBER_CHARS else int(literal)


def _decimal(literal: str) -> float | OutOfRange:
    value = float(literal) if len(literal) <= MAX_NUMBER_CHARS else math.inf
    return value if math.isfinite(value) else OUT_OF_RANGE


def _not_a_number(_literal: str) -> OutOfRange:
    return OUT_OF_RANGE  # NaN, Infinity, -Infinity: Python's parser takes them, JSON has no such values


# A JSON string, or an unterminated one up to the end (possessive: every character is looked at once).
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_CHUNK = 1 << 16  # brackets summed per step: a hostile megabyte never holds the interpreter for long


def json_depth(text: str, stop_above: int | None = None) -> int:
    """How deeply the brackets outside strings nest: for valid JSON its nesting depth (the
    top-level object is level 1); for anything else, at least the depth the parser reaches before
    it fails. Counting ends early once the depth is above `stop_above`."""
    # Without a backslash no quote is escaped: the strings are what lies between pairs of quotes
    # (an odd last one opens a string that runs to the end), a split three times faster than _STRING.
    outside = _STRING.sub("", text) if "\\" in text else "".join(text.split('"')[::2])
    brackets = _NOT_BRACKET.sub("", outside)
    depth = deepest = 0
    for start in range(0, len(brackets), _CHUNK):
        chunk = brackets[start : start + _CHUNK]
        peak = max(accumulate(map(_STEP.__getitem__, chunk), initial=depth))
        deepest = max(deepest, peak)
        if stop_above is not None and deepest > stop_above:
            break
        depth += 2 * (chunk.count("[") + chunk.count("{")) - len(chunk)
    return deepest


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
    """The sending organisation's id, best effort: it keys the answer and is stored with it, so
    it must be a FHIR id (text a database or a Kafka key cannot take makes it unknown)."""
    found = _sender_reference_id(document)
    return found if found is not None and _FHIR_ID.fullmatch(found) else None


def _sender_reference_id(document: dict[str, Any]) -> str | None:
    """The id of the Organization entry MessageHeader.sender resolves to, resolved as the profile
    rules resolve it (FHIR's bundle rules, as BundleView.resolve: the first entry with that fullUrl
    and a resource); failing that, the id a `Type/id`-shaped reference names, so that the hospital
    still hears why its notification was refused (the profile rules refuse it). Called once a
    MessageHeader is known to be the first entry. Read without a BundleView: every record is
    opened in the hub's own process, and this is all it needs of the Bundle's structure."""
    entries = document["entry"]
    header = entries[0]
    sender = header["resource"].get("sender")
    reference = sender.get("reference") if isinstance(sender, dict) else None
    if not isinstance(reference, str):
        return None
    source = header.get("fullUrl") if isinstance(header.get("fullUrl"), str) else None
    target = references.absolute(reference, source)
    found = _resource_at(entries, target) if target else None
    if found is not None:
        ident = found.get("id")
        return ident if found.get("resourceType") == "Organization" and isinstance(ident, str) else None
    if reference.startswith("Organization/") or "/Organization/" in reference:
        return reference.rsplit("Organization/", 1)[1].split("/")[0] or None
    return None


def _resource_at(entries: list[Any], full_url: str) -> dict[str, Any] | None:
    for entry in entries:
        if isinstance(entry, dict) and entry.get("fullUrl") == full_url and isinstance(entry.get("resource"), dict):
            return entry["resource"]
    return None


def _json_kind(value: object) -> str:
    """What a parsed JSON value is, in JSON's own words (never a Python type name)."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, OutOfRange)):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"
