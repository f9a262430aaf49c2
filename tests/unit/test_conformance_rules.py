"""The conformance stage's bundle, datatype and invariant rules (hub/intake/conformance/
{bundle_rules,datatypes,invariants}.py): each rule fails one defect at the right FHIRPath and passes
its fixed twin; the expected outcomes are what the reference validator (HAPI FHIR 8.8.0) said on
the same shapes. Then an oracle: the specification's own FHIRPath for each invariant, run by
fhirpathpy on the same samples, must agree with the native check.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from hub.domain.codes import Issue
from hub.intake.conformance.bundle_rules import bundle_issues
from hub.intake.conformance.datatypes import datatype_issues, is_ucum
from hub.intake.conformance.invariants import compare_date_times, invariant_issues
from hub.intake.conformance.walk import Node, typed_nodes

UCUM = "http://unitsofmeasure.org"


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _bundle() -> dict[str, Any]:
    """A small message Bundle of synthetic data: header, hospital, mother, newborn, stay, weight."""
    header, org, mother, baby, stay, weight = (str(uuid.uuid4()) for _ in range(6))
    entries: list[tuple[str, str, dict[str, Any]]] = [
        ("MessageHeader", header, {"eventCoding": {"system": "https://example.org/event", "code": "birth"},
                                   "source": {"endpoint": "urn:hospital:1"}, "sender": {"reference": f"urn:uuid:{org}"},
                                   "focus": [{"reference": f"urn:uuid:{baby}"}]}),
        ("Organization", org, {"name": "RS Sintetis"}),
        ("Patient", mother, {"identifier": [{"system": "https://example.org/nik", "value": "3578010000000001"}],
                             "gender": "female"}),
        ("Patient", baby, {"gender": "male", "birthDate": "2026-03-12"}),
        ("Encounter", stay, {"status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                             "subject": {"reference": f"urn:uuid:{mother}"}}),
        ("Observation", weight, {"status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8339-4"}]},
                                 "subject": {"reference": f"urn:uuid:{baby}"},
                                 "valueQuantity": {"value": 3200, "unit": "g", "system": UCUM, "code": "g"}}),
    ]  # fmt: skip
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": "2026-03-12T08:45:00+07:00",
        "entry": [
            {"fullUrl": f"urn:uuid:{rid}", "resource": {"resourceType": rtype, "id": rid, **body}}
            for rtype, rid, body in entries
        ],
    }


HEADER, ORG, MOTHER, BABY, STAY, WEIGHT = range(6)


def _issues(document: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    nodes = list(typed_nodes(document))
    found: list[Issue] = bundle_issues(document) + datatype_issues(nodes) + invariant_issues(document, nodes)
    return [(issue.code.code, issue.expression, issue.detail) for issue in found]


def _res(document: dict[str, Any], index: int) -> dict[str, Any]:
    resource: dict[str, Any] = document["entry"][index]["resource"]
    return resource


def test_the_clean_bundle_has_no_issue() -> None:
    assert _issues(_bundle()) == []


Mutation = Callable[[dict[str, Any]], object]
E = "Bundle.entry"

# (name, defect, its fixed twin, the one issue expected from the defect)
CASES: list[tuple[str, Mutation, Mutation, tuple[str, str, str | None]]] = [
    # bundle_rules.py
    ("bdl-7 duplicate fullUrl",
     lambda d: d["entry"][MOTHER].update(fullUrl=d["entry"][BABY]["fullUrl"]),
     lambda d: None,
     ("BUNDLE-FULLURL-DUPLICATE", f"{E}[3].fullUrl", "bdl-7")),
    ("bdl-7 same fullUrl, other versionIds",
     lambda d: (d["entry"][MOTHER].update(fullUrl=d["entry"][BABY]["fullUrl"]), _res(d, BABY).update(meta={"versionId": "2"}),
                _res(d, MOTHER).update(meta={"versionId": "2"})),
     lambda d: (d["entry"][MOTHER].update(fullUrl=d["entry"][BABY]["fullUrl"]), _res(d, BABY).update(meta={"versionId": "1"}),
                _res(d, MOTHER).update(meta={"versionId": "2"})),
     ("BUNDLE-FULLURL-DUPLICATE", f"{E}[3].fullUrl", "bdl-7")),
    ("RESTful fullUrl with another id",
     lambda d: d["entry"][ORG].update(fullUrl="https://fhir.example-rs.id/R4/Organization/other"),
     lambda d: d["entry"][ORG].update(fullUrl=f"https://fhir.example-rs.id/R4/Organization/{_res(d, ORG)['id']}"),
     ("BUNDLE-FULLURL-MISMATCH", f"{E}[1].fullUrl", None)),
    ("RESTful fullUrl with another type",
     lambda d: d["entry"][ORG].update(fullUrl=f"http://localhost:8080/fhir/Patient/{_res(d, ORG)['id']}"),
     lambda d: d["entry"][ORG].update(fullUrl=f"http://localhost:8080/fhir/Organization/{_res(d, ORG)['id']}"),
     ("BUNDLE-FULLURL-MISMATCH", f"{E}[1].fullUrl", None)),
    ("RESTful fullUrl of a resource without id",
     lambda d: (d["entry"][ORG].update(fullUrl="https://example.org/Organization/1"), _res(d, ORG).pop("id")),
     lambda d: d["entry"][ORG].update(fullUrl="https://example.org/organizations/1"),  # not RESTful-shaped
     ("BUNDLE-FULLURL-MISMATCH", f"{E}[1].fullUrl", None)),
    ("relative fullUrl",
     lambda d: d["entry"][ORG].update(fullUrl=f"Organization/{_res(d, ORG)['id']}"),
     lambda d: d["entry"][ORG].update(fullUrl=f"urn:uuid:{_res(d, ORG)['id']}"),
     ("BUNDLE-FULLURL-INVALID", f"{E}[1].fullUrl", "absolute")),
    ("uppercase scheme is not absolute for HAPI",
     lambda d: d["entry"][ORG].update(fullUrl="HTTP://example.org/x"),
     lambda d: d["entry"][ORG].update(fullUrl="http://example.org/x"),
     ("BUNDLE-FULLURL-INVALID", f"{E}[1].fullUrl", "absolute")),
    ("bdl-8 versioned fullUrl",
     lambda d: d["entry"][ORG].update(fullUrl="urn:x:org/_history/1"),
     lambda d: d["entry"][ORG].update(fullUrl="urn:x:org/history/1"),
     ("BUNDLE-FULLURL-INVALID", f"{E}[1].fullUrl", "bdl-8")),
    ("missing fullUrl",
     lambda d: d["entry"][ORG].pop("fullUrl"),
     lambda d: None,
     ("ELEMENT-MISSING", f"{E}[1].fullUrl", "fullUrl")),
    ("same type and id in two entries",
     lambda d: _res(d, BABY).update(id=_res(d, MOTHER)["id"]),
     lambda d: None,
     ("BUNDLE-ENTRY-DUPLICATE", f"{E}[3].resource.id", None)),
    ("bdl-1 total", lambda d: d.update(total=1), lambda d: None, ("FHIR-CONSTRAINT-FAILED", "Bundle.total", "bdl-1")),
    ("bdl-2 search", lambda d: d["entry"][ORG].update(search={"mode": "match"}), lambda d: None,
     ("FHIR-CONSTRAINT-FAILED", f"{E}[1].search", "bdl-2")),
    ("bdl-3 request", lambda d: d["entry"][ORG].update(request={"method": "POST", "url": "Organization"}), lambda d: None,
     ("FHIR-CONSTRAINT-FAILED", f"{E}[1].request", "bdl-3")),
    ("bdl-4 response", lambda d: d["entry"][ORG].update(response={"status": "201"}), lambda d: None,
     ("FHIR-CONSTRAINT-FAILED", f"{E}[1].response", "bdl-4")),
    ("paging link in a message",
     lambda d: d.update(link=[{"relation": "next", "url": "https://example.org/p2"}]),
     lambda d: d.update(link=[{"relation": "self", "url": "https://example.org/p1"}]),
     ("FHIR-INVALID", "Bundle.link[0].relation", "link relation")),
    # datatypes.py
    ("uri with a space", lambda d: _res(d, HEADER)["source"].update(endpoint="urn:hospital: 1"), lambda d: None,
     ("FHIR-URI-INVALID", f"{E}[0].resource.source.endpoint", "whitespace")),
    ("uri with a trailing no-break space", lambda d: _res(d, MOTHER)["identifier"][0].update(system="https://example.org/nik\u00a0"),
     lambda d: None, ("FHIR-URI-INVALID", f"{E}[2].resource.identifier[0].system", "whitespace")),
    ("uppercase urn:uuid", lambda d: d["entry"][ORG].update(fullUrl=d["entry"][ORG]["fullUrl"].upper().replace("URN:UUID", "urn:uuid")),
     lambda d: None, ("FHIR-URI-INVALID", f"{E}[1].fullUrl", "urn:uuid")),
    ("urn:oid too short a root", lambda d: _res(d, MOTHER)["identifier"][0].update(system="urn:oid:1.2.3"),
     lambda d: _res(d, MOTHER)["identifier"][0].update(system="urn:oid:1.3.6"),
     ("FHIR-URI-INVALID", f"{E}[2].resource.identifier[0].system", "urn:oid")),
    ("oid: prefix", lambda d: _res(d, HEADER)["source"].update(endpoint="oid:2.16.840.1"),
     lambda d: _res(d, HEADER)["source"].update(endpoint="urn:oid:2.16.840.1"),
     ("FHIR-URI-INVALID", f"{E}[0].resource.source.endpoint", "oid:")),
    ("relative Identifier.system", lambda d: _res(d, MOTHER)["identifier"][0].update(system="nik"),
     lambda d: _res(d, MOTHER)["identifier"][0].update(system="ldap:nik"),
     ("FHIR-IDENTIFIER-SYSTEM-NOT-ABSOLUTE", f"{E}[2].resource.identifier[0].system", None)),
    ("urn:ietf:rfc:3986 value not a URI", lambda d: _res(d, MOTHER)["identifier"][0].update(system="urn:ietf:rfc:3986"),
     lambda d: _res(d, MOTHER)["identifier"][0].update(system="urn:ietf:rfc:3986", value="urn:nik:3578010000000001"),
     ("FHIR-URI-INVALID", f"{E}[2].resource.identifier[0].value", "urn:ietf:rfc:3986")),
    ("relative Extension.url", lambda d: _res(d, BABY).update(extension=[{"url": "order", "valueInteger": 1}]),
     lambda d: _res(d, BABY).update(extension=[{"url": "https://example.org/x", "extension": [{"url": "order", "valueInteger": 1}]}]),
     ("FHIR-URI-INVALID", f"{E}[3].resource.extension[0].url", "Extension.url")),
    ("UCUM code that is no unit", lambda d: _res(d, WEIGHT)["valueQuantity"].update(code="gr"),
     lambda d: _res(d, WEIGHT)["valueQuantity"].update(code="[lb_av]"),
     ("FHIR-UCUM-INVALID", f"{E}[5].resource.valueQuantity.code", UCUM)),
    ("UCUM factor with an exponent", lambda d: _res(d, WEIGHT)["valueQuantity"].update(code="3-5"),
     lambda d: _res(d, WEIGHT)["valueQuantity"].update(code="10*3/uL"),
     ("FHIR-UCUM-INVALID", f"{E}[5].resource.valueQuantity.code", UCUM)),
    ("UCUM case matters", lambda d: _res(d, WEIGHT)["valueQuantity"].update(code="cel"),
     lambda d: _res(d, WEIGHT)["valueQuantity"].update(code="Cel"),
     ("FHIR-UCUM-INVALID", f"{E}[5].resource.valueQuantity.code", UCUM)),
    # invariants.py
    ("ele-1 empty object", lambda d: _res(d, MOTHER).update(maritalStatus={}), lambda d: None,
     ("FHIR-CONSTRAINT-FAILED", f"{E}[2].resource.maritalStatus", "ele-1")),
    ("ele-1 empty array", lambda d: _res(d, MOTHER).update(telecom=[]), lambda d: None,
     ("FHIR-CONSTRAINT-FAILED", f"{E}[2].resource.telecom", "ele-1")),
    ("ele-1 null", lambda d: _res(d, MOTHER).update(address=[{"city": "Surabaya"}, None]),
     lambda d: _res(d, MOTHER).update(name=[{"given": ["Ani", None], "_given": [None, {"id": "g2"}]}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[2].resource.address[1]", "ele-1")),
    ("ele-1 empty primitive extension", lambda d: _res(d, MOTHER).update(_gender={}), lambda d: None,
     ("FHIR-CONSTRAINT-FAILED", f"{E}[2].resource.gender", "ele-1")),
    ("ext-1 value and extensions",
     lambda d: _res(d, BABY).update(extension=[{"url": "https://example.org/x", "valueString": "a", "extension": [{"url": "y", "valueString": "b"}]}]),
     lambda d: _res(d, BABY).update(extension=[{"url": "https://example.org/x", "valueString": "a"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.extension[0]", "ext-1")),
    ("ext-1 on a primitive's extension",
     lambda d: _res(d, BABY).update(_birthDate={"extension": [{"url": "https://example.org/x"}]}),
     lambda d: _res(d, BABY).update(_birthDate={"extension": [{"url": "https://example.org/x", "valueDateTime": "2026-03-12T08:45:00+07:00"}]}),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.birthDate.extension[0]", "ext-1")),
    ("per-1 end before start across time zones",
     lambda d: _res(d, STAY).update(period={"start": "2026-03-12T10:00:00+07:00", "end": "2026-03-12T02:59:59Z"}),
     lambda d: _res(d, STAY).update(period={"start": "2026-03-12T10:00:00+07:00", "end": "2026-03-12T03:00:00Z"}),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[4].resource.period", "per-1")),
    ("per-1 a date and a time on that day do not compare",
     lambda d: _res(d, STAY).update(period={"start": "2026-03-12", "end": "2026-03-12T09:00:00+07:00"}),
     lambda d: _res(d, STAY).update(period={"start": "2026-03-12", "end": "2026-03-13T09:00:00+07:00"}),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[4].resource.period", "per-1")),
    ("qty-3", lambda d: _res(d, WEIGHT)["valueQuantity"].pop("system"), lambda d: _res(d, WEIGHT)["valueQuantity"].pop("code"),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource.valueQuantity", "qty-3")),
    ("sqty-1", lambda d: _res(d, WEIGHT).update(referenceRange=[{"low": {"value": 2500, "comparator": ">", "system": UCUM, "code": "g"}}]),
     lambda d: _res(d, WEIGHT).update(referenceRange=[{"low": {"value": 2500, "system": UCUM, "code": "g"}}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource.referenceRange[0].low", "sqty-1")),
    ("obs-3", lambda d: _res(d, WEIGHT).update(referenceRange=[{"type": {"text": "normal"}}]),
     lambda d: _res(d, WEIGHT).update(referenceRange=[{"text": "normal"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource.referenceRange[0]", "obs-3")),
    ("obs-6", lambda d: _res(d, WEIGHT).update(dataAbsentReason={"text": "not weighed"}),
     lambda d: (_res(d, WEIGHT).update(dataAbsentReason={"text": "not weighed"}), _res(d, WEIGHT).pop("valueQuantity")),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource", "obs-6")),
    ("obs-7", lambda d: _res(d, WEIGHT).update(component=[{"code": copy.deepcopy(_res(d, WEIGHT)["code"]), "valueString": "x"}]),
     lambda d: _res(d, WEIGHT).update(component=[{"code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]}, "valueString": "x"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource", "obs-7")),
    ("org-1", lambda d: _res(d, ORG).pop("name"), lambda d: (_res(d, ORG).pop("name"), _res(d, ORG).update(identifier=[{"value": "1"}])),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[1].resource", "org-1")),
    ("org-2", lambda d: _res(d, ORG).update(address=[{"use": "home", "city": "Surabaya"}]),
     lambda d: _res(d, ORG).update(address=[{"use": "work", "city": "Surabaya"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[1].resource.address[0]", "org-2")),
    ("org-3", lambda d: _res(d, ORG).update(telecom=[{"use": "home", "system": "phone", "value": "031"}]),
     lambda d: _res(d, ORG).update(telecom=[{"use": "work", "system": "phone", "value": "031"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[1].resource.telecom[0]", "org-3")),
    ("cpt-2", lambda d: _res(d, MOTHER).update(telecom=[{"value": "0812"}]),
     lambda d: _res(d, MOTHER).update(telecom=[{"system": "phone", "value": "0812"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[2].resource.telecom[0]", "cpt-2")),
    ("pat-1", lambda d: _res(d, BABY).update(contact=[{"gender": "female"}]),
     lambda d: _res(d, BABY).update(contact=[{"name": {"text": "Ibu"}}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.contact[0]", "pat-1")),
    ("att-1", lambda d: _res(d, BABY).update(photo=[{"data": "AAAA"}]),
     lambda d: _res(d, BABY).update(photo=[{"data": "AAAA", "contentType": "image/png"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.photo[0]", "att-1")),
    ("rng-2", lambda d: (_res(d, WEIGHT).pop("valueQuantity"), _res(d, WEIGHT).update(valueRange={"low": {"value": 5, "system": UCUM, "code": "g"}, "high": {"value": 4, "system": UCUM, "code": "g"}})),
     lambda d: (_res(d, WEIGHT).pop("valueQuantity"), _res(d, WEIGHT).update(valueRange={"low": {"value": 4, "system": UCUM, "code": "g"}, "high": {"value": 5, "system": UCUM, "code": "g"}})),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource.valueRange", "rng-2")),
    ("rat-1", lambda d: (_res(d, WEIGHT).pop("valueQuantity"), _res(d, WEIGHT).update(valueRatio={"numerator": {"value": 1}})),
     lambda d: (_res(d, WEIGHT).pop("valueQuantity"), _res(d, WEIGHT).update(valueRatio={"numerator": {"value": 1}, "denominator": {"value": 2}})),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource.valueRatio", "rat-1")),
    ("age-1", lambda d: _res(d, BABY).update(extension=[{"url": "https://example.org/age", "valueAge": {"value": 0, "system": UCUM, "code": "d"}}]),
     lambda d: _res(d, BABY).update(extension=[{"url": "https://example.org/age", "valueAge": {"value": 1, "system": UCUM, "code": "d"}}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.extension[0].valueAge", "age-1")),
    ("drt-1", lambda d: _res(d, STAY).update(length={"value": 5, "system": "https://example.org/units", "code": "min"}),
     lambda d: _res(d, STAY).update(length={"value": 5, "system": UCUM, "code": "min"}),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[4].resource.length", "drt-1")),
    ("cnt-3", lambda d: _res(d, BABY).update(extension=[{"url": "https://example.org/n", "valueCount": {"value": 1.5, "system": UCUM, "code": "1"}}]),
     lambda d: _res(d, BABY).update(extension=[{"url": "https://example.org/n", "valueCount": {"value": 2, "system": UCUM, "code": "1"}}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.extension[0].valueCount", "cnt-3")),
    ("tim-1", lambda d: _res(d, WEIGHT).update(effectiveTiming={"repeat": {"duration": 5}}),
     lambda d: _res(d, WEIGHT).update(effectiveTiming={"repeat": {"duration": 5, "durationUnit": "min"}}),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource.effectiveTiming.repeat", "tim-1")),
    ("ref-1", lambda d: _res(d, WEIGHT).update(performer=[{"reference": "#nurse"}]),
     lambda d: _res(d, WEIGHT).update(performer=[{"reference": "#nurse"}], contained=[{"resourceType": "Practitioner", "id": "nurse"}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[5].resource.performer[0]", "ref-1")),
    ("dom-3", lambda d: _res(d, STAY).update(contained=[{"resourceType": "Location", "id": "vk"}]),
     lambda d: _res(d, STAY).update(contained=[{"resourceType": "Location", "id": "vk"}], location=[{"location": {"reference": "#vk"}}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[4].resource.contained[0]", "dom-3")),
    ("dom-4", lambda d: _res(d, STAY).update(contained=[{"resourceType": "Location", "id": "vk", "meta": {"versionId": "1"}}], location=[{"location": {"reference": "#vk"}}]),
     lambda d: _res(d, STAY).update(contained=[{"resourceType": "Location", "id": "vk", "meta": {"source": "x"}}], location=[{"location": {"reference": "#vk"}}]),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[4].resource", "dom-4")),
    ("dom-5", lambda d: _res(d, STAY).update(contained=[{"resourceType": "Location", "id": "vk", "meta": {"security": [{"code": "R"}]}}], location=[{"location": {"reference": "#vk"}}]),
     lambda d: None,
     ("FHIR-CONSTRAINT-FAILED", f"{E}[4].resource", "dom-5")),
    ("txt-1 script", lambda d: _res(d, BABY).update(text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>'}),
     lambda d: _res(d, BABY).update(text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p class="x">Bayi</p></div>'}),
     ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.text.div", "txt-1")),
    ("txt-1 event attribute", lambda d: _res(d, BABY).update(text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x">Bayi</p></div>'}),
     lambda d: None, ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.text.div", "txt-1")),
    ("txt-2", lambda d: _res(d, BABY).update(text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">  </div>'}),
     lambda d: None, ("FHIR-CONSTRAINT-FAILED", f"{E}[3].resource.text.div", "txt-2")),
]  # fmt: skip


@pytest.mark.parametrize(("defect", "fixed", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_rule_fails_its_defect_and_passes_its_fix(
    defect: Mutation, fixed: Mutation, expected: tuple[str, ...]
) -> None:
    broken, mended = _bundle(), _bundle()
    defect(broken)
    fixed(mended)
    assert _issues(broken) == [expected]
    assert _issues(mended) == []


def test_a_bad_fullurl_is_one_issue_per_rule_not_a_cascade() -> None:
    document = _bundle()
    document["entry"][ORG]["fullUrl"] = "urn:uuid:not a uuid"
    assert {issue[:2] for issue in _issues(document)} == {
        ("BUNDLE-FULLURL-INVALID", f"{E}[1].fullUrl"),
        ("FHIR-URI-INVALID", f"{E}[1].fullUrl"),
    }


def test_a_urn_uuid_fullurl_need_not_repeat_the_resource_id() -> None:
    document = _bundle()
    document["entry"][ORG]["fullUrl"] = _urn()  # HAPI accepts it: the id is a server's, a urn:uuid is not
    assert _issues(document) == []


@pytest.mark.parametrize(
    ("code", "valid"),
    [("g", True), ("kg/m2", True), ("{beats}/min", True), ("10*3/uL", True), ("mm[Hg]", True), ("'", True),
     ("gg", False), ("k g", False), ("mcg", False), ("", False), ("5+67", False), ("{a/3-5}", True)],
)  # fmt: skip
def test_ucum_codes_as_hapi_judges_them(code: str, valid: bool) -> None:
    assert is_ucum(code) is valid


@pytest.mark.parametrize(
    ("start", "end", "order"),
    [
        ("2026-03-12T10:00:00+07:00", "2026-03-12T04:00:00Z", -1),  # 03:00Z before 04:00Z
        ("2026-03-12T10:00:00+07:00", "2026-03-12T10:00:00.000+07:00", 0),  # seconds and millis: one precision
        ("2026-03-12T10:00:00.123+07:00", "2026-03-12T10:00:00.12+07:00", 1),
        ("2026", "2025-12", 1),
        ("2026", "2026-01", None),  # equal as far as both go: FHIRPath says nothing, so per-1 fails
        ("2026-03-12", "2026-03-12T09:00:00+07:00", None),
        ("2026-03-13T01:00:00+07:00", "2026-03-12", None),  # a time is compared in UTC, a date as written
        ("2026-03", "2026-04-01", -1),
    ],
)
def test_date_time_comparison_as_the_reference_validator_does_it(start: str, end: str, order: int | None) -> None:
    assert compare_date_times(start, end) == order


# The oracle ------------------------------------------------------------------------------------------
# Each invariant's expression as the specification writes it, the FHIR type or resource it is evaluated
# on, and samples that hold and that fail. per-1's samples share one precision and one offset: on
# mixed precisions fhirpathpy answers where the reference validator's engine (and so the hub) says
# "not comparable", and it orders times of different offsets wrongly; those cases are pinned to the
# reference validator's answers in test_date_time_comparison_as_the_reference_validator_does_it.
# tim-* are on Timing.repeat: wrapped in `repeat.all(...)` to run on the Timing. dom-3 and txt-1/-2 have no oracle:
# fhirpathpy cannot run dom-3's `as()` over a collection, and htmlChecks() is the validator's own.
ORACLE: list[tuple[str, str, str, list[Any], list[Any]]] = [
    ("ele-1", "CodeableConcept", "hasValue() or (children().count() > id.count())", [{"text": "x"}], [{}]),
    ("ext-1", "Extension", "extension.exists() != value.exists()",
     [{"url": "https://example.org/x", "valueString": "a"}, {"url": "https://example.org/x", "extension": [{"url": "a", "valueString": "b"}]}],
     [{"url": "https://example.org/x"}, {"url": "https://example.org/x", "valueCode": "a", "extension": [{"url": "a", "valueString": "b"}]}]),
    ("per-1", "Period", "start.hasValue().not() or end.hasValue().not() or (start <= end)",
     [{"start": "2026-03-12T10:00:00+07:00", "end": "2026-03-12T10:00:00+07:00"}, {"start": "2026-03-12"}, {"start": "2026-03", "end": "2026-04"}],
     [{"start": "2026-03-12T10:00:01+07:00", "end": "2026-03-12T10:00:00+07:00"}, {"start": "2026-03-13", "end": "2026-03-12"}]),
    ("qty-3", "Quantity", "code.empty() or system.exists()", [{"value": 1, "unit": "g"}, {"system": UCUM, "code": "g"}], [{"code": "g"}]),
    ("sqty-1", "Quantity", "comparator.empty()", [{"value": 1}], [{"value": 1, "comparator": "<"}]),
    ("age-1", "Age", "(code.exists() or value.empty()) and (system.empty() or system = %ucum) and (value.empty() or value.hasValue().not() or value > 0)",
     [{"value": 2, "system": UCUM, "code": "d"}, {"unit": "days"}],
     [{"value": 2, "unit": "d"}, {"value": 0, "system": UCUM, "code": "d"}, {"value": 2, "system": "https://example.org/u", "code": "d"}]),
    ("cnt-3", "Count", "(code.exists() or value.empty()) and (system.empty() or system = %ucum) and (code.empty() or code = '1') and (value.empty() or value.hasValue().not() or value.toString().contains('.').not())",
     [{"value": 2, "system": UCUM, "code": "1"}], [{"value": 2.5, "system": UCUM, "code": "1"}, {"value": 2, "system": UCUM, "code": "2"}, {"value": 2}]),
    ("dis-1", "Distance", "(code.exists() or value.empty()) and (system.empty() or system = %ucum)",
     [{"value": 2, "system": UCUM, "code": "m"}], [{"value": 2}, {"value": 2, "system": "https://example.org/u", "code": "m"}]),
    ("drt-1", "Duration", "code.exists() implies ((system = %ucum) and value.exists())",
     [{"value": 2, "system": UCUM, "code": "min"}, {"value": 2}], [{"system": UCUM, "code": "min"}, {"value": 2, "system": "https://example.org/u", "code": "min"}]),
    ("rng-2", "Range", "low.empty() or high.empty() or (low.value <= high.value)",  # fhirpathpy cannot order Quantities: same-unit samples
     [{"low": {"value": 1, "system": UCUM, "code": "g"}, "high": {"value": 2, "system": UCUM, "code": "g"}}, {"low": {"value": 5}}],
     [{"low": {"value": 3, "system": UCUM, "code": "g"}, "high": {"value": 2, "system": UCUM, "code": "g"}}]),
    ("rat-1", "Ratio", "(numerator.empty() xor denominator.exists()) and (numerator.exists() or extension.exists())",
     [{"numerator": {"value": 1}, "denominator": {"value": 2}}, {"extension": [{"url": "https://example.org/x", "valueString": "a"}]}],
     [{"numerator": {"value": 1}}, {"denominator": {"value": 2}}]),
    ("att-1", "Attachment", "data.empty() or contentType.exists()", [{"data": "AAAA", "contentType": "image/png"}, {"url": "https://example.org/a"}], [{"data": "AAAA"}]),
    ("cpt-2", "ContactPoint", "value.empty() or system.exists()", [{"system": "phone", "value": "1"}], [{"value": "1"}]),
    ("tim-1", "Timing", "repeat.all(duration.empty() or durationUnit.exists())", [{"repeat": {"duration": 1, "durationUnit": "h"}}], [{"repeat": {"duration": 1}}]),
    ("tim-2", "Timing", "repeat.all(period.empty() or periodUnit.exists())", [{"repeat": {"period": 1, "periodUnit": "h"}}], [{"repeat": {"period": 1}}]),
    ("tim-4", "Timing", "repeat.all(duration.exists() implies duration >= 0)", [{"repeat": {"duration": 0, "durationUnit": "h"}}], [{"repeat": {"duration": -1, "durationUnit": "h"}}]),
    ("tim-5", "Timing", "repeat.all(period.exists() implies period >= 0)", [{"repeat": {"period": 0, "periodUnit": "h"}}], [{"repeat": {"period": -1, "periodUnit": "h"}}]),
    ("tim-6", "Timing", "repeat.all(periodMax.empty() or period.exists())", [{"repeat": {"period": 1, "periodMax": 2, "periodUnit": "h"}}], [{"repeat": {"periodMax": 2, "periodUnit": "h"}}]),
    ("tim-7", "Timing", "repeat.all(durationMax.empty() or duration.exists())", [{"repeat": {"duration": 1, "durationMax": 2, "durationUnit": "h"}}], [{"repeat": {"durationMax": 2, "durationUnit": "h"}}]),
    ("tim-8", "Timing", "repeat.all(countMax.empty() or count.exists())", [{"repeat": {"count": 1, "countMax": 2}}], [{"repeat": {"countMax": 2}}]),
    ("tim-9", "Timing", "repeat.all(offset.empty() or (when.exists() and ((when in ('C' | 'CM' | 'CD' | 'CV')).not())))",
     [{"repeat": {"offset": 30, "when": ["AC"]}}], [{"repeat": {"offset": 30}}, {"repeat": {"offset": 30, "when": ["CM"]}}]),
    ("tim-10", "Timing", "repeat.all(timeOfDay.empty() or when.empty())", [{"repeat": {"timeOfDay": ["08:00:00"]}}], [{"repeat": {"timeOfDay": ["08:00:00"], "when": ["MORN"]}}]),
    ("obs-3", "Observation.referenceRange", "low.exists() or high.exists() or text.exists()", [{"text": "normal"}], [{"type": {"text": "normal"}}]),
    ("pat-1", "Patient.contact", "name.exists() or telecom.exists() or address.exists() or organization.exists()", [{"name": {"text": "Ibu"}}], [{"gender": "female"}]),
    ("org-2", "Address", "where(use = 'home').empty()", [{"use": "work"}], [{"use": "home"}]),
    ("org-3", "ContactPoint", "where(use = 'home').empty()", [{"use": "work", "system": "phone"}], [{"use": "home", "system": "phone"}]),
]  # fmt: skip

RESOURCE_ORACLE: list[tuple[str, str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("obs-6", "dataAbsentReason.empty() or value.empty()",
     [{"resourceType": "Observation", "valueString": "x"}, {"resourceType": "Observation", "dataAbsentReason": {"text": "x"}}],
     [{"resourceType": "Observation", "valueString": "x", "dataAbsentReason": {"text": "x"}}]),
    ("obs-7", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
     [{"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": "1"}]}, "valueString": "x",
       "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "2"}]}}]}],
     [{"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": "1"}]}, "valueString": "x",
       "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "1"}]}}]}]),
    ("org-1", "(identifier.count() + name.count()) > 0",
     [{"resourceType": "Organization", "name": "RS"}, {"resourceType": "Organization", "identifier": [{"value": "1"}]}],
     [{"resourceType": "Organization", "active": True}]),
    ("dom-2", "contained.contained.empty()",
     [{"resourceType": "Encounter", "contained": [{"resourceType": "Location", "id": "a"}], "location": [{"location": {"reference": "#a"}}]}],
     [{"resourceType": "Encounter", "contained": [{"resourceType": "Location", "id": "a", "contained": [{"resourceType": "Location", "id": "b"}]}],
       "location": [{"location": {"reference": "#a"}}]}]),
    ("dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
     [{"resourceType": "Encounter", "contained": [{"resourceType": "Location", "id": "a"}], "location": [{"location": {"reference": "#a"}}]}],
     [{"resourceType": "Encounter", "contained": [{"resourceType": "Location", "id": "a", "meta": {"lastUpdated": "2026-03-12T10:00:00+07:00"}}],
       "location": [{"location": {"reference": "#a"}}]}]),
    ("dom-5", "contained.meta.security.empty()",
     [{"resourceType": "Encounter", "contained": [{"resourceType": "Location", "id": "a"}], "location": [{"location": {"reference": "#a"}}]}],
     [{"resourceType": "Encounter", "contained": [{"resourceType": "Location", "id": "a", "meta": {"security": [{"code": "R"}]}}],
       "location": [{"location": {"reference": "#a"}}]}]),
]  # fmt: skip

# Where the native check meets each sample: the node's type and definition path.
_NODE_FOR = {
    "Observation.referenceRange": ("BackboneElement", "Observation.referenceRange"),
    "Patient.contact": ("BackboneElement", "Patient.contact"),
    "Address": ("Address", "Organization.address"),
    "ContactPoint": ("ContactPoint", "Organization.telecom"),
    "Quantity": ("Quantity", "Observation.referenceRange.low"),
}


def _spec_holds(value: Any, base: str, expression: str, context: dict[str, Any] | None = None) -> bool:
    import fhirpathpy
    from fhirpathpy.models import models

    has_value = {"fn": lambda inputs: [len(inputs) == 1 and not isinstance(inputs[0], dict | list)], "arity": {0: []}}
    environment = {"ucum": UCUM, **(context or {})}
    target = {"base": base, "expression": expression}
    result = fhirpathpy.evaluate(
        value, target, environment, models["r4"], {"userInvocationTable": {"hasValue": has_value}}
    )
    return bool(result == [True])


def _native_keys(node: Node, document: dict[str, Any] | None = None) -> set[str]:
    return {issue.detail or "" for issue in invariant_issues(document or {}, [node])}


@pytest.mark.parametrize(("key", "base", "expression", "holding", "failing"), ORACLE, ids=[case[0] for case in ORACLE])
def test_native_invariants_agree_with_the_spec_fhirpath(
    key: str, base: str, expression: str, holding: list[Any], failing: list[Any]
) -> None:
    node_type, element = _NODE_FOR.get(base, (base, f"Patient.extension.value{base}"))
    for sample, holds in [*((one, True) for one in holding), *((one, False) for one in failing)]:
        assert _spec_holds(sample, base, expression) is holds, (key, sample)
        if key == "ele-1":
            native = {issue.detail or "" for issue in invariant_issues({"maritalStatus": sample}, [])}
        else:
            native = _native_keys(Node("X", element, node_type, sample))
        assert (key not in native) is holds, (key, sample, native)


@pytest.mark.parametrize(
    ("key", "expression", "holding", "failing"), RESOURCE_ORACLE, ids=[case[0] for case in RESOURCE_ORACLE]
)
def test_native_resource_invariants_agree_with_the_spec_fhirpath(
    key: str, expression: str, holding: list[Any], failing: list[Any]
) -> None:
    import fhirpathpy
    from fhirpathpy.models import models

    for sample, holds in [*((one, True) for one in holding), *((one, False) for one in failing)]:
        spec = fhirpathpy.evaluate(sample, expression, {"resource": sample}, models["r4"]) == [True]
        assert spec is holds, (key, sample)
        native = _native_keys(Node("X", "Bundle.entry.resource", sample["resourceType"], sample))
        assert (key not in native) is holds, (key, sample, native)


def test_ref_1_agrees_with_the_spec_fhirpath() -> None:
    import fhirpathpy
    from fhirpathpy.models import models

    expression = "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))"
    root = {"resourceType": "Observation", "contained": [{"resourceType": "Practitioner", "id": "nurse"}]}
    document = {"entry": [{"resource": root}]}
    for reference, holds in [("#nurse", True), ("urn:uuid:" + str(uuid.uuid4()), True), ("#doctor", False)]:
        value = {"reference": reference}
        spec = fhirpathpy.evaluate(
            value, {"base": "Reference", "expression": expression}, {"rootResource": root}, models["r4"]
        ) == [True]
        assert spec is holds, reference
        native = _native_keys(
            Node("Bundle.entry[0].resource.performer[0]", "Observation.performer", "Reference", value), document
        )
        assert ("ref-1" not in native) is holds, reference
