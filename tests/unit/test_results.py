"""The answer to a hospital (hub/intake/results.py): a FHIR R4 message Bundle."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle

from hub.domain import codes
from hub.domain.codes import CATALOGUE, Issue, Severity
from hub.domain.outcomes import ResultStatus
from hub.intake import vocabulary as v
from hub.intake.results import ResultContent, build_result

NOW = datetime(2024, 3, 11, 1, 30, tzinfo=UTC)
# FHIR R4 IssueType (http://hl7.org/fhir/issue-type), the value set of OperationOutcome.issue.code.
ISSUE_TYPES = {
    "invalid",
    "structure",
    "required",
    "value",
    "invariant",
    "security",
    "login",
    "unknown",
    "expired",
    "forbidden",
    "suppressed",
    "processing",
    "not-supported",
    "duplicate",
    "multiple-matches",
    "not-found",
    "deleted",
    "too-long",
    "code-invalid",
    "extension",
    "too-costly",
    "business-rule",
    "conflict",
    "transient",
    "lock-error",
    "no-store",
    "exception",
    "timeout",
    "incomplete",
    "throttled",
    "informational",
}
STATUSES = [
    ResultStatus.REGISTERED,
    ResultStatus.DUPLICATE,
    ResultStatus.STILLBIRTH,
    ResultStatus.REVIEW,
    ResultStatus.REJECTED,
]
NUMBERS = {
    "nik": "3273015003240001",
    "akta-number": "3273-LU-11032024-0001",
    "kk-number": "3273010501190003",
    "kk-version": 4,
}


def content(status: str = ResultStatus.REJECTED, issues: tuple[Issue, ...] = (), numbers=None, hospital="1032730001"):
    return ResultContent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        hospital_id=hospital,
        status=status,
        issues=issues,
        numbers=dict(numbers or {}),
    )


def entries(doc) -> dict[str, dict]:
    return {entry["resource"]["resourceType"]: entry["resource"] for entry in doc["entry"]}


def by_full_url(doc, reference: str) -> dict:
    matches = [entry["resource"] for entry in doc["entry"] if entry["fullUrl"] == reference]
    assert len(matches) == 1, reference
    return matches[0]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("with_numbers", [False, True])
def test_result_is_a_valid_fhir_message_bundle(status, with_numbers):
    answer = content(status, (Issue(codes.LATE_REGISTRATION),), NUMBERS if with_numbers else None)

    doc = build_result(answer, NOW)

    bundle = Bundle.model_validate(doc)
    assert bundle.type == "message" and doc["id"] == answer.event_id
    assert doc["entry"][0]["resource"]["resourceType"] == "MessageHeader"


def test_result_without_hospital_is_still_valid_and_has_no_destination():
    doc = build_result(content(hospital=None), NOW)

    Bundle.model_validate(doc)
    assert "destination" not in entries(doc)["MessageHeader"]


def test_header_answers_the_notification():
    answer = content(ResultStatus.REGISTERED)

    header = entries(build_result(answer, NOW))["MessageHeader"]

    assert header["id"] == answer.event_id
    assert header["response"]["identifier"] == answer.message_id
    assert header["eventCoding"] == {"system": v.EVENT_SYSTEM, "code": v.BIRTH_RESULT}
    assert header["destination"] == [{"endpoint": "urn:hospital:1032730001"}]
    assert header["extension"] == [{"url": v.REGISTRATION_STATUS, "valueCode": ResultStatus.REGISTERED}]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (ResultStatus.REGISTERED, "ok"),
        (ResultStatus.DUPLICATE, "ok"),
        (ResultStatus.STILLBIRTH, "ok"),
        (ResultStatus.REVIEW, "ok"),
        (ResultStatus.REJECTED, "fatal-error"),
    ],
)
def test_response_code_by_status(status, code):
    header = entries(build_result(content(status), NOW))["MessageHeader"]

    assert header["response"]["code"] == code


def test_timestamp_is_the_answer_time_with_its_offset():
    assert build_result(content(), NOW)["timestamp"] == "2024-03-11T01:30:00.000+00:00"


def test_references_resolve_inside_the_bundle():
    doc = build_result(content(ResultStatus.REGISTERED, numbers=NUMBERS), NOW)
    header = entries(doc)["MessageHeader"]

    assert by_full_url(doc, header["response"]["details"]["reference"])["resourceType"] == "OperationOutcome"
    assert by_full_url(doc, header["focus"][0]["reference"])["resourceType"] == "Parameters"


def test_numbers_are_parameters_typed_by_value():
    parameters = entries(build_result(content(ResultStatus.REGISTERED, numbers=NUMBERS), NOW))["Parameters"]

    assert parameters["parameter"] == [
        {"name": "nik", "valueString": "3273015003240001"},
        {"name": "akta-number", "valueString": "3273-LU-11032024-0001"},
        {"name": "kk-number", "valueString": "3273010501190003"},
        {"name": "kk-version", "valueInteger": 4},
    ]


def test_no_numbers_no_parameters_and_no_focus():
    doc = build_result(content(ResultStatus.REJECTED), NOW)

    assert "Parameters" not in entries(doc) and "focus" not in entries(doc)["MessageHeader"]


def test_issue_carries_severity_hub_code_expression_and_both_languages():
    issue = Issue(codes.WEIGHT_IMPLAUSIBLE, "Bundle.entry[6].resource.valueQuantity.value", "expected 300..7000 g")

    rendered = entries(build_result(content(issues=(issue,)), NOW))["OperationOutcome"]["issue"]

    assert rendered == [
        {
            "severity": "error",
            "code": "value",
            "details": {
                "coding": [
                    {
                        "system": v.ISSUE_CODE_SYSTEM,
                        "code": "BIRTH-WEIGHT-IMPLAUSIBLE",
                        "display": "Birth weight is outside the plausible range.",
                    }
                ],
                "text": "Berat lahir di luar rentang yang masuk akal. / Birth weight is outside the plausible range. "
                "(expected 300..7000 g)",
            },
            "diagnostics": "expected 300..7000 g",
            "expression": ["Bundle.entry[6].resource.valueQuantity.value"],
        }
    ]


@pytest.mark.parametrize(
    ("issue", "severity"),
    [
        (Issue(codes.NOT_JSON), "fatal"),
        (Issue(codes.KK_INVALID, "Bundle.entry[3].resource.identifier[1].value"), "error"),
        (Issue(codes.NIK_REGION_UNKNOWN, "Bundle.entry[3].resource.identifier[0].value"), "warning"),
        (Issue(codes.STILLBIRTH_RECORDED), "information"),
        (Issue(codes.NIK_DATE_MISMATCH, severity=Severity.ERROR), "error"),  # an override wins over the default
    ],
)
def test_issue_severity(issue, severity):
    rendered = entries(build_result(content(issues=(issue,)), NOW))["OperationOutcome"]["issue"][0]

    assert rendered["severity"] == severity


def test_issue_without_detail_or_expression_has_neither():
    rendered = entries(build_result(content(issues=(Issue(codes.REVIEW_PENDING),)), NOW))["OperationOutcome"]

    issue = rendered["issue"][0]
    assert "diagnostics" not in issue and "expression" not in issue
    assert issue["details"]["text"] == f"{codes.REVIEW_PENDING.id} / {codes.REVIEW_PENDING.en}"


def test_every_issue_is_listed_in_order():
    issues = (
        Issue(codes.NAME_PLACEHOLDER, "Bundle.entry[2].resource.name"),
        Issue(codes.WEIGHT_UNIT, "Bundle.entry[6].resource.valueQuantity.code", "UCUM g"),
        Issue(codes.WITNESSES_REQUIRED, "Bundle.entry[0].resource.extension[0].extension"),
    )

    doc = build_result(content(issues=issues), NOW)

    Bundle.model_validate(doc)
    rendered = entries(doc)["OperationOutcome"]["issue"]
    assert [i["details"]["coding"][0]["code"] for i in rendered] == [
        "NEWBORN-NAME-PLACEHOLDER",
        "BIRTH-WEIGHT-UNIT",
        "WITNESSES-REQUIRED",
    ]


def test_nothing_to_report_is_one_information_ok():
    outcome = entries(build_result(content(ResultStatus.REGISTERED), NOW))["OperationOutcome"]

    assert outcome["issue"] == [{"severity": "information", "code": "informational", "diagnostics": "OK"}]


def test_every_hub_code_renders_as_a_valid_operation_outcome():
    issues = tuple(Issue(code, "Bundle") for code in CATALOGUE.values())

    doc = build_result(content(issues=issues), NOW)

    Bundle.model_validate(doc)
    assert {code.fhir_type for code in CATALOGUE.values()} <= ISSUE_TYPES
    assert len(entries(doc)["OperationOutcome"]["issue"]) == len(CATALOGUE)


def test_same_event_gives_the_same_document():
    answer = content(ResultStatus.REGISTERED, numbers=NUMBERS)

    assert build_result(answer, NOW) == build_result(answer, NOW)
