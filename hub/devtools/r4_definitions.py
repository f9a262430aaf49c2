"""Generate hub/intake/conformance/r4_definitions.json from the FHIR R4 specification itself.

The source is the definitions jar the reference validator runs on
(hapi-fhir-validation-resources-r4-<version>.jar): the StructureDefinitions of the resources and
datatypes, and the ValueSets and CodeSystems their required bindings point at. Only what a birth
notification can contain is kept: the resource types below and every datatype reachable from them.

    python -m hub.devtools.r4_definitions --jar .local/fhir-validator/libs [--out PATH] [--check]

`--check` writes nothing and exits 1 when the committed file differs from what the jar gives.
The output is deterministic (sorted, one element or one value set per line) so a diff reviews well.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT_RESOURCES = (
    "Bundle",
    "MessageHeader",
    "Organization",
    "Patient",
    "RelatedPerson",
    "Encounter",
    "Observation",
    "Procedure",
    # Not read by the hub, but a notification may carry them (the Procedure's performer, the
    # Encounter's location, as SATUSEHAT bundles do): held to R4 like the rest.
    "Practitioner",
    "Location",
)
FHIR_VERSION = "4.0.1"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "intake" / "conformance" / "r4_definitions.json"
JAR_PATTERN = re.compile(r"hapi-fhir-validation-resources-r4-(?P<version>[\w.\-]+)\.jar$")
PROFILES = ("org/hl7/fhir/r4/model/profile/profiles-types.xml", "org/hl7/fhir/r4/model/profile/profiles-resources.xml")
TERMINOLOGY = (
    "org/hl7/fhir/r4/model/valueset/valuesets.xml",
    "org/hl7/fhir/r4/model/valueset/v3-codesystems.xml",
    "org/hl7/fhir/r4/model/valueset/v2-tables.xml",
)
NS = "{http://hl7.org/fhir}"
FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
NOT_WALKED = frozenset({"Resource", "DomainResource", "BackboneElement"})
CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept", "string", "uri"})
# Code systems defined outside the specification's files: a value set drawing on them cannot be
# enumerated here (the reference validator answers them with code, not with a list).
EXTERNAL_SYSTEMS = {
    "urn:ietf:bcp:13": "MIME types (BCP 13) are a grammar, not a list in the specification",
    "urn:ietf:bcp:47": "language tags (BCP 47) are a grammar, not a list in the specification",
    "http://unitsofmeasure.org": "UCUM units are a grammar; checked where UCUM is claimed, not as a list",
}


# -- reading the jar -------------------------------------------------------------------------------


def find_jar(location: Path) -> Path:
    """The definitions jar itself, or the one inside a directory of jars."""
    if location.is_file():
        return location
    found = sorted(p for p in location.glob("*.jar") if JAR_PATTERN.search(p.name))
    if not found:
        raise FileNotFoundError(f"no hapi-fhir-validation-resources-r4 jar in {location}")
    return found[-1]


def jar_version(jar: Path) -> str:
    match = JAR_PATTERN.search(jar.name)
    return match.group("version") if match else "unknown"


def _resources(archive: zipfile.ZipFile, member: str, tag: str) -> Iterator[ElementTree.Element]:
    """Every <tag> resource of one Bundle file, parsed incrementally and released after use."""
    with archive.open(member) as stream:
        # The input is the specification's jar the project fetches from Maven Central, not a message.
        for _event, node in ElementTree.iterparse(stream, events=("end",)):  # noqa: S314
            if node.tag == NS + tag:
                yield node
                node.clear()


def _value(node: ElementTree.Element | None, child: str) -> str | None:
    found = node.find(NS + child) if node is not None else None
    return found.get("value") if found is not None else None


def _canonical(url: str) -> str:
    return url.split("|", 1)[0]


# -- structure definitions -------------------------------------------------------------------------


@dataclass
class Element:
    path: str
    types: list[str]
    max: str
    binding: str | None
    content_reference: str | None
    min: int = 0  # not in the generated JSON (the hub needs none); the conformance suite's mutations do


@dataclass
class Structure:
    name: str
    kind: str
    base: str | None
    elements: list[Element] = field(default_factory=list)


def _element_types(node: ElementTree.Element) -> list[str]:
    codes = []
    for type_node in node.findall(NS + "type"):
        code = _value(type_node, "code") or ""
        for extension in type_node.findall(NS + "extension"):
            if extension.get("url") == FHIR_TYPE_EXTENSION:
                code = _value(extension, "valueUrl") or code
        codes.append(code)
    return codes


def _element(node: ElementTree.Element) -> Element:
    binding = node.find(NS + "binding")
    required = binding is not None and _value(binding, "strength") == "required"
    value_set = _value(binding, "valueSet") if required else None
    reference = node.find(NS + "contentReference")
    return Element(
        path=_value(node, "path") or "",
        types=_element_types(node),
        max=_value(node, "max") or "1",
        binding=_canonical(value_set) if value_set else None,
        content_reference=reference.get("value", "").lstrip("#") if reference is not None else None,
        min=int(_value(node, "min") or 0),
    )


def read_structures(archive: zipfile.ZipFile) -> dict[str, Structure]:
    structures = {}
    for member in PROFILES:
        for definition in _resources(archive, member, "StructureDefinition"):
            kind = _value(definition, "kind") or ""
            if kind == "logical":
                continue
            name = _value(definition, "id") or ""
            derivation = _value(definition, "derivation")
            base = _value(definition, "type") if derivation == "constraint" else None
            structure = Structure(name=name, kind=kind, base=base)
            snapshot = definition.find(NS + "snapshot")
            if snapshot is not None:
                structure.elements = [_element(e) for e in snapshot.findall(NS + "element")]
            structures[name] = structure
    return structures


# -- value sets and code systems -------------------------------------------------------------------


@dataclass
class CodeSystem:
    url: str
    content: str
    concepts: dict[str, list[str]]  # code -> ancestor codes (for is-a filters)


def _concepts(node: ElementTree.Element, ancestors: list[str], into: dict[str, list[str]]) -> None:
    for concept in node.findall(NS + "concept"):
        code = _value(concept, "code")
        if code is None:
            continue
        into[code] = list(ancestors)
        _concepts(concept, [*ancestors, code], into)


def read_terminology(archive: zipfile.ZipFile) -> tuple[dict[str, CodeSystem], dict[str, ElementTree.Element]]:
    systems: dict[str, CodeSystem] = {}
    value_sets: dict[str, ElementTree.Element] = {}
    for member in TERMINOLOGY:
        with archive.open(member) as stream:
            bundle = ElementTree.parse(stream).getroot()  # noqa: S314 (the specification's jar)
        for entry in bundle.iter(NS + "resource"):
            for resource in entry:
                url = _value(resource, "url")
                if url is None:
                    continue
                if resource.tag == NS + "CodeSystem":
                    concepts: dict[str, list[str]] = {}
                    _concepts(resource, [], concepts)
                    systems.setdefault(url, CodeSystem(url, _value(resource, "content") or "", concepts))
                elif resource.tag == NS + "ValueSet":
                    value_sets.setdefault(url, resource)
    return systems, value_sets


class NotEnumerable(Exception):
    """A value set whose members these files cannot list; the reason is kept for review."""


@dataclass
class Expander:
    systems: dict[str, CodeSystem]
    value_sets: dict[str, ElementTree.Element]

    def expand(self, url: str, seen: tuple[str, ...] = ()) -> set[tuple[str, str]]:
        if url in seen:
            raise NotEnumerable(f"value set {url} includes itself")
        value_set = self.value_sets.get(url)
        if value_set is None:
            raise NotEnumerable(f"value set {url} is not in the specification's files")
        compose = value_set.find(NS + "compose")
        if compose is None:
            raise NotEnumerable(f"value set {url} has no compose")
        members: set[tuple[str, str]] = set()
        for include in compose.findall(NS + "include"):
            members |= self._part(include, (*seen, url))
        for exclude in compose.findall(NS + "exclude"):
            members -= self._part(exclude, (*seen, url))
        return members

    def _part(self, part: ElementTree.Element, seen: tuple[str, ...]) -> set[tuple[str, str]]:
        system = _value(part, "system")
        members: set[tuple[str, str]] | None = None
        if system is not None:
            members = self._from_system(_canonical(system), part)
        for nested in part.findall(NS + "valueSet"):
            other = self.expand(_canonical(nested.get("value", "")), seen)
            members = other if members is None else members & other
        return members or set()

    def _from_system(self, system: str, part: ElementTree.Element) -> set[tuple[str, str]]:
        listed = [_value(c, "code") or "" for c in part.findall(NS + "concept")]
        if listed:
            return {(system, code) for code in listed}
        if system in EXTERNAL_SYSTEMS:
            raise NotEnumerable(EXTERNAL_SYSTEMS[system])
        code_system = self.systems.get(system)
        if code_system is None:
            raise NotEnumerable(f"code system {system} is not in the specification's files")
        if code_system.content not in ("complete", ""):
            raise NotEnumerable(f"code system {system} is only a {code_system.content} in the specification's files")
        codes = set(code_system.concepts)
        for condition in part.findall(NS + "filter"):
            codes &= self._filtered(code_system, condition)
        return {(system, code) for code in codes}

    @staticmethod
    def _filtered(code_system: CodeSystem, condition: ElementTree.Element) -> set[str]:
        prop, op, value = (_value(condition, k) for k in ("property", "op", "value"))
        if prop == "concept" and op in ("is-a", "descendent-of") and value in code_system.concepts:
            below = {code for code, ancestors in code_system.concepts.items() if value in ancestors}
            return below | {value} if op == "is-a" else below
        raise NotEnumerable(f"filter {prop} {op} on {code_system.url} is not supported")


# -- the reachable model ---------------------------------------------------------------------------


def _json_names(element: Element, leaf: str) -> list[tuple[str, str]]:
    """(json name, type) pairs of one element: a choice `value[x]` becomes valueQuantity etc."""
    if not leaf.endswith("[x]"):
        return [(leaf, element.types[0] if element.types else "")]
    stem = leaf[:-3]
    return [(stem + code[0].upper() + code[1:], code) for code in element.types]


def _type_entries(structure: Structure, structures: dict[str, Structure]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per definition owner (the type itself, or a backbone path), json name -> element facts."""
    owners: dict[str, dict[str, dict[str, Any]]] = {structure.name: {}}
    for element in structure.elements[1:]:
        path = _rebased(element.path, structure)
        parent, _, leaf = path.rpartition(".")
        for name, type_code in _json_names(element, leaf):
            entry: dict[str, Any] = {"element": leaf, "max": element.max, "type": type_code}
            if element.content_reference:
                entry["type"] = "BackboneElement"
                entry["children"] = element.content_reference
            elif type_code in ("BackboneElement", "Element") and _has_children(structure, element.path):
                entry["children"] = path
            if element.binding and type_code in CODED_TYPES:
                entry["binding"] = element.binding
            owners.setdefault(parent, {})[name] = entry
    return owners


