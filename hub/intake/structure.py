"""Structural FHIR R4 validation with fhir.resources (its R4B models accept R4 birth bundles).

The Bundle is checked without its entries' resources, and each resource on its own by its own
model: an unknown resourceType then becomes an issue instead of an exception inside
fhir.resources, and every error's location maps to a FHIRPath expression from the Bundle root.
Messages are pydantic's, rendered without the input so that no personal data is echoed.
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
            Issue(codes.FHIR_INVALID, fhirpath(path, error["loc"]), _message(error["msg"]))
            for error in exc.errors(include_input=False, include_url=False, include_context=False)
        ]
    return []


_ELEMENT = re.compile(r"_?[A-Za-z]{1,64}")


def fhirpath(root: str, loc: tuple[Any, ...]) -> str:
    """('_birthDate', 'extension', 0, 'valueDateTime') -> root.birthDate.extension[0].valueDateTime

    FHIR element names are letters only. Anything else in a location is a key the sender made up
    (it may be personal data): the path stops at its parent instead of echoing it.
    """
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and _ELEMENT.fullmatch(part):
            path += "." + part.lstrip("_")
        elif isinstance(part, str) and "[" in part:
            continue  # pydantic's own validator labels, e.g. "function-after[...]"
        else:
            break
    return path


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")
