"""The FHIR R4 definitions (generated from the specification) and the typed walk over a Bundle."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hub.intake.conformance.definitions import binding_at, definitions, required_bindings
from hub.intake.conformance.walk import Node, typed_nodes

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "contracts" / "examples"
JAR_PLACES = (ROOT / ".local" / "fhir-validator" / "libs",)
JAR_GLOB = "hapi-fhir-validation-resources-r4-*.jar"


def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _by_path(document: dict[str, Any]) -> dict[str, Node]:
    return {node.path: node for node in typed_nodes(document) if node.type != "Element"}


def _entry_index(document: dict[str, Any], resource_type: str) -> int:
    return next(i for i, e in enumerate(document["entry"]) if e["resource"]["resourceType"] == resource_type)


# -- the generated definitions ---------------------------------------------------------------------


def test_the_definitions_name_their_fhir_version_and_source():
    defs = definitions()
    assert defs.fhir_version == "4.0.1"
    assert defs.source.endswith("hapi-fhir-validation-resources-r4:8.8.0")
    assert {"Bundle", "MessageHeader", "Organization", "Patient", "RelatedPerson", "Encounter"} <= defs.resources


def test_encounter_status_has_the_r4_codes():
    value_set = binding_at("Encounter.status")
    assert value_set is not None
    assert value_set.url == "http://hl7.org/fhir/ValueSet/encounter-status"
    assert value_set.codes == {
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
    assert not value_set.has_code("done")  # R5's word, not R4's
    assert value_set.has_coding("http://hl7.org/fhir/encounter-status", "finished")


def test_a_binding_is_found_through_backbones_and_datatypes():
    name_use = binding_at("Patient.contact.name.use")
    assert name_use is not None and name_use.url == "http://hl7.org/fhir/ValueSet/name-use"
    assert binding_at("Observation.valueQuantity.comparator") is not None
    assert binding_at("Bundle.entry.link.relation") is None  # a string without a binding
    assert binding_at("Patient.name.given") is None
    assert binding_at("Patient.nonsense.use") is None


def test_choices_are_expanded_by_type_and_content_references_followed():
    defs = definitions()
    quantity = defs.element("Observation", "valueQuantity")
    assert quantity is not None and quantity.type == "Quantity" and not quantity.repeats
    assert defs.element("Observation", "value[x]") is None
    entry_link = defs.element("Bundle.entry", "link")
    assert entry_link is not None and entry_link.children == "Bundle.link" and entry_link.repeats


def test_only_value_sets_outside_the_specification_files_are_unchecked():
    unchecked = {url for url, value_set in definitions().value_sets.items() if value_set.unchecked}
    assert unchecked == {"http://hl7.org/fhir/ValueSet/mimetypes", "http://hl7.org/fhir/ValueSet/currencies"}


def test_every_required_binding_has_a_reachable_example_element():
    bindings = required_bindings()
    places = {b.example_element for b in bindings}
    assert {"Patient.gender", "Encounter.status", "Observation.status", "Bundle.type", "Patient.name.use"} <= places
    for binding in bindings:
        assert binding_at(binding.example_element) == binding.value_set
        assert binding.value_set.unchecked or binding.value_set.codes


# -- the typed walk --------------------------------------------------------------------------------


def test_the_walk_types_and_places_every_element_of_a_valid_example():
    document = _example("valid-singleton.json")
    nodes = _by_path(document)
    patient = _entry_index(document, "Patient")
    base = f"Bundle.entry[{patient}].resource"
    assert nodes["Bundle"] == Node("Bundle", "Bundle", "Bundle", document)
    assert nodes["Bundle.type"].type == "code"
    assert nodes[base].type == "Patient" and nodes[base].element == "Bundle.entry.resource"
    assert nodes[f"{base}.identifier[0].system"] == Node(
        f"{base}.identifier[0].system",
        "Patient.identifier.system",
        "uri",
        document["entry"][patient]["resource"]["identifier"][0]["system"],
    )
    observation = _entry_index(document, "Observation")
    quantity = nodes[f"Bundle.entry[{observation}].resource.valueQuantity"]
    assert (quantity.element, quantity.type) == ("Observation.valueQuantity", "Quantity")
    extension = nodes["Bundle.entry[0].resource.extension[0].extension[2].valueIdentifier"]
    assert extension.type == "Identifier"
    assert extension.element == "MessageHeader.extension.extension.valueIdentifier"
    assert not any(path.endswith(".resourceType") for path in nodes)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("valid-*.json")), ids=lambda p: p.stem)
def test_every_value_of_a_valid_example_is_walked(path: Path):
    document = json.loads(path.read_text(encoding="utf-8"))
    scalars = [n for n in typed_nodes(document) if not isinstance(n.value, dict | list)]
    assert scalars and all(n.type in definitions().primitives for n in scalars)
    assert len(scalars) == _count_scalars(document) - _count_key(document, "resourceType")


def _count_scalars(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count_scalars(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_scalars(v) for v in value)
    return 1


def _count_key(value: Any, key: str) -> int:
    if isinstance(value, dict):
        return (key in value) + sum(_count_key(v, key) for v in value.values())
    if isinstance(value, list):
        return sum(_count_key(v, key) for v in value)
    return 0


def test_primitive_siblings_contained_resources_and_unknown_keys():
    document = copy.deepcopy(_example("valid-singleton.json"))
    index = _entry_index(document, "Patient")
    patient = document["entry"][index]["resource"]
    patient["_gender"] = {"extension": [{"url": "http://example.org/x", "valueCode": "a"}]}
    patient["name"] = [{"given": ["A", None], "_given": [None, {"id": "g2"}]}]
    patient["contained"] = [{"resourceType": "Organization", "id": "o1", "name": "Synthetic"}]
    patient["contained"].append({"resourceType": "Basic", "id": "b1", "code": {"text": "t"}})
    patient["notAnElement"] = {"use": "x"}
    nodes = list(typed_nodes(document))
    base = f"Bundle.entry[{index}].resource"
    by_path: dict[str, list[Node]] = {}
    for node in nodes:
        by_path.setdefault(node.path, []).append(node)
    assert [n.type for n in by_path[f"{base}.gender"]] == ["code", "Element"]
    assert by_path[f"{base}.gender.extension[0]"][0].element == "Patient.gender.extension"
    assert by_path[f"{base}.gender.extension[0].valueCode"][0].type == "code"
    assert [n.type for n in by_path[f"{base}.name[0].given[1]"]] == ["Element"]
    assert by_path[f"{base}.name[0].given[1].id"][0].element == "Patient.name.given.id"
    contained = by_path[f"{base}.contained[0]"][0]
    assert (contained.element, contained.type) == ("Patient.contained", "Organization")
    assert by_path[f"{base}.contained[0].name"][0].element == "Organization.name"
    assert by_path[f"{base}.contained[1]"][0].type == "Basic"
    assert f"{base}.contained[1].code" not in by_path  # not a notification resource type: not descended
    assert not any("notAnElement" in path for path in by_path)


# -- drift: the committed file is what the specification gives -------------------------------------


def _definitions_jar() -> Path | None:
    for place in JAR_PLACES:
        found = sorted(place.glob(JAR_GLOB)) if place.is_dir() else []
        if found:
            return found[-1]
    return None


def test_the_committed_definitions_are_what_the_generator_makes_from_the_jar():
    jar = _definitions_jar()
    if jar is None:
        pytest.skip("the R4 definitions jar is absent (deploy/local/fhir-validator.sh fetches it); CI has it")
    from hub.devtools import r4_definitions

    committed = (ROOT / "hub" / "intake" / "conformance" / "r4_definitions.json").read_text(encoding="utf-8")
    assert r4_definitions.render(r4_definitions.build(jar)) == committed
