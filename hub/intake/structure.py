"""Structural FHIR R4 validation with fhir.resources (its R4B models accept R4 birth bundles).

The Bundle is checked without its entries' resources, and each resource on its own by its own
model: an unknown resourceType then becomes an issue instead of an exception inside
fhir.resources, and every error's location maps to a FHIRPath expression from the Bundle root.
Diagnostics are the hub's own words per error type (see `diagnostic`), never the input, so no
personal data is echoed, and never pydantic's message as such, which shows Python artefacts.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from hub.domain import codes
from hub.domain.codes import Issue


def structural_issues(document: dict[str, Any]) -> list[Issue]:
    """Every structural problem of a message Bundle; empty when fhir.resources accepts it."""
    if document.get("resourceType") != "Bundle" or document.get("type") != "message":
        return [Issue(codes.NOT_MESSAGE_BUNDLE, "Bundle.type")]
    entries = document.get("entry")
    if not isinstance(entries, list):
        return [Issue(codes.ELEMENT_MISSING, "Bundle.entry")]
    issues = _validate(Bundle, _shell(document, entries), "Bundle")
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        issues.extend(_resource_issues(resource, f"Bundle.entry[{index}].resource"))
    return issues


def _shell(document: dict[str, Any], entries: list[Any]) -> dict[str, Any]:
    shell = {key: value for key, value in document.items() if key != "entry"}
    shell["entry"] = [
        {key: value for key, value in entry.items() if key != "resource"} if isinstance(entry, dict) else entry
        for entry in entries
    ]
    return shell


def _resource_issues(resource: Any, path: str) -> list[Issue]:
    if not isinstance(resource, dict):
        return [Issue(codes.ELEMENT_MISSING, path)]
    model = _model_for(resource.get("resourceType"))
    if model is None:
        return [Issue(codes.FHIR_UNKNOWN_RESOURCE, f"{path}.resourceType")]
    return _validate(model, resource, path)


def _model_for(resource_type: Any) -> type | None:
    if not isinstance(resource_type, str) or not resource_type.isalpha():
        return None
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None
    return model if issubclass(model, Resource) else None


def _validate(model: Any, data: dict[str, Any], path: str) -> list[Issue]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [
            Issue(codes.FHIR_INVALID, fhirpath(path, error["loc"]), diagnostic(error))
            for error in exc.errors(include_input=False, include_url=False, include_context=False)
        ]
    except (TypeError, AttributeError):
        # fhir.resources' URL validator fails on a JSON type it did not expect (an array or a number
        # where a URL belongs) with a Python error instead of a validation error: the input is wrong.
        return [Issue(codes.FHIR_INVALID, path, _UNREADABLE_TYPE)]
    return []


_ELEMENT = re.compile(r"_?[A-Za-z]{1,64}")


def fhirpath(root: str, loc: tuple[Any, ...]) -> str:
    """('_birthDate', 'extension', 0, 'valueDateTime') -> root.birthDate.extension[0].valueDateTime

    FHIR element names are letters only. Anything else in a location is a key the sender made up
    (it may be personal data): the path stops at its parent instead of echoing it.
    """
    path = root
    for position, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "root" and position == len(loc) - 1:
            continue  # fhir.resources names a complex value itself "root"; no FHIR element is called so
        elif isinstance(part, str) and _ELEMENT.fullmatch(part):
            path += "." + part.lstrip("_")
        elif isinstance(part, str) and "[" in part:
            continue  # pydantic's own validator labels, e.g. "function-after[...]"
        else:
            break
    return path


# What the hospital reads in `diagnostics`: our own words per pydantic / fhir.resources error type,
# never their message as such. Theirs name Python types ("<class 'list'>", "None is not allowed"),
# quote regular expressions and lists ("['eventCoding', 'eventUri']"): artefacts, not explanations.
_UNREADABLE_TYPE = "an element has a JSON type that FHIR R4 does not allow there"
_GENERIC = "does not conform to FHIR R4"
_BY_TYPE = {
    "missing": "required by FHIR R4",
    "model_field_validation.missing": "required by FHIR R4",
    "extra_forbidden": "not an element that FHIR R4 defines here",
    "string_type": "must be a JSON string",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "does not have the format of its FHIR data type (empty, or extra whitespace)",
    "list_type": "must be a JSON array",
    "json_invalid": "must be a JSON object",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "date_type": "must be a FHIR date",
    "datetime_type": "must be a FHIR dateTime",
    "date_from_datetime_inexact": "must be a date without a time of day",
}
_EMPTY_ITEM = re.compile(r"None is not allowed as an element of ")
_EXPECTED_MODEL = re.compile(r"Value is expected from the instance of ([A-Za-z]+)\b")
_PRIMITIVE_FORMAT = re.compile(r"([A-Za-z]+) value string does not match spec regex")
_CHOICE_MISSING = re.compile(r"Expect any of field value from this list")
_CHOICE_SEVERAL = re.compile(r"Any of one field value is expected from this list")
_CLEAN = re.compile(r"[A-Za-z ,.:;()\-]+")  # no digits either: a message quoting a NIK or a date must not pass
_PYTHON_WORDS = re.compile(r"None|\bnull\b|\bTrue\b|\bFalse\b")


def diagnostic(error: Any) -> str:
    """A safe, artefact-free text for one validation error (a pydantic ErrorDetails)."""
    kind, msg = error["type"], error["msg"].removeprefix("Value error, ")
    if kind == "list_type" and _EMPTY_ITEM.match(msg):
        return "must not contain empty items"
    if kind == "model_validation_format":
        return _format_error(msg)
    if kind == "value_error":
        return _value_error(msg)
    return _BY_TYPE.get(kind) or _safe(msg)


def _format_error(msg: str) -> str:
    expected = _EXPECTED_MODEL.match(msg)
    if expected:  # the model's name; the extension element of a primitive (_birthDate) is an Element
        name = "Element" if expected.group(1) == "FHIRPrimitiveExtension" else expected.group(1)
        return f"must be a FHIR {name} (a JSON object)"
    if msg.startswith("One of field value is required"):
        return "must not be empty"
    return _safe(msg)


def _value_error(msg: str) -> str:
    primitive = _PRIMITIVE_FORMAT.match(msg)
    if primitive:
        name = primitive.group(1)
        return f"not a valid FHIR {name[0].lower()}{name[1:]}"
    names = ", ".join(re.findall(r"'([A-Za-z]+)'", msg))
    if _CHOICE_MISSING.match(msg) and names:
        return f"requires one of {names}"
    if _CHOICE_SEVERAL.match(msg) and names:
        return f"allows only one of {names}"
    return _safe(msg)


def _safe(msg: str) -> str:
    """The library's own message when it is plain words, else a generic text."""
    return msg if _CLEAN.fullmatch(msg) and not _PYTHON_WORDS.search(msg) else _GENERIC
