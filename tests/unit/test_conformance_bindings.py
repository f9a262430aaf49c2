"""Required value-set bindings: each kind of place a coded value can sit is caught, with its path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hub.domain import codes
from hub.domain.codes import Issue
from hub.intake.conformance.bindings import _conforms, binding_issues
from hub.intake.conformance.definitions import ValueSet, required_bindings

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
VS = "http://hl7.org/fhir/ValueSet/"


def _singleton() -> dict[str, Any]:
    return json.loads((EXAMPLES / "valid-singleton.json").read_text(encoding="utf-8"))


def _index(document: dict[str, Any], resource_type: str) -> int:
    return next(i for i, e in enumerate(document["entry"]) if e["resource"]["resourceType"] == resource_type)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("valid-*.json")), ids=lambda p: p.stem)
def test_valid_examples_have_no_binding_issue(path: Path):
    assert binding_issues(json.loads(path.read_text(encoding="utf-8"))) == []


def _set(document: dict[str, Any], resource_type: str, mutate) -> str:
    index = _index(document, resource_type)
    mutate(document["entry"][index]["resource"])
    return f"Bundle.entry[{index}].resource"


def _extension(value_key: str, value: Any):
    def mutate(resource: dict[str, Any]) -> None:
        resource.setdefault("extension", []).append({"url": "https://example.org/x", value_key: value})

    return mutate


CASES = [
    # (what, resource type, mutation, path below the resource, value set)
    ("a resource's code", "Patient", lambda r: r.update(gender="M"), ".gender", "administrative-gender"),
    ("R5's Encounter.status", "Encounter", lambda r: r.update(status="done"), ".status", "encounter-status"),
    (
        "a datatype's code",
        "Patient",
        lambda r: r["identifier"][0].update(use="Official"),
        ".identifier[0].use",
        "identifier-use",
    ),
    (
        "a choice's datatype",
        "Observation",
        lambda r: r["valueQuantity"].update(comparator="=="),
        ".valueQuantity.comparator",
        "quantity-comparator",
    ),
    (
        "a backbone's code",
        "Patient",
        lambda r: r.update(contact=[{"gender": "F"}]),
        ".contact[0].gender",
        "administrative-gender",
    ),
    (
        "a repeated code",
        "Organization",
        lambda r: r.update(telecom=[{"system": "phone"}, {"system": "fax2"}]),
        ".telecom[1].system",
        "contact-point-system",
    ),
    (
        "inside an extension",
        "Organization",
        _extension("valueTiming", {"repeat": {"period": 1, "periodUnit": "week"}}),
        ".extension[0].valueTiming.repeat.periodUnit",
        "units-of-time",
    ),
    (
        "a contained resource",
        "Patient",
        lambda r: r.update(
            contained=[{"resourceType": "RelatedPerson", "id": "c", "gender": "X", "patient": {"reference": "#"}}]
        ),
        ".contained[0].gender",
        "administrative-gender",
    ),
]


@pytest.mark.parametrize(("what", "resource_type", "mutate", "below", "value_set"), CASES, ids=[c[0] for c in CASES])
def test_a_value_outside_a_required_value_set_is_reported_where_it_is(what, resource_type, mutate, below, value_set):
    document = _singleton()
    base = _set(document, resource_type, mutate)
    assert binding_issues(document) == [Issue(codes.FHIR_CODE_NOT_IN_VALUE_SET, base + below, VS + value_set)]


def test_the_bundles_own_codes_are_checked():
    document = _singleton()
    document["entry"][0]["request"] = {"method": "FETCH", "url": "x"}
    assert binding_issues(document) == [
        Issue(codes.FHIR_CODE_NOT_IN_VALUE_SET, "Bundle.entry[0].request.method", VS + "http-verb")
    ]


def test_a_primitive_extension_sibling_is_not_taken_for_the_code():
    document = _singleton()
    base = _set(
        document,
        "Patient",
        lambda r: r.update(_gender={"extension": [{"url": "https://example.org/x", "valueString": "M"}]}),
    )
    assert binding_issues(document) == []
    assert base


def test_value_sets_the_specification_cannot_list_are_not_checked():
    document = _singleton()
    _set(document, "Patient", lambda r: r.update(photo=[{"contentType": "not a mime type"}]))
    assert binding_issues(document) == []


def test_the_detail_is_the_value_set_never_the_value():
    document = _singleton()
    _set(document, "Patient", lambda r: r.update(gender="3578010302910031"))
    [issue] = binding_issues(document)
    assert issue.detail == VS + "administrative-gender"


def test_one_mutation_per_required_binding_is_caught():
    """Every listed binding rejects a code outside its set at its example place (the conformance
    suite makes the same mutations inside whole bundles)."""
    for binding in required_bindings():
        if binding.value_set.unchecked:
            continue
        assert not _conforms(binding.value_set, binding.type, "not-a-code")
        some_code = sorted(binding.value_set.codes)[0]
        assert _conforms(binding.value_set, binding.type, some_code)


GENDER = ValueSet(
    VS + "g",
    frozenset({("http://hl7.org/fhir/administrative-gender", "male")}),
    frozenset({"male"}),
)


def test_a_coding_needs_its_system_and_code_in_the_set():
    assert _conforms(GENDER, "Coding", {"system": "http://hl7.org/fhir/administrative-gender", "code": "male"})
    assert not _conforms(GENDER, "Coding", {"code": "male"})
    assert not _conforms(GENDER, "Coding", {"system": "http://example.org/other", "code": "male"})


def test_a_codeable_concept_needs_one_coding_in_the_set():
    inside = {"system": "http://hl7.org/fhir/administrative-gender", "code": "male"}
    other = {"system": "http://example.org/other", "code": "m"}
    assert _conforms(GENDER, "CodeableConcept", {"coding": [other, inside]})
    assert not _conforms(GENDER, "CodeableConcept", {"coding": [other]})
    assert not _conforms(GENDER, "CodeableConcept", {"text": "male"})


def test_a_walk_can_be_reused():
    from hub.intake.conformance.walk import typed_nodes

    document = _singleton()
    _set(document, "Patient", lambda r: r.update(gender="M"))
    nodes = list(typed_nodes(document))
    assert binding_issues(document, nodes) == binding_issues(document)
    assert binding_issues(copy.deepcopy(document), []) == []
