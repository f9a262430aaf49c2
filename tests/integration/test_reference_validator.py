"""The HAPI FHIR reference validator as the project runs it (deploy/local/fhir-validator.sh, through
hub/devtools/reference_validator.py): real jars, real JVM, no Kafka or PostgreSQL.

One JVM judges all the files of this module (its cold start is several seconds)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hub.devtools import reference_validator
from hub.devtools.reference_validator import ReferenceValidatorFailed, RefIssue

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "examples" / "valid-singleton.json"
PATIENT = "urn:uuid:3d0e6a52-8f4b-4c1e-9a27-5b6c7d8e9f10"


def _minimal_message() -> dict:
    """A message Bundle of our own that base R4 finds nothing wrong with: a header and its focus."""
    narrative = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">synthetic</div>'}
    header = {
        "resourceType": "MessageHeader",
        "id": "0c4d2b1a-7e6f-4a5b-8c9d-1e2f3a4b5c6d",
        "text": narrative,
        "eventUri": "https://example.org/fhir/event/test",
        "source": {"endpoint": "https://example.org/sender"},
        "focus": [{"reference": PATIENT}],
    }
    patient = {
        "resourceType": "Patient",
        "id": PATIENT.removeprefix("urn:uuid:"),
        "text": narrative,
        "gender": "female",
        "birthDate": "2026-01-04",
    }
    return {
        "resourceType": "Bundle",
        "id": "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
        "type": "message",
        "timestamp": "2026-01-05T08:00:00+07:00",
        "entry": [
            {"fullUrl": "urn:uuid:" + header["id"], "resource": header},
            {"fullUrl": PATIENT, "resource": patient},
        ],
    }


def _encounter_index(document: dict) -> int:
    return next(i for i, e in enumerate(document["entry"]) if e["resource"]["resourceType"] == "Encounter")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reference-validator")
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    broken = copy.deepcopy(example)
    broken["entry"][_encounter_index(broken)]["resource"]["status"] = "done"  # not in R4's encounter-status
    files = {"example": example, "broken": broken, "clean": _minimal_message()}
    paths = {}
    for name, document in files.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(document), encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def judged(corpus) -> dict[Path, list[RefIssue]]:
    return reference_validator.validate(corpus.values())


def _errors(issues: list[RefIssue]) -> list[RefIssue]:
    return [issue for issue in issues if issue.is_error]


def test_every_file_is_judged_once(corpus, judged):
    assert set(judged) == set(corpus.values())


def test_a_code_outside_a_required_value_set_is_an_error_at_that_element(corpus, judged):
    status = f"Bundle.entry[{_encounter_index(json.loads(EXAMPLE.read_text()))}].resource.status"
    broken_at = {issue.path for issue in _errors(judged[corpus["broken"]])}
    unchanged_at = {issue.path for issue in _errors(judged[corpus["example"]])}
    assert status in broken_at
    assert status not in unchanged_at  # the mutation, not the example, made that error


def test_a_clean_minimal_message_has_no_error(corpus, judged):
    assert _errors(judged[corpus["clean"]]) == []


def test_the_location_keeps_the_validator_text_and_the_path_drops_its_resource_note():
    issue = RefIssue("error", "X", "Bundle.entry[5].resource/*Encounter/e1*/.status", "m")
    assert issue.path == "Bundle.entry[5].resource.status"
    assert issue.is_error
    assert not RefIssue("warning", "X", "Bundle", "m").is_error


def test_a_missing_input_stops_the_run_with_the_runner_own_message(tmp_path):
    with pytest.raises(ReferenceValidatorFailed, match="input not found"):
        reference_validator.validate([tmp_path / "absent.json"])


def test_throughput_is_measured_on_the_given_files(corpus):
    assert reference_validator.throughput([corpus["clean"], corpus["broken"]], seconds=2) > 0
