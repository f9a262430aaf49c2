"""The FHIR R4 definitions the conformance stage judges by, read once from r4_definitions.json.

That file is generated from the specification (hub.devtools.r4_definitions), never edited by hand.
It holds, per definition owner (a resource, a datatype, or a backbone element's path such as
"Patient.contact"), the elements by their JSON name (choices expanded: Observation.valueQuantity),
and every required value set those elements bind to, expanded to (system, code) pairs.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

DEFINITIONS_FILE = "r4_definitions.json"


@dataclass(frozen=True, slots=True)
class ElementDef:
    """One JSON property of an owner: its FHIR type, whether it repeats, where its children are
    defined (a backbone element's path, else its type) and its required value set, if any."""

    name: str
    type: str
    repeats: bool
    children: str | None
    binding: str | None


@dataclass(frozen=True, slots=True)
class ValueSet:
    """A required value set: its (system, code) members, or why it cannot be checked from a list."""

    url: str
    members: frozenset[tuple[str, str]]
    codes: frozenset[str]
    unchecked: str | None = None

    def has_code(self, code: str) -> bool:
        return code in self.codes

    def has_coding(self, system: str, code: str) -> bool:
        return (system, code) in self.members


@dataclass(frozen=True, slots=True)
class RequiredBinding:
    """A required binding as defined (owner "HumanName", element "use") with one resource-rooted
    place it can be reached at (example_element "Patient.name.use")."""

    owner: str
    name: str
    type: str
    value_set: ValueSet
    example_element: str


@dataclass(frozen=True, slots=True)
class Definitions:
    fhir_version: str
    source: str
    resources: frozenset[str]
    primitives: frozenset[str]
    owners: dict[str, dict[str, ElementDef]]
    value_sets: dict[str, ValueSet]

    def element(self, owner: str, name: str) -> ElementDef | None:
        elements = self.owners.get(owner)
        return elements.get(name) if elements is not None else None

    def children_owner(self, element: ElementDef) -> str | None:
        """Where the children of a complex value are defined; None for a primitive."""
        if element.children is not None:
            return element.children
        return element.type if element.type in self.owners else None


@cache
def definitions() -> Definitions:
    """The definitions, loaded on first use from the package's data."""
    text = resources.files(__package__).joinpath(DEFINITIONS_FILE).read_text(encoding="utf-8")
    return parse(json.loads(text))


def parse(raw: dict[str, Any]) -> Definitions:
    owners = {
        owner: {name: _element(name, facts) for name, facts in body["elements"].items()}
        for owner, body in raw["types"].items()
    }
    return Definitions(
        fhir_version=raw["fhirVersion"],
        source=raw["source"],
        resources=frozenset(raw["resources"]),
        primitives=frozenset(raw["primitives"]),
        owners=owners,
        value_sets={url: _value_set(url, body) for url, body in raw["valueSets"].items()},
    )


def _element(name: str, facts: dict[str, Any]) -> ElementDef:
    return ElementDef(name, facts["type"], facts["max"] != "1", facts.get("children"), facts.get("binding"))


def _value_set(url: str, body: dict[str, Any]) -> ValueSet:
    members = frozenset((system, code) for system, codes in body.get("codes", {}).items() for code in codes)
    return ValueSet(url, members, frozenset(code for _, code in members), body.get("unchecked"))


@lru_cache(maxsize=4096)  # bounded: nested extensions could make ever new element paths
def binding_at(element_path: str) -> ValueSet | None:
    """The required value set of a resource-rooted element path ("Patient.contact.name.use")."""
    defs = definitions()
    root, *names = element_path.split(".")
    owner: str | None = root
    found: ElementDef | None = None
    for name in names:
        found = defs.element(owner, name) if owner is not None else None
        if found is None:
            return None
        owner = defs.children_owner(found)
    if found is None or found.binding is None:
        return None
    return defs.value_sets.get(found.binding)


def required_bindings() -> list[RequiredBinding]:
    """Every required binding reachable from the notification's resource types, each with the
    shortest resource-rooted element path that reaches it (for making one mutation per binding)."""
    defs = definitions()
    reached = _shortest_paths(defs)
    result = []
    for owner in sorted(defs.owners):
        for name, element in sorted(defs.owners[owner].items()):
            if element.binding is None or owner not in reached:
                continue
            result.append(
                RequiredBinding(owner, name, element.type, defs.value_sets[element.binding], f"{reached[owner]}.{name}")
            )
    return result


def _shortest_paths(defs: Definitions) -> dict[str, str]:
    reached = {resource: resource for resource in sorted(defs.resources)}
    queue = deque(sorted(defs.resources))
    while queue:
        owner = queue.popleft()
        for name, element in sorted(defs.owners[owner].items()):
            below = defs.children_owner(element)
            if below is not None and below not in reached:
                reached[below] = f"{reached[owner]}.{name}"
                queue.append(below)
    return reached
