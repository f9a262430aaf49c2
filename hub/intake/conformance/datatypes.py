"""FHIR R4 datatype rules beyond shapes, as the reference validator (HAPI FHIR 8.8.0) applies them
to every value of the type, wherever it is (fullUrl included). Each was probed there as an error.

| hub code                             | value                                  | rule |
|--------------------------------------|----------------------------------------|------|
| FHIR-URI-INVALID "whitespace"        | uri, url, canonical, oid, uuid         | no whitespace anywhere (HAPI: none at either end, no space inside, and the uri regex `\\S*`) |
| FHIR-URI-INVALID "oid:" / "uuid:"    | the same                               | must not start with `oid:` or `uuid:` (an OID or UUID is a URI only as `urn:oid:`/`urn:uuid:`) |
| FHIR-URI-INVALID "urn:uuid"          | the same, starting `urn:uuid:`         | the rest (less a `#fragment`, a canonical's `|version`) is a lowercase 8-4-4-4-12 hex UUID |
| FHIR-URI-INVALID "urn:oid"           | the same, starting `urn:oid:`          | `[0-2](\\.(0|[1-9][0-9]*))+` with its last dot at index >= 4 or starting `1.3` (HAPI's OID rule) |
| FHIR-URI-INVALID "oid" / "uuid"      | an oid / a uuid                        | must start with `urn:oid:` / `urn:uuid:` |
| FHIR-URI-INVALID "canonical"         | canonical                              | `#local` or an absolute URL |
| FHIR-URI-INVALID "Extension.url"     | Extension.url outside a complex extension | an absolute URL (a sub-extension's url may be relative) |
| FHIR-IDENTIFIER-SYSTEM-NOT-ABSOLUTE  | Identifier.system                      | starts `http:`, `https:`, `urn:` or `ldap:` |
| FHIR-URI-INVALID "urn:ietf:rfc:3986" | Identifier.value                       | with that system, an absolute URI (`scheme:`) |
| FHIR-URI-INVALID "rfc4122"           | Identifier.value                       | with system https://tools.ietf.org/html/rfc4122, a UUID (with or without `urn:uuid:`) |
| FHIR-UCUM-INVALID                    | Quantity (and Age, Count, Distance, Duration), Coding | with system http://unitsofmeasure.org, the code is valid UCUM |
| FHIR-CODE-NOT-IN-VALUE-SET (all-languages) | Resource.language, Attachment.language | a registered BCP 47 tag (langcodes), no underscore |

UCUM: ucumvert's parser implements UCUM 2.2's full grammar from ucum-essence.xml. It is stricter
than HAPI's ucum-java on a few malformed codes that ucum-java lets through (a leading zero "01", a
sign "+5", "m//s", an unbalanced ")", a space inside an annotation) and, left alone, laxer on one
shape: an integer factor with an exponent ("3-5"), which UCUM forbids; that one is checked here.
Each distinct code is parsed once (cached).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import langcodes

from hub.domain import codes
from hub.domain.codes import Issue
from hub.intake.conformance.bundle_rules import is_absolute_url
from hub.intake.conformance.walk import Node

UCUM_SYSTEM = "http://unitsofmeasure.org"
ALL_LANGUAGES = "http://hl7.org/fhir/ValueSet/all-languages"
# The UCUM parser (an Earley parser) costs time and memory per character: a unit longer than any
# real one is refused unparsed (the longest in UCUM's own examples is under 40 characters).
MAX_UCUM_CHARS = 128
URI_TYPES = frozenset({"uri", "url", "canonical", "oid", "uuid"})
QUANTITY_TYPES = frozenset({"Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity"})

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_ANY_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NESTED_EXTENSION = re.compile(r"\.(?:modifierExtension|extension)\[\d+\]\.(?:modifierExtension|extension)\[\d+\]$")
_IDENTIFIER_SCHEMES = ("http:", "https:", "urn:", "ldap:")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_\[\]]*")
_ANNOTATION = re.compile(r"\{[^{}]*\}")
_FACTOR_WITH_EXPONENT = re.compile(r"(?:^|[./(])[0-9]+[+-][0-9]")
# HAPI's Utilities.isWhitespace set, plus whatever Python calls whitespace (\s: str.isspace()).
_HAPI_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WHITESPACE = re.compile("[" + re.escape("".join(sorted(_HAPI_WHITESPACE))) + r"]|\s")


def datatype_issues(nodes: Iterable[Node]) -> list[Issue]:
    """Every datatype rule above over the walker's nodes."""
    issues: list[Issue] = []
    for node in nodes:
        check = _CHECKS.get(node.type)
        if check is not None:
            issues.extend(check(node))
    return issues


def uri_issues(node: Node) -> list[Issue]:
    value = node.value
    if not isinstance(value, str):
        return []
    detail = _uri_problem(value, node.type)
    return [Issue(codes.FHIR_URI_INVALID, node.path, detail)] if detail else []