def _rebased(path: str, structure: Structure) -> str:
    """A constraint profile's snapshot (Age) names its elements by the base type (Quantity.value)."""
    head, dot, rest = path.partition(".")
    return structure.name + dot + rest if structure.base and head == structure.base else path


def _has_children(structure: Structure, path: str) -> bool:
    return any(e.path.startswith(path + ".") for e in structure.elements)


def build(jar: Path) -> dict[str, Any]:
    with zipfile.ZipFile(jar) as archive:
        structures = read_structures(archive)
        systems, value_sets = read_terminology(archive)
    types: dict[str, Any] = {}
    primitives = sorted(s.name for s in structures.values() if s.kind == "primitive-type")
    pending = [*ROOT_RESOURCES, "Element"]  # Element: the "_x" sibling of a primitive value
    while pending:
        name = pending.pop()
        if name in types or name in primitives:
            continue
        structure = structures[name]
        for owner, elements in _type_entries(structure, structures).items():
            types[owner] = {"kind": structure.kind if owner == name else "backbone", "elements": elements}
            pending.extend(
                e["type"] for e in elements.values() if e["type"] not in NOT_WALKED and e["type"] in structures
            )
        if structure.base and structure.base != name:
            types[name]["constrains"] = structure.base
    return {
        "fhirVersion": FHIR_VERSION,
        "source": f"ca.uhn.hapi.fhir:hapi-fhir-validation-resources-r4:{jar_version(jar)}",
        "resources": sorted(ROOT_RESOURCES),
        "primitives": primitives,
        "types": types,
        "valueSets": _value_sets(types, Expander(systems, value_sets)),
    }


