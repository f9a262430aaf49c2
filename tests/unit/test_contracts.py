"""Contracts are code: the checked-in files must be exactly what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hub.config import Topics
from hub.devtools.contracts import generate
from hub.devtools.simulation import examples
from hub.entrypoints.cli import app
from hub.intake.profile import read_notice
from hub.intake.structure import structural_issues

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
GENERATED = generate()


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_checked_in_contract_matches_the_code(name):
    path = CONTRACTS / name
    assert path.exists(), f"{path} is missing: run `hub contracts`"
    assert path.read_text() == GENERATED[name], f"{path} drifted from the code: run `hub contracts`"


def test_no_stale_generated_files_are_left_behind():
    on_disk = {str(p.relative_to(CONTRACTS)) for p in CONTRACTS.rglob("*") if p.is_file()}
    handwritten = {"profile.md"}
    assert on_disk - handwritten - set(GENERATED) == set()


def test_check_command_reports_drift(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["contracts", "--directory", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["contracts", "--check", "--directory", str(tmp_path)]).exit_code == 0
    (tmp_path / "error-codes.md").write_text("changed by hand\n")
    result = runner.invoke(app, ["contracts", "--check", "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert "error-codes.md" in result.output


def test_asyncapi_documents_every_topic_and_the_event_schemas():
    text = GENERATED["asyncapi.yaml"]
    document = yaml.safe_load(text)
    addresses = {channel["address"] for channel in document["channels"].values()}
    topics = Topics()
    assert topics.notification_pattern in addresses, "every hospital's notification topic, by the consumer's pattern"
    for topic in (
        "birth.result.v1.{hospital}",  # one per hospital
        "civil.birth-registered.v1",
        "civil.family-card-updated.v1",
        "birth.notification.v1.dlq",
    ):
        assert topic in addresses
    assert document["components"]["securitySchemes"] == {"scram512": {"type": "scramSha512"}}
    assert "akta_number" in text and "previous_version" in text


def _codes(document):
    found = (
        structural_issues(document)
        or read_notice(document, now=examples.AS_OF, strict_nik=True, region_known=lambda _: True).issues
    )
    return {issue.code.code for issue in found if issue.blocks}


@pytest.mark.parametrize("name", sorted(examples.valid_examples()))
def test_valid_examples_pass_the_profile(name):
    assert _codes(examples.valid_examples()[name]) == set()


EXPECTED = {
    "invalid-placeholder-name": {"NEWBORN-NAME-PLACEHOLDER"},
    "invalid-weight-in-kg": {"BIRTH-WEIGHT-UNIT"},
    "invalid-missing-birth-time": {"BIRTH-TIME-MISSING"},
    "invalid-one-witness": {"WITNESSES-REQUIRED"},
    "invalid-birth-time-offset": {"BIRTH-TIME-OFFSET"},
    "invalid-not-fhir": {"FHIR-INVALID"},
    "invalid-several-mistakes": {"NEWBORN-GENDER-UNSUPPORTED", "NIK-INVALID", "BIRTH-WEIGHT-UNIT"},
    "invalid-married-without-father": {"FATHER-REQUIRED"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_examples_produce_exactly_their_codes(name):
    assert _codes(examples.invalid_examples()[name]) == EXPECTED[name]


def test_every_invalid_example_has_stated_expectations():
    assert set(examples.invalid_examples()) == set(EXPECTED)


def test_examples_contain_only_synthetic_people():
    text = json.dumps(examples.valid_examples())
    assert examples.MOTHER.nik in text and examples.MOTHER.nik.startswith(examples.KECAMATAN)
