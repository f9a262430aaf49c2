"""Text and number rules over the whole notification (hub/intake/text.py), and their place in the pipeline."""

from __future__ import annotations

import json

import pytest

from hub.config import Topics
from hub.intake.envelope import Envelope, open_envelope
from hub.intake.results import build_result
from hub.intake.text import MAX_ISSUES, MAX_NAME_CHARS, text_issues
from hub.service.pipeline import MAX_RESULT_ISSUES, IntakeLimits, Pipeline
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.builders import FATHER_LINK, HEADER, NEWBORN, NOW, ORGANIZATION, bundle, resource

LIMITS = dict(max_bytes=1_000_000, max_depth=64)
PIPELINE = Pipeline(Topics("t."), IntakeLimits(512 * 1024, 32, True), lambda _: True)


def opened(document) -> Envelope:
    envelope = open_envelope(json.dumps(document).encode(), **LIMITS)
    assert isinstance(envelope, Envelope)
    return envelope


def found(document) -> list[tuple[str, str | None]]:
    return [(i.code.code, i.expression) for i in text_issues(opened(document).document)]


def test_a_valid_notification_has_no_text_issues():
    assert found(bundle()) == []


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Anak\u0000Ayu", "TEXT-CONTROL-CHARACTER"),
        ("Anak\u001bAyu", "TEXT-CONTROL-CHARACTER"),
        ("Anak\ud800Ayu", "TEXT-UNPAIRED-SURROGATE"),
        ("Anak\udfffAyu", "TEXT-UNPAIRED-SURROGATE"),
        ("Anak\tAyu", "NAME-CHARACTER-INVALID"),
        ("Anak\nAyu", "NAME-CHARACTER-INVALID"),
        ("Anak\u202eAyu", "NAME-CHARACTER-INVALID"),  # right-to-left override
        ("Anak\u200bAyu", "NAME-CHARACTER-INVALID"),  # zero-width space
        ("Anak\u2028Ayu", "NAME-CHARACTER-INVALID"),  # line separator
        ("Anak\u0085Ayu", "NAME-CHARACTER-INVALID"),  # a C1 control
        ("Anak \U0001f476", "NAME-CHARACTER-INVALID"),  # an emoji
        ("Anak \u20ac", "NAME-CHARACTER-INVALID"),  # a currency sign
        ("A" * (MAX_NAME_CHARS + 1), "NAME-TOO-LONG"),
    ],
)
def test_a_name_is_refused_at_its_element_with_one_code(value, code):
    document = bundle()
    resource(document, NEWBORN)["name"][0]["text"] = value

    assert found(document) == [(code, f"Bundle.entry[{NEWBORN}].resource.name[0].text")]


@pytest.mark.parametrize(
    "value", ["Ayu Lestari", "Ñoño Ümit", "Nguyễn Thị", "Ni Putu Ayu Sri Wahyuni-Dewi", "Ma'ruf A. Rahman", "A" * 100]
)
def test_real_names_pass(value):
    document = bundle()
    resource(document, NEWBORN)["name"][0]["text"] = value

    assert found(document) == []


def test_given_family_and_father_name_parts_are_names_too():
    document = bundle()
    resource(document, NEWBORN)["name"] = [{"family": "Santoso", "given": ["Putri", "Ayu\u202e"]}]
    resource(document, FATHER_LINK)["name"][0]["text"] = "Budi\u00a0\u2029"

    assert found(document) == [
        ("NAME-CHARACTER-INVALID", f"Bundle.entry[{NEWBORN}].resource.name[0].given[1]"),
        ("NAME-CHARACTER-INVALID", f"Bundle.entry[{FATHER_LINK}].resource.name[0].text"),
    ]


def test_tab_and_newline_are_allowed_outside_names_as_fhir_allows():
    document = bundle()
    resource(document, ORGANIZATION)["name"] = "RS Umum\tSintetis\r\nSayap Barat"

    assert found(document) == []


def test_text_rules_apply_to_every_string_and_say_where():
    document = bundle()
    text = json.dumps(document).replace(
        f'"reference": "{resource(document, HEADER)["sender"]["reference"]}"',
        '"reference": "urn:uuid:\\ud800"',
        1,
    )
    document = json.loads(text)
    resource(document, HEADER)["source"]["name"] = "SIMRS\u0000"

    assert found(document) == [
        ("TEXT-CONTROL-CHARACTER", f"Bundle.entry[{HEADER}].resource.source.name"),
        ("TEXT-UNPAIRED-SURROGATE", f"Bundle.entry[{HEADER}].resource.sender.reference"),
    ]


def test_a_bad_key_is_reported_at_the_object_that_holds_it_and_not_echoed():
    document = bundle()
    resource(document, NEWBORN)["secret\u0000key"] = "x"

    assert found(document) == [("TEXT-CONTROL-CHARACTER", f"Bundle.entry[{NEWBORN}].resource")]


def test_numbers_out_of_range_are_reported_where_they_are():
    document = bundle()
    text = json.dumps(document).replace('"multipleBirthInteger": 0', '"multipleBirthInteger": 1' + "0" * 4999)
    text = text.replace('"value": 3200', '"value": 1e999', 1)
    envelope = open_envelope(text.encode(), **LIMITS)
    assert isinstance(envelope, Envelope)

    issues = [(i.code.code, i.expression) for i in text_issues(envelope.document)]

    assert ("NUMBER-OUT-OF-RANGE", f"Bundle.entry[{NEWBORN}].resource.multipleBirthInteger") in issues
    assert ("NUMBER-OUT-OF-RANGE", "Bundle.entry[6].resource.valueQuantity.value") in issues


def test_a_document_full_of_bad_strings_is_told_so_by_its_first_issues():
    document = bundle()
    resource(document, NEWBORN)["alias"] = ["\u0000"] * 10_000

    assert len(found(document)) == MAX_ISSUES


def test_no_issue_echoes_the_value():
    document = bundle()
    resource(document, NEWBORN)["name"][0]["text"] = "Rahasia\u0000Pribadi"

    (issue,) = text_issues(opened(document).document)

    assert "Rahasia" not in f"{issue.expression} {issue.detail}"


def test_the_pipeline_rejects_at_the_text_stage_before_fhir_reads_the_document():
    document = bundle()
    resource(document, NEWBORN)["name"][0]["text"] = "Anak\u0000Ayu"
    resource(document, NEWBORN)["gender"] = 42  # a structural error, of a later stage

    inspection = PIPELINE.inspect(opened(document), NOW)

    assert [(i.code.code, i.expression) for i in inspection.problems] == [
        ("TEXT-CONTROL-CHARACTER", f"Bundle.entry[{NEWBORN}].resource.name[0].text")
    ]


async def test_a_result_lists_at_most_a_hundred_issues_and_stays_small():
    document = bundle()
    resource(document, NEWBORN)["name"] = [1] * 60_000  # sixty thousand structural errors
    envelope = opened(document)

    async with FakeUnitOfWork(FakeState()) as uow:
        content = (await PIPELINE.evaluate(uow, b"", envelope, NOW)).content

    assert len(content.issues) == MAX_RESULT_ISSUES + 1
    assert (content.issues[-1].code.code, content.issues[-1].detail) == ("ISSUES-TRUNCATED", "59900 more")
    assert len(json.dumps(build_result(content, NOW))) < 100_000  # far below the broker's 1 MiB record limit
