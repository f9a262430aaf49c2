"""Resource.language (a registered BCP 47 tag), and hostile sizes that must stay cheap (hub/intake/conformance)."""

from __future__ import annotations

import json

import pytest

from hub.devtools.simulation import examples
from hub.intake.conformance import conformance_issues

NEWBORN = 2


def _with_language(tag: str) -> dict:
    document = json.loads(json.dumps(examples.valid_examples()["valid-singleton"]))
    document["entry"][NEWBORN]["resource"]["language"] = tag
    return document


@pytest.mark.parametrize("tag", ["id", "id-ID", "en", "jv", "zh-Hant-TW", "x-rs-sintetis"])
def test_registered_tags_are_taken(tag):
    assert conformance_issues(_with_language(tag)) == []


@pytest.mark.parametrize("tag", ["bahasa", "id_ID", "zz", "not a tag", ""])
def test_what_is_no_registered_tag_is_refused_at_the_element(tag):
    found = [(i.code.code, i.expression, i.detail) for i in conformance_issues(_with_language(tag))]
    assert (
        "FHIR-CODE-NOT-IN-VALUE-SET",
        f"Bundle.entry[{NEWBORN}].resource.language",
        "http://hl7.org/fhir/ValueSet/all-languages",
    ) in found


def test_a_unit_longer_than_any_real_one_is_refused_without_parsing_it():
    document = json.loads(json.dumps(examples.valid_examples()["valid-singleton"]))
    weight = next(e["resource"] for e in document["entry"] if e["resource"].get("valueQuantity"))
    weight["valueQuantity"]["code"] = "m." * 100_000 + "g"  # valid UCUM shape, a hostile length
    found = {(i.code.code, i.expression) for i in conformance_issues(document)}
    index = next(i for i, e in enumerate(document["entry"]) if e["resource"] is weight)
    assert ("FHIR-UCUM-INVALID", f"Bundle.entry[{index}].resource.valueQuantity.code") in found


def test_obs7_finds_the_repeated_code_among_many_codings():
    """obs-7 compares the components' codings with the Observation's own (through a set: cheap at any size)."""
    document = json.loads(json.dumps(examples.valid_examples()["valid-singleton"]))
    weight = next(e["resource"] for e in document["entry"] if e["resource"].get("valueQuantity"))
    codings = [{"system": "http://loinc.org", "code": f"{n}-0"} for n in range(20_000)]
    weight["code"]["coding"] = weight["code"]["coding"] + codings
    weight["component"] = [{"code": {"coding": codings[:1]}}]
    found = {(i.code.code, i.detail) for i in conformance_issues(document)}
    assert ("FHIR-CONSTRAINT-FAILED", "obs-7") in found
