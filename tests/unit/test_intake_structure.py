"""Structural FHIR R4 validation (hub/intake/structure.py)."""

from __future__ import annotations

import pytest

from hub.intake.structure import diagnostic, fhirpath, structural_issues
from tests.unit.builders import HEADER, MOTHER, NEWBORN, WEIGHT, bundle, nik, resource

H = "Bundle.entry[0].resource"


def found(document) -> list[tuple[str, str | None]]:
    return [(issue.code.code, issue.expression) for issue in structural_issues(document)]


def test_a_built_notification_has_no_structural_issues():
    assert structural_issues(bundle()) == []


def test_a_built_twin_stillbirth_without_father_has_no_structural_issues():
    document = bundle(
        birth_order=2,
        plurality=2,
        stillborn=True,
        father=None,
        length_cm=None,
        gestational_weeks=None,
        marriage="not-married",
    )

    assert structural_issues(document) == []


def test_unknown_resource_type_is_located_at_its_entry():
    document = bundle()
    resource(document, NEWBORN)["resourceType"] = "Baby"

    assert found(document) == [("FHIR-UNKNOWN-RESOURCE", "Bundle.entry[2].resource.resourceType")]


@pytest.mark.parametrize("resource_type", [None, "", "Element", "Patient2", "../Patient"])
def test_missing_or_non_resource_type_is_unknown(resource_type):
    document = bundle()
    resource(document, WEIGHT)["resourceType"] = resource_type

    assert found(document) == [("FHIR-UNKNOWN-RESOURCE", "Bundle.entry[6].resource.resourceType")]


def test_wrong_primitive_is_located_at_the_element():
    document = bundle()
    resource(document, NEWBORN)["birthDate"] = "2024-13-01"

    issues = structural_issues(document)

    assert [(i.code.code, i.expression) for i in issues] == [("FHIR-INVALID", "Bundle.entry[2].resource.birthDate")]
    assert issues[0].blocks and issues[0].detail


def test_underscore_elements_map_to_the_primitive_path():
    document = bundle()
    resource(document, NEWBORN)["_birthDate"]["extension"][0]["valueDateTime"] = "10-03-2024 08:30"

    assert found(document) == [("FHIR-INVALID", "Bundle.entry[2].resource.birthDate.extension[0].valueDateTime")]


def test_every_structural_problem_is_reported():
    document = bundle()
    resource(document, NEWBORN)["birthDate"] = "2024-13-01"
    resource(document, WEIGHT)["status"] = ["final"]
    document["timestamp"] = "yesterday"

    assert set(found(document)) == {
        ("FHIR-INVALID", "Bundle.timestamp"),
        ("FHIR-INVALID", "Bundle.entry[2].resource.birthDate"),
        ("FHIR-INVALID", "Bundle.entry[6].resource.status"),
    }


@pytest.mark.parametrize(("key", "value"), [("type", "collection"), ("type", None), ("resourceType", "Patient")])
def test_not_a_message_bundle(key, value):
    document = bundle()
    document[key] = value

    assert found(document) == [("BUNDLE-NOT-MESSAGE", "Bundle.type")]


def test_bundle_without_entries():
    document = bundle()
    del document["entry"]

    assert found(document) == [("ELEMENT-MISSING", "Bundle.entry")]


def test_entry_without_resource():
    document = bundle()
    del document["entry"][MOTHER]["resource"]

    assert found(document) == [("ELEMENT-MISSING", "Bundle.entry[3].resource")]


@pytest.mark.parametrize(
    ("where", "element"),
    [
        (NEWBORN, "multipleBirthInteger"),
        (NEWBORN, "birthDate"),
        (NEWBORN, "active"),
        (WEIGHT, "valueQuantity"),
        (HEADER, "timestamp"),
    ],
)
def test_issues_never_echo_the_input(where, element):
    number = nik()
    document = bundle()
    target = resource(document, where)
    if element == "valueQuantity":
        target[element]["value"] = number + "g"
    else:
        target[element] = number

    issues = structural_issues(document)

    assert issues, "the wrong value must be reported"
    for issue in issues:
        assert number not in (issue.detail or "") and number not in (issue.expression or "")


def test_an_identifier_sent_as_a_number_is_not_echoed():
    document = bundle()
    number = resource(document, MOTHER)["identifier"][0]["value"]
    resource(document, MOTHER)["identifier"][0]["value"] = int(number)

    issues = structural_issues(document)

    assert [(i.code.code, i.expression) for i in issues] == [
        ("FHIR-INVALID", "Bundle.entry[3].resource.identifier[0].value")
    ]
    assert number not in (issues[0].detail or "")