def _uri_problem(value: str, kind: str) -> str | None:
    if _WHITESPACE.search(value):
        return "whitespace"
    if value.startswith(("oid:", "uuid:")):
        return value.split(":", 1)[0] + ":"
    if kind == "oid" and not value.startswith("urn:oid:"):
        return "oid"
    if kind == "uuid" and not value.startswith("urn:uuid:"):
        return "uuid"
    if kind == "canonical" and not (value.startswith("#") or is_absolute_url(value)):
        return "canonical"
    if value.startswith("urn:uuid:") and not _valid_urn_uuid(value, kind):
        return "urn:uuid"
    if value.startswith("urn:oid:") and not _valid_oid(value[8:]):
        return "urn:oid"
    return None


def _valid_urn_uuid(value: str, kind: str) -> bool:
    rest = value.split("#", 1)[0]
    if kind == "canonical" and "|" in rest:
        rest = rest[: rest.rindex("|")]
    return _UUID.fullmatch(rest[9:]) is not None


def _valid_oid(oid: str) -> bool:
    # HAPI: OID roots shorter than 4 characters are almost never namespaces, except 1.3.x.
    return _OID.fullmatch(oid) is not None and (oid.rfind(".") >= 4 or oid.startswith("1.3"))


def identifier_issues(node: Node) -> list[Issue]:
    value = node.value
    if not isinstance(value, dict):
        return []
    system, identifier = value.get("system"), value.get("value")
    if not isinstance(system, str):
        return []
    if not system.startswith(_IDENTIFIER_SCHEMES):
        return [Issue(codes.FHIR_IDENTIFIER_SYSTEM_NOT_ABSOLUTE, f"{node.path}.system")]
    if not isinstance(identifier, str):
        return []
    if system == "urn:ietf:rfc:3986" and not _has_scheme(identifier):
        return [Issue(codes.FHIR_URI_INVALID, f"{node.path}.value", "urn:ietf:rfc:3986")]
    if system == "https://tools.ietf.org/html/rfc4122" and not (
        identifier.startswith("urn:uuid:") or _ANY_UUID.fullmatch(identifier)
    ):
        return [Issue(codes.FHIR_URI_INVALID, f"{node.path}.value", "https://tools.ietf.org/html/rfc4122")]
    return []


def _has_scheme(value: str) -> bool:
    """HAPI's InstanceValidator.isAbsolute: a token before the first colon (file: needs a path)."""
    scheme, colon, rest = value.partition(":")
    if not colon or _TOKEN.fullmatch(scheme) is None:
        return False
    return rest.startswith("/") or ":" in rest if scheme == "file" else True


def extension_issues(node: Node) -> list[Issue]:
    value = node.value
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or _NESTED_EXTENSION.search(node.path) or is_absolute_url(url):
        return []
    return [Issue(codes.FHIR_URI_INVALID, f"{node.path}.url", "Extension.url")]


def quantity_issues(node: Node) -> list[Issue]:
    return _ucum_issues(node, "code")


def coding_issues(node: Node) -> list[Issue]:
    return _ucum_issues(node, "code")


def _ucum_issues(node: Node, key: str) -> list[Issue]:
    value = node.value
    if not isinstance(value, dict) or value.get("system") != UCUM_SYSTEM:
        return []
    unit = value.get(key)
    if not isinstance(unit, str) or is_ucum(unit):
        return []
    return [Issue(codes.FHIR_UCUM_INVALID, f"{node.path}.{key}", UCUM_SYSTEM)]


@lru_cache(maxsize=4096)
def is_ucum(code: str) -> bool:
    """Whether `code` is a valid UCUM unit expression (case-sensitive UCUM), cached per code."""
    if not code or len(code) > MAX_UCUM_CHARS or _FACTOR_WITH_EXPONENT.search(_ANNOTATION.sub("", code)):
        return False
    from lark.exceptions import LarkError

    try:
        _ucum_parser().parse(code)
    except LarkError:
        return False
    return True


@lru_cache(maxsize=1)
def _ucum_parser() -> Any:
    from ucumvert import get_ucum_parser  # imports pint and builds the grammar: once, on first use

    return get_ucum_parser()


def language_issues(node: Node) -> list[Issue]:
    """A `language` code (Resource.language, Attachment.language) is a well-formed, registered BCP 47
    tag (R4 binds it `preferred`, its maximum the all-languages value set). The reference validator
    goes further and refuses any tag outside the 21 of the Common Languages list, Indonesian `id`
    among them: tests/conformance/accepted_differences.py says why the hub does not."""
    value = node.value
    if not node.element.endswith(".language") or not isinstance(value, str) or _language_tag(value):
        return []
    return [Issue(codes.FHIR_CODE_NOT_IN_VALUE_SET, node.path, ALL_LANGUAGES)]


@lru_cache(maxsize=1024)
def _language_tag(value: str) -> bool:
    return "_" not in value and langcodes.tag_is_valid(value)


_CHECKS = {
    "code": language_issues,
    **dict.fromkeys(URI_TYPES, uri_issues),
    "Identifier": identifier_issues,
    "Extension": extension_issues,
    **dict.fromkeys(QUANTITY_TYPES, quantity_issues),
    "Coding": coding_issues,
}
