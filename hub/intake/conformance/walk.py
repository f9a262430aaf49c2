"""A typed walk over a message Bundle: every element of the Bundle and of its entries' resources,
each with its FHIRPath from the Bundle root, its definition path and its FHIR type.

- `path` is FHIRPath from the Bundle root: "Bundle.entry[2].resource.identifier[0].system". Every
  item of a JSON array gets its index; a single value gets none.
- `element` is the definition path by JSON names, rooted at the resource that holds the value:
  "Patient.contact.name.use", "Observation.valueQuantity.unit" (a choice keeps its typed name). A
  resource inside another (Bundle.entry.resource, contained) starts its own root ("Patient.id"); the
  node of the resource itself carries the holder's element ("Bundle.entry.resource") and, as type,
  its resourceType.
- A primitive's "_x" sibling is walked at the primitive's path: one node of type "Element" for the
  object, then its children ("Patient.gender.extension[0]", type "Extension").
- Keys the definitions do not know (resourceType, or anything structure.py already rejected) and
  resources of other types than the notification's are not descended into.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.intake.conformance.definitions import Definitions, ElementDef, definitions


@dataclass(frozen=True, slots=True)
class Node:
    path: str
    element: str
    type: str
    value: Any


def typed_nodes(document: dict[str, Any]) -> list[Node]:
    """Every element of a Bundle and its resources, in document order, arrays expanded. (Collected
    into one list by plain recursion: nested generators pass every node up through each level.)"""
    defs = definitions()
    found = [Node("Bundle", "Bundle", "Bundle", document)]
    _children(defs, document, "Bundle", "Bundle", "Bundle", found)
    return found


def _children(defs: Definitions, value: dict[str, Any], owner: str, path: str, element: str, found: list[Node]) -> None:
    elements = defs.owners.get(owner)
    if elements is None:
        return
    for key, item in value.items():
        if key[0] == "_":
            _primitive_extras(defs, item, f"{path}.{key[1:]}", f"{element}.{key[1:]}", found)
            continue
        child = elements.get(key)
        if child is None:
            continue
        child_path = f"{path}.{key}"
        child_element = f"{element}.{key}"
        if isinstance(item, list):
            for index, one in enumerate(item):
                _value(defs, child, one, f"{child_path}[{index}]", child_element, found)
        else:
            _value(defs, child, item, child_path, child_element, found)


def _value(defs: Definitions, child: ElementDef, value: Any, path: str, element: str, found: list[Node]) -> None:
    if value is None:
        return
    if child.type == "Resource":
        _resource(defs, value, path, element, found)
        return
    found.append(Node(path, element, child.type, value))
    if isinstance(value, dict):
        _children(defs, value, child.children if child.children is not None else child.type, path, element, found)


def _resource(defs: Definitions, value: Any, path: str, element: str, found: list[Node]) -> None:
    resource_type = value.get("resourceType") if isinstance(value, dict) else None
    found.append(Node(path, element, resource_type if isinstance(resource_type, str) else "Resource", value))
    if isinstance(resource_type, str) and resource_type in defs.resources:
        _children(defs, value, resource_type, path, resource_type, found)


def _primitive_extras(defs: Definitions, item: Any, path: str, element: str, found: list[Node]) -> None:
    """The "_x" object(s) of a primitive: extensions and id of the value at the same index."""
    if isinstance(item, list):
        for index, one in enumerate(item):
            if isinstance(one, dict):
                found.append(Node(f"{path}[{index}]", element, "Element", one))
                _children(defs, one, "Element", f"{path}[{index}]", element, found)
    elif isinstance(item, dict):
        found.append(Node(path, element, "Element", item))
        _children(defs, item, "Element", path, element, found)
