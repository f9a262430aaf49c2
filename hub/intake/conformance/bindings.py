"""Required value-set bindings: a coded value bound `required` in FHIR R4 must come from its set.

As the reference validator judges them:
- a `code` (or string/uri) element: the code alone must be one of the set's codes;
- a Coding: its system and code together must be a member (a Coding without a system is not);
- a CodeableConcept: at least one of its codings must be a member; one with only text fails.
The one value set the specification's files cannot enumerate that the reference validator checks,
ISO 4217 currencies, is checked against pycountry's copy of the ISO list. MIME types (which the
reference validator does not check either) are not checked.
The issue's detail is the value set's canonical URL, never the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pycountry

from hub.domain import codes
from hub.domain.codes import Issue
from hub.intake.conformance.definitions import ValueSet, binding_at
from hub.intake.conformance.walk import Node, typed_nodes

CURRENCIES = "http://hl7.org/fhir/ValueSet/currencies"
_CODED = frozenset({"code", "string", "uri", "Coding", "CodeableConcept"})


def binding_issues(document: dict[str, Any], nodes: Iterable[Node] | None = None) -> list[Issue]:
    """Every value outside the required value set of its element; pass `nodes` to reuse a walk."""
    issues = []
    for node in typed_nodes(document) if nodes is None else nodes:
        if node.type not in _CODED:
            continue
        value_set = binding_at(node.element)
        if value_set is None:
            continue
        if value_set.url == CURRENCIES:
            if not _currency(node.value):
                issues.append(Issue(codes.FHIR_CODE_NOT_IN_VALUE_SET, node.path, value_set.url))
            continue
        if value_set.unchecked is not None:
            continue
        if not _conforms(value_set, node.type, node.value):
            issues.append(Issue(codes.FHIR_CODE_NOT_IN_VALUE_SET, node.path, value_set.url))
    return issues


def _conforms(value_set: ValueSet, type_code: str, value: Any) -> bool:
    if type_code == "Coding":
        return _coding_in(value_set, value)
    if type_code == "CodeableConcept":
        codings = value.get("coding") if isinstance(value, dict) else None
        return isinstance(codings, list) and any(_coding_in(value_set, coding) for coding in codings)
    return isinstance(value, str) and value_set.has_code(value)


def _coding_in(value_set: ValueSet, coding: Any) -> bool:
    if not isinstance(coding, dict):
        return False
    system, code = coding.get("system"), coding.get("code")
    return isinstance(system, str) and isinstance(code, str) and value_set.has_coding(system, code)


def _currency(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 3 and pycountry.currencies.get(alpha_3=value) is not None
