"""Text and numbers in a notification, checked in one walk over the document before FHIR reads it.

What is refused everywhere, in values and in keys:
- NUL and the other control characters below U+0020 except tab, CR and LF: FHIR R4 forbids them
  in every string, and PostgreSQL's text cannot hold NUL at all;
- lone surrogates: the parser turns an escape such as "\\ud800" without its pair into a
  character that UTF-8 cannot encode, so it could be neither stored nor sent back;
- numbers the parser marked OUT_OF_RANGE (envelope.py: too many characters, infinite, NaN).

People's names (every string of a HumanName in Patient, RelatedPerson, Practitioner and Person)
are held to more, because they are printed on the akta and the family card: no control, format
(zero-width, bidirectional override), private-use, unassigned, line-break or symbol (emoji, math,
currency) character at all, not even tab or newline, and at most MAX_NAME_CHARS characters per
part. Letters and marks of any script, digits, spaces and punctuation (apostrophe, hyphen, period)
pass: which of them a name may have is the registry's rule, not a matter of storing it.

Each problem is one issue with the FHIRPath of its element, never the value. A key that is not an
element name is not echoed either: its issue points at the object that holds it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from hub.domain import codes
from hub.domain.codes import Issue
from hub.intake.envelope import OutOfRange
from hub.intake.structure import fhirpath

MAX_NAME_CHARS = 100  # per name part or text: room for the longest names the registry holds
MAX_ISSUES = 50  # a document full of bad strings is told so by its first fifty
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")  # either of the two above
_PERSONS = frozenset({"Patient", "RelatedPerson", "Practitioner", "Person"})
_NAME_PARTS = ("text", "family", "given", "prefix", "suffix")
_NOT_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Sm", "Sc", "Sk", "So"})

Location = tuple[str | int, ...]


def text_issues(document: dict[str, Any]) -> list[Issue]:
    """Every text and number problem of the document (at most MAX_ISSUES), in document order."""
    issues = [] if _clean(document) else [Issue(code, fhirpath("Bundle", loc)) for loc, code in _walk(document)]
    refused = {issue.expression for issue in issues}
    issues += [issue for issue in _name_issues(document) if issue.expression not in refused]
    return issues[:MAX_ISSUES]


def text_problem(value: str) -> codes.Code | None:
    """Why a string cannot be taken anywhere in a notification, or None."""
    if _SURROGATE.search(value):
        return codes.TEXT_UNPAIRED_SURROGATE
    if _CONTROL.search(value):
        return codes.TEXT_CONTROL_CHARACTER
    return None


def name_problem(value: str) -> codes.Code | None:
    """Why a string cannot be (part of) a person's name, or None."""
    if len(value) > MAX_NAME_CHARS:
        return codes.NAME_TOO_LONG
    if any(unicodedata.category(char) in _NOT_IN_NAMES for char in value):
        return codes.NAME_CHARACTER_INVALID
    return None


def _clean(document: Any) -> bool:
    """Whether no string or key has a refused character and no number is out of range: the quick
    look that nearly every notification passes, without the locations `_walk` keeps."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if _REFUSED.search(key):
                    return False
                if isinstance(item, str):
                    if _REFUSED.search(item):
                        return False
                elif isinstance(item, dict | list | OutOfRange):
                    stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            if _REFUSED.search(node):
                return False
        elif isinstance(node, OutOfRange):
            return False
    return True


def _walk(document: Any) -> Iterator[tuple[Location, codes.Code]]:
    stack: list[tuple[Any, Location]] = [(document, ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, dict):
            for key in node:
                if problem := text_problem(key):
                    yield (*loc, key), problem  # fhirpath() stops before a key that is no element name
            stack.extend((node[key], (*loc, key)) for key in reversed(node))  # reversed: popped in order
        elif isinstance(node, list):
            stack.extend((node[index], (*loc, index)) for index in range(len(node) - 1, -1, -1))
        elif isinstance(node, str):
            if problem := text_problem(node):
                yield loc, problem
        elif isinstance(node, OutOfRange):
            yield loc, codes.NUMBER_OUT_OF_RANGE


def _name_issues(document: dict[str, Any]) -> Iterator[Issue]:
    for loc, value in _name_strings(document):
        if problem := name_problem(value):
            yield Issue(problem, fhirpath("Bundle", loc))


def _name_strings(document: dict[str, Any]) -> Iterator[tuple[Location, str]]:
    entries = document.get("entry")
    for e, entry in enumerate(entries if isinstance(entries, list) else ()):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not _is_person(resource.get("resourceType")):
            continue
        names = resource.get("name")
        for n, name in enumerate(names if isinstance(names, list) else ()):
            for part in _NAME_PARTS if isinstance(name, dict) else ():
                value = name.get(part)
                at: Location = ("entry", e, "resource", "name", n, part)
                if isinstance(value, str):
                    yield at, value
                elif isinstance(value, list):
                    yield from (((*at, i), item) for i, item in enumerate(value) if isinstance(item, str))


def _is_person(kind: Any) -> bool:
    return isinstance(kind, str) and kind in _PERSONS  # the type may be any JSON value, even unhashable
