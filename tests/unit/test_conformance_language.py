"""Resource.language: a registered BCP 47 tag, Indonesian included (hub/intake/conformance/datatypes.py)."""

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