def _value_sets(types: dict[str, Any], expander: Expander) -> dict[str, Any]:
    urls = {e["binding"] for t in types.values() for e in t["elements"].values() if "binding" in e}
    result: dict[str, Any] = {}
    for url in sorted(urls):
        try:
            members = expander.expand(url)
        except NotEnumerable as reason:
            result[url] = {"unchecked": str(reason)}
            continue
        by_system: dict[str, list[str]] = {}
        for system, code in sorted(members):
            by_system.setdefault(system, []).append(code)
        result[url] = {"codes": by_system}
    return result


# -- writing ---------------------------------------------------------------------------------------


def render(definitions: dict[str, Any]) -> str:
    """Sorted JSON with one element, or one value set's system, per line."""

    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    lines = ["{"]
    for key in ("fhirVersion", "source", "resources", "primitives"):
        lines.append(f" {one(key)}:{one(definitions[key])},")
    lines.append(' "types":{')
    type_lines = []
    for name in sorted(definitions["types"]):
        body = definitions["types"][name]
        header = {k: v for k, v in body.items() if k != "elements"}
        elements = ",\n".join(f"   {one(n)}:{one(body['elements'][n])}" for n in sorted(body["elements"]))
        head = one(header)[1:-1]
        type_lines.append(f'  {one(name)}:{{{head},"elements":{{\n{elements}}}}}')
    lines.append(",\n".join(type_lines))
    lines.append(" },")
    lines.append(' "valueSets":{')
    set_lines = []
    for url in sorted(definitions["valueSets"]):
        body = definitions["valueSets"][url]
        if "codes" in body:
            systems = ",\n".join(f"   {one(s)}:{one(c)}" for s, c in sorted(body["codes"].items()))
            set_lines.append(f'  {one(url)}:{{"codes":{{\n{systems}}}}}')
        else:
            set_lines.append(f"  {one(url)}:{one(body)}")
    lines.append(",\n".join(set_lines))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jar", type=Path, required=True, help="the definitions jar, or a directory holding it")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    args = parser.parse_args(argv)
    text = render(build(find_jar(args.jar)))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} differs from the definitions in the jar; regenerate it", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
