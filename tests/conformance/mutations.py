"""Mutations of one valid notification, each with exactly one defect that base FHIR R4 forbids.

Every required value-set binding the hub's definitions list (hub/intake/conformance/definitions.py)
gets a code outside its value set at the element's shortest place, with the smallest parent
structure FHIR allows built around it; the other mutations each break one URI, bundle, UCUM or
core-invariant rule. Each names the hub code(s) expected for it. Deterministic: the base is a fixed
contract example and nothing random is drawn.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.domain import codes
from hub.intake.conformance import definitions as d
from tests.conformance import r4_model

Json = dict[str, Any]
BAD_CODE = "zz-not-in-value-set"
TEST_URL = "https://akta-hub.example/fhir/StructureDefinition/conformance-test"
TEST_SYSTEM = "https://akta-hub.example/fhir/CodeSystem/conformance-test"
WEB_BASE = "https://fhir.rs-sintetis.example/fhir"
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'
CONSTRAINT = codes.FHIR_CONSTRAINT_FAILED.code


@dataclass(frozen=True, slots=True)
class Mutation:
    name: str  # stable id: "binding-Patient.gender", "ext-1-value-and-extensions"
    kind: str  # "binding", "uri", "bundle", "reference", "ucum", "invariant"
    expected: tuple[str, ...]  # hub codes; the hub should answer with at least one of them
    change: Callable[[Json], None]
    reference_checks: bool = True  # False: the reference validator is known not to check this (see below)

    def applied(self, base: Json) -> Json:
        document = copy.deepcopy(base)
        self.change(document)
        return document


def all_mutations() -> list[Mutation]:
    return [*binding_mutations(), *rule_mutations()]


# Required bindings.


# Value sets the reference validator (HAPI 8.8.0, base R4 chain) does not check: any code passes.
REFERENCE_UNCHECKED = {
    "http://hl7.org/fhir/ValueSet/mimetypes": "BCP 13 MIME types: the validator accepts any code",
}
# Where the hub has an older, more specific code for the same defect.
ALSO_EXPECTED = {"Bundle.type": (codes.NOT_MESSAGE_BUNDLE.code,)}


def binding_mutations() -> list[Mutation]:
    return [
        Mutation(
            f"binding-{b.owner}.{b.name}",
            "binding",
            (codes.FHIR_CODE_NOT_IN_VALUE_SET.code, *ALSO_EXPECTED.get(f"{b.owner}.{b.name}", ())),
            _set_bad_code(b.example_element),
            reference_checks=b.value_set.url not in REFERENCE_UNCHECKED,
        )
        for b in d.required_bindings()
    ]


def _set_bad_code(element_path: str) -> Callable[[Json], None]:
    def change(document: Json) -> None:
        root, *names = element_path.split(".")
        target = document if root == "Bundle" else _first_of_type(document, root)
        _place(target, root, names)

    return change


def _first_of_type(document: Json, resource_type: str) -> Json:
    """The first entry's resource of that type; a bare one added when the bundle has none (a
    Practitioner or Location a notification may carry beside what the hub reads)."""
    found = next((e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == resource_type), None)
    if found is None:
        ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"conformance/{resource_type}"))
        found = {"resourceType": resource_type, "id": ident}
        document["entry"].append({"fullUrl": f"urn:uuid:{ident}", "resource": found})
    return found


def _place(node: Json, owner: str, names: list[str]) -> None:
    """Walk `names` from `node` (whose children `owner` defines), creating what is missing, and put a
    code outside the value set at the end."""
    defs = d.definitions()
    name, rest = names[0], names[1:]
    element = defs.element(owner, name)
    assert element is not None, f"{owner}.{name} is not in the hub's definitions"
    if not rest:
        node[name] = _bad_value(element)
        return
    below = defs.children_owner(element)
    assert below is not None
    existing = node.get(name)
    if name == "extension" or existing is None:  # a new extension never lands inside the profile's own
        child = _filled(below, skip=rest[0])
        if element.repeats:
            node.setdefault(name, []).append(child)
        else:
            node[name] = child
    else:
        child = existing[0] if isinstance(existing, list) else existing
    _place(child, below, rest)


def _bad_value(element: d.ElementDef) -> Any:
    value_set = d.definitions().value_sets[element.binding or ""]
    system = min((s for s, _ in value_set.members), default=TEST_SYSTEM)
    coding = {"system": system, "code": BAD_CODE}
    value = {"code": BAD_CODE, "Coding": coding, "CodeableConcept": {"coding": [coding]}}[element.type]
    return [value] if element.repeats else value


def _filled(owner: str, skip: str | None = None) -> Json:
    """The smallest valid value of a complex type or backbone: its mandatory children, or one child."""
    defs = d.definitions()
    mandatory = [name for name in _mandatory(owner) if name != skip]
    value = {name: _filler(defs.owners[owner][name]) for name in mandatory} | copy.deepcopy(
        _INVARIANT_NEEDS.get(owner, {})
    )
    if not value and skip is None:
        first = next(n for n, e in sorted(defs.owners[owner].items()) if e.type in _PRIMITIVE_FILLERS and n != "id")
        value[first] = _filler(defs.owners[owner][first])
    return value


def _mandatory(owner: str) -> list[str]:
    minimums = r4_model.minimums()
    return [
        name
        for name in d.definitions().owners[owner]
        if (minimums.get(f"{owner}.{name}") or minimums.get(f"{owner}.{_choice_stem(name)}[x]") or 0) > 0
    ]


def _choice_stem(name: str) -> str:
    for index, char in enumerate(name):
        if char.isupper():
            return name[:index]
    return name


# What an invariant asks of a new parent beyond its cardinalities (pat-1: a contact has details).
_INVARIANT_NEEDS: dict[str, Json] = {"Patient.contact": {"name": {"text": "Kerabat"}}}
_PRIMITIVE_FILLERS: dict[str, Any] = {
    "string": "x",
    "markdown": "x",
    "uri": TEST_URL,
    "url": TEST_URL,
    "canonical": TEST_URL,
    "id": "x1",
    "boolean": True,
    "integer": 1,
    "positiveInt": 1,
    "unsignedInt": 1,
    "decimal": 1,
    "date": "2026-03-12",
    "dateTime": "2026-03-12T08:45:00+07:00",
    "instant": "2026-03-12T08:45:00+07:00",
    "time": "08:45:00",
    "base64Binary": "eA==",
    "xhtml": XHTML,
}
_COMPLEX_FILLERS: dict[str, Any] = {
    "Reference": {"display": "x"},
    "Period": {"start": "2026-03-12T08:45:00+07:00"},
    "Coding": {"system": TEST_SYSTEM, "code": "x"},
    "CodeableConcept": {"text": "x"},
}


def _filler(element: d.ElementDef) -> Any:
    defs = d.definitions()
    if element.binding is not None and element.type == "code":
        value: Any = min(defs.value_sets[element.binding].codes)
    elif element.type in _PRIMITIVE_FILLERS:
        value = _PRIMITIVE_FILLERS[element.type]
    elif element.type in _COMPLEX_FILLERS:
        value = copy.deepcopy(_COMPLEX_FILLERS[element.type])
    else:
        value = _filled(defs.children_owner(element) or element.type)
    return [value] if element.repeats else value


# The other rules. Entries of the base (hub/devtools/simulation/examples.py, valid-singleton):
# 0 MessageHeader, 1 Organization, 2 newborn, 3 mother, 4 mother link, 5 Encounter,
# 6 weight, 7 Procedure, 8 father link, 9 length, 10 gestational age.
ORGANIZATION, NEWBORN, MOTHER, ENCOUNTER, WEIGHT, PROCEDURE, LENGTH, GESTATION = 1, 2, 3, 5, 6, 7, 9, 10


def _res(document: Json, index: int) -> Json:
    return document["entry"][index]["resource"]


def _contained(document: Json, extra: Json | None = None, *, referenced: bool = True) -> None:
    organization = _res(document, ORGANIZATION)
    inner = {"resourceType": "Organization", "id": "c1", "name": "Unit Perinatologi", **(extra or {})}
    organization["contained"] = [inner]
    if referenced:
        organization["partOf"] = {"reference": "#c1"}


def _weight_url(path: str) -> Callable[[Json], None]:
    """A RESTful fullUrl on the birth weight entry (nothing refers to it, so nothing else breaks)."""

    def change(document: Json) -> None:
        document["entry"][WEIGHT]["fullUrl"] = f"{WEB_BASE}/{path.format(id=_res(document, WEIGHT)['id'])}"

    return change


def _reference_range(low: Json) -> Callable[[Json], None]:
    return lambda document: _res(document, LENGTH).__setitem__("referenceRange", [{"low": low}])


def _unresolved_relative(document: Json) -> None:
    organization_id = _res(document, ORGANIZATION)["id"]
    _res(document, 0)["sender"]["reference"] = f"Organization/{organization_id}"


def _entry_copy(document: Json) -> None:
    document["entry"].append(copy.deepcopy(document["entry"][WEIGHT]))


def _set(index: int, *keys: str | int, value: Any) -> Callable[[Json], None]:
    def change(document: Json) -> None:
        node: Any = _res(document, index) if index >= 0 else document
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def _delete(index: int, key: str) -> Callable[[Json], None]:
    return lambda document: _res(document, index).pop(key)


def _obs7(document: Json) -> None:
    observation = _res(document, LENGTH)
    observation["component"] = [{"code": copy.deepcopy(observation["code"]), "valueQuantity": {"value": 1}}]


def _full_url(index: int, value: str) -> Callable[[Json], None]:
    return lambda document: document["entry"][index].__setitem__("fullUrl", value)


def _duplicate_full_url(document: Json) -> None:
    document["entry"][LENGTH]["fullUrl"] = document["entry"][WEIGHT]["fullUrl"]


def rule_mutations() -> list[Mutation]:
    c = codes
    m = Mutation
    return [
        # Resource.language: a registered BCP 47 tag (the reference validator refuses more, see
        # accepted_differences.py; the hub still refuses these two).
        m("language-not-a-tag", "binding", (c.FHIR_CODE_NOT_IN_VALUE_SET.code,), _set(2, "language", value="bahasa")),
        m("language-underscore", "binding", (c.FHIR_CODE_NOT_IN_VALUE_SET.code,), _set(2, "language", value="id_ID")),
        # URIs and identifiers.
        m(
            "identifier-system-relative",
            "uri",
            (c.FHIR_IDENTIFIER_SYSTEM_NOT_ABSOLUTE.code,),
            _set(ENCOUNTER, "identifier", 0, "system", value="encounter-ids"),
        ),
        m(
            "uri-whitespace-identifier-system",
            "uri",
            (c.FHIR_URI_INVALID.code,),
            _set(ENCOUNTER, "identifier", 0, "system", value="http://sys-ids.kemkes.go.id/encounter/ 103578001"),
        ),
        m(
            "uri-whitespace-endpoint",
            "uri",
            (c.FHIR_URI_INVALID.code,),
            _set(0, "source", "endpoint", value="urn:hospital: 103578001"),
        ),
        m(
            "uri-malformed-urn-oid",
            "uri",
            (c.FHIR_URI_INVALID.code,),
            _set(ENCOUNTER, "identifier", 0, "system", value="urn:oid:1.2.x"),
        ),
        m(
            "uri-coding-system-whitespace",
            "uri",
            (c.FHIR_URI_INVALID.code,),
            _set(PROCEDURE, "code", "coding", 0, "system", value="http://snomed.info/ sct"),
        ),
        # Bundle rules.
        m(
            "fullurl-urn-uuid-malformed",
            "bundle",
            (c.BUNDLE_FULLURL_INVALID.code, c.FHIR_URI_INVALID.code),
            _full_url(WEIGHT, "urn:uuid:not-a-uuid"),
        ),
        m(
            "fullurl-urn-uuid-uppercase",
            "bundle",
            (c.BUNDLE_FULLURL_INVALID.code, c.FHIR_URI_INVALID.code),
            _full_url(WEIGHT, "urn:uuid:6F1C2B7E-3D4A-4C5B-8E9F-0A1B2C3D4E5F"),
        ),
        m("fullurl-relative", "bundle", (c.BUNDLE_FULLURL_INVALID.code,), _full_url(WEIGHT, "Observation/weight")),
        m("fullurl-duplicate", "bundle", (c.BUNDLE_FULLURL_DUPLICATE.code,), _duplicate_full_url),
        m("entry-duplicate", "bundle", (c.BUNDLE_ENTRY_DUPLICATE.code, c.BUNDLE_FULLURL_DUPLICATE.code), _entry_copy),
        m("fullurl-web-wrong-id", "bundle", (c.BUNDLE_FULLURL_MISMATCH.code,), _weight_url("Observation/999")),
        m("fullurl-web-wrong-type", "bundle", (c.BUNDLE_FULLURL_MISMATCH.code,), _weight_url("Procedure/{id}")),
        m("fullurl-versioned", "bundle", (c.BUNDLE_FULLURL_INVALID.code,), _weight_url("Observation/{id}/_history/1")),
        # References by FHIR's bundle rules.
        m("reference-relative-from-urn-uuid", "reference", (c.REFERENCE_UNRESOLVED.code,), _unresolved_relative),
        m(
            "reference-absolute-not-in-bundle",
            "reference",
            (c.REFERENCE_UNRESOLVED.code,),
            _set(0, "focus", 1, "reference", value="urn:uuid:0e6c1c52-9a41-4c1e-9a52-6a4f8f1d2b3c"),
        ),
        # UCUM.
        m(
            "ucum-invalid-unit-gestation",
            "ucum",
            (c.FHIR_UCUM_INVALID.code, c.CODE_UNKNOWN.code),
            _set(GESTATION, "valueQuantity", "code", value="weeks"),
        ),
        m(
            "ucum-invalid-unit-reference-range",
            "ucum",
            (c.FHIR_UCUM_INVALID.code,),
            _reference_range({"value": 45, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "centimetre"}),
        ),
        # Core invariants.
        m("qty-3-code-without-system", "invariant", (CONSTRAINT,), _reference_range({"value": 45, "code": "cm"})),
        m(
            "per-1-end-before-start",
            "invariant",
            (CONSTRAINT,),
            _set(ENCOUNTER, "period", value={"start": "2026-03-12T09:00:00+07:00", "end": "2026-03-12T08:00:00+07:00"}),
        ),
        m(
            "ext-1-value-and-extensions",
            "invariant",
            (CONSTRAINT,),
            _set(
                ORGANIZATION,
                "extension",
                value=[{"url": TEST_URL, "valueString": "x", "extension": [{"url": "part", "valueString": "y"}]}],
            ),
        ),
        m(
            "ext-1-neither-value-nor-extensions",
            "invariant",
            (CONSTRAINT,),
            _set(ORGANIZATION, "extension", value=[{"url": TEST_URL}]),
        ),
        m(
            "obs-6-absent-reason-with-value",
            "invariant",
            (CONSTRAINT,),
            _set(LENGTH, "dataAbsentReason", value={"text": "x"}),
        ),
        m("obs-7-component-repeats-code", "invariant", (CONSTRAINT,), _obs7),
        m(
            "pat-1-contact-without-details",
            "invariant",
            (CONSTRAINT,),
            _set(MOTHER, "contact", value=[{"relationship": [{"text": "saudara"}]}]),
        ),
        m("org-1-neither-identifier-nor-name", "invariant", (CONSTRAINT,), _delete(ORGANIZATION, "name")),
        m(
            "cpt-2-value-without-system",
            "invariant",
            (CONSTRAINT,),
            _set(ORGANIZATION, "telecom", value=[{"value": "0315550123"}]),
        ),
        m(
            "att-1-data-without-content-type",
            "invariant",
            (CONSTRAINT,),
            _set(MOTHER, "photo", value=[{"data": "eA=="}]),
        ),
        m(
            "ele-1-empty-object",
            "invariant",
            (CONSTRAINT, c.FHIR_INVALID.code),
            _set(ORGANIZATION, "address", value=[{}]),
        ),
        m(
            "ele-1-empty-string",
            "invariant",
            (CONSTRAINT, c.FHIR_INVALID.code),
            _set(ORGANIZATION, "alias", value=[""]),
        ),
        m(
            "dom-2-contained-contains",
            "invariant",
            (CONSTRAINT,),
            lambda doc: _contained(doc, {"contained": [{"resourceType": "Organization", "id": "c2", "name": "y"}]}),
        ),
        m("dom-3-contained-not-referenced", "invariant", (CONSTRAINT,), lambda doc: _contained(doc, referenced=False)),
        m(
            "dom-4-contained-version",
            "invariant",
            (CONSTRAINT,),
            lambda doc: _contained(doc, {"meta": {"versionId": "1"}}),
        ),
        m(
            "dom-5-contained-security",
            "invariant",
            (CONSTRAINT,),
            lambda doc: _contained(
                doc,
                {
                    "meta": {
                        "security": [
                            {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
                        ]
                    }
                },
            ),
        ),
        m(
            "txt-narrative-div-without-xhtml-namespace",
            "invariant",
            (CONSTRAINT, c.FHIR_INVALID.code),
            _set(ORGANIZATION, "text", value={"status": "generated", "div": "<div>x</div>"}),
        ),
    ]