def test_an_unknown_element_named_with_a_nik_is_not_echoed():
    number = nik()
    document = bundle()
    resource(document, NEWBORN)[number] = "x"

    issues = structural_issues(document)

    assert [(i.code.code, i.expression) for i in issues] == [("FHIR-INVALID", "Bundle.entry[2].resource")]


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("_birthDate", "extension", 0, "valueDateTime"), "R.birthDate.extension[0].valueDateTime"),
        (("identifier", 1, "value"), "R.identifier[1].value"),
        ((), "R"),
        (("valueQuantity", "function-after[validate(), Decimal]", "value"), "R.valueQuantity.value"),
        (("name", 0, "Siti2", "given"), "R.name[0]"),  # not an element name: stop, never echo it
        (("sender", "root"), "R.sender"),  # fhir.resources' name for the complex value itself
        (("root", "value"), "R.root.value"),  # an element of that name would be kept (FHIR has none)
    ],
)
def test_fhirpath_from_a_pydantic_location(loc, expected):
    assert fhirpath("R", loc) == expected


def issues_of(document) -> list[tuple[str, str | None, str | None]]:
    return [(issue.code.code, issue.expression, issue.detail) for issue in structural_issues(document)]


@pytest.mark.parametrize(
    ("where", "keys", "value", "path", "text"),
    [
        (HEADER, ("sender",), [], f"{H}.sender", "must be a FHIR Reference (a JSON object)"),
        (HEADER, ("sender",), 7, f"{H}.sender", "must be a FHIR Reference (a JSON object)"),
        (NEWBORN, ("_birthDate",), 7, "Bundle.entry[2].resource.birthDate", "must be a FHIR Element (a JSON object)"),
        (NEWBORN, ("_birthDate",), "x", "Bundle.entry[2].resource.birthDate", "must be a JSON object"),
        (NEWBORN, ("name",), [None], "Bundle.entry[2].resource.name", "must not contain empty items"),
        (NEWBORN, ("gender",), 5, "Bundle.entry[2].resource.gender", "must be a JSON string"),
        (
            NEWBORN,
            ("gender",),
            " female",
            "Bundle.entry[2].resource.gender",
            "does not have the format of its FHIR data type (empty, or extra whitespace)",
        ),
        (NEWBORN, ("identifier",), {}, "Bundle.entry[2].resource.identifier", "must be a JSON array"),
        (NEWBORN, ("active",), "x", "Bundle.entry[2].resource.active", "must be true or false"),
        (
            WEIGHT,
            ("valueQuantity", "value"),
            "3,2",
            "Bundle.entry[6].resource.valueQuantity.value",
            "not a valid FHIR decimal",
        ),
        (WEIGHT, ("status",), None, "Bundle.entry[6].resource.status", "required by FHIR R4"),
        (HEADER, ("eventCoding",), None, H, "requires one of eventCoding, eventUri"),
    ],
)
def test_diagnostics_are_our_words_without_python_artefacts(where, keys, value, path, text):
    document = bundle()
    target = resource(document, where)
    for key in keys[:-1]:
        target = target[key]
    if value is None and keys[-1] in ("status", "eventCoding"):
        del target[keys[-1]]
    else:
        target[keys[-1]] = value

    assert issues_of(document) == [("FHIR-INVALID", path, text)]


@pytest.mark.parametrize("value", [[], 0, {"a": 1}])
def test_a_value_fhir_resources_cannot_handle_is_reported_not_raised(value):
    document = bundle()
    resource(document, HEADER)["source"]["endpoint"] = value

    issues = issues_of(document)

    assert len(issues) == 1 and issues[0][:2] == ("FHIR-INVALID", H)
    assert issues[0][2] in ("an element has a JSON type that FHIR R4 does not allow there", "must be a JSON string")


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            {"type": "some_new_type", "msg": "Input should be a valid email address"},
            "Input should be a valid email address",
        ),
        ({"type": "some_new_type", "msg": "Input should be 'a' or 'b'"}, "does not conform to FHIR R4"),
        ({"type": "some_new_type", "msg": "got <class 'NoneType'>"}, "does not conform to FHIR R4"),
        ({"type": "some_new_type", "msg": "Invalid date 1995-03-12"}, "does not conform to FHIR R4"),
        ({"type": "value_error", "msg": "Value error, got None"}, "does not conform to FHIR R4"),
        (
            {"type": "value_error", "msg": "Value error, DateTime must be timezone aware."},
            "DateTime must be timezone aware.",
        ),
        (
            {
                "type": "value_error",
                "msg": "Value error, Any of one field value is expected from this list "
                "['valueQuantity', 'valueString'], but got multiple!",
            },
            "allows only one of valueQuantity, valueString",
        ),
    ],
)
def test_unforeseen_library_messages_pass_only_when_they_are_plain_words(error, text):
    assert diagnostic(error) == text
