"""Just enough of the FHIR R4 definitions (the StructureDefinitions and value sets shipped in the
reference validator's own jar) to build mutations: element cardinalities and types, required
bindings, a valid code of a value set. Read from the specification, never typed by hand.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hub.devtools.r4_definitions import PROFILES as _PROFILES

NS = {"f": "http://hl7.org/fhir"}
RESOURCES_JAR = "hapi-fhir-validation-resources-r4-*.jar"
_JAR_DIRS = (Path(".local/fhir-validator"),)
_VALUE_SETS = "org/hl7/fhir/r4/model/valueset/valuesets.xml"


@dataclass(frozen=True, slots=True)
class Element:
    path: str  # as defined: "Patient.contact.name", "Observation.value[x]"
    min: int
    max: str
    types: tuple[str, ...]
    strength: str | None = None
    value_set: str | None = None  # canonical URL without its version

    @property
    def repeats(self) -> bool:
        return self.max != "1"


def _jar() -> Path:
    for folder in _JAR_DIRS:
        found = sorted(folder.rglob(RESOURCES_JAR)) if folder.is_dir() else []
        if found:
            return found[-1]
    raise FileNotFoundError(f"no {RESOURCES_JAR} under {', '.join(map(str, _JAR_DIRS))}")


def _xml(member: str) -> ET.Element:
    with zipfile.ZipFile(_jar()) as jar, jar.open(member) as stream:
        return ET.parse(stream).getroot()


def _value(node: ET.Element | None, name: str) -> str | None:
    found = node.find(f"f:{name}", NS) if node is not None else None
    return found.get("value") if found is not None else None


@functools.cache
def structures() -> dict[str, dict[str, Element]]:
    """Base types (resources and complex datatypes) by name, each its snapshot's elements by path."""
    found: dict[str, dict[str, Element]] = {}
    for member in _PROFILES:
        for sd in _xml(member).iterfind("f:entry/f:resource/f:StructureDefinition", NS):
            if _value(sd, "derivation") == "constraint" or _value(sd, "kind") not in {"resource", "complex-type"}:
                continue
            elements = {}
            for node in sd.iterfind("f:snapshot/f:element", NS):
                binding = node.find("f:binding", NS)
                value_set = _value(binding, "valueSet")
                element = Element(
                    _value(node, "path") or "",
                    int(_value(node, "min") or 0),
                    _value(node, "max") or "1",
                    tuple(_value(t, "code") or "" for t in node.iterfind("f:type", NS)),
                    _value(binding, "strength"),
                    value_set.split("|")[0] if value_set else None,
                )
                elements[element.path] = element
            found[_value(sd, "id") or ""] = elements
    return found


@functools.cache
def _terminology() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Value set URL -> the code systems it includes; code system URL -> its codes (in order)."""
    includes: dict[str, list[str]] = {}
    concepts: dict[str, list[str]] = {}
    for resource in _xml(_VALUE_SETS).iterfind("f:entry/f:resource/*", NS):
        url = _value(resource, "url") or ""
        if resource.tag.endswith("}ValueSet"):
            includes[url] = [_value(inc, "system") or "" for inc in resource.iterfind("f:compose/f:include", NS)]
        elif resource.tag.endswith("}CodeSystem"):
            concepts[url] = [_value(c, "code") or "" for c in resource.iterfind(".//f:concept", NS)]
    return includes, concepts


def value_set_system(value_set: str) -> str | None:
    systems = _terminology()[0].get(value_set, [])
    return systems[0] if systems else None


def a_valid_code(value_set: str) -> str | None:
    system = value_set_system(value_set)
    codes = _terminology()[1].get(system or "", [])
    return codes[0] if codes else None


def child_elements(type_name: str, path: str) -> list[Element]:
    """The direct children of an element defined inline (a backbone) or of a datatype."""
    elements = structures()[type_name]
    depth = path.count(".") + 1
    return [e for p, e in elements.items() if p.startswith(path + ".") and p.count(".") == depth]
