"""The birth-notification profile rules (hub/intake/profile.py and the readers it uses)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from hub.devtools.simulation.bundles import Parent, build_notification
from hub.domain.codes import Severity
from hub.domain.values import Attendant, MarriageStatus, PlaceType, Sex
from hub.intake import vocabulary as v
from hub.intake.profile import read_notice
from tests.unit.builders import (
    BORN_AT,
    ENCOUNTER,
    FATHER_LINK,
    HEADER,
    MOTHER,
    MOTHER_LINK,
    NEWBORN,
    NOW,
    PROCEDURE,
    WEIGHT,
    WITNESS_KECAMATAN,
    birth_time,
    bundle,
    nik,
    put,
    registration,
    resource,
    spec,
    twins,
    unchanged,
)

H = "Bundle.entry[0].resource"
BABY = "Bundle.entry[2].resource"
BIRTH_TIME = f"{BABY}.birthDate.extension('{v.BIRTH_TIME}').value"
REG = f"{H}.extension[0]"
W = "Bundle.entry[6].resource.valueQuantity"  # the weight Observation
M = "Bundle.entry[3].resource"  # the mother Patient
E = "Bundle.entry[5].resource"  # the Encounter
P = f"Bundle.entry[{PROCEDURE}].resource"  # the delivery Procedure
L = "Bundle.entry[9].resource.valueQuantity"  # the length Observation (entry 9 when there is a father)


def read(document, *, now=NOW, strict_nik=True, region_known=lambda code: True):
    return read_notice(document, now=now, strict_nik=strict_nik, region_known=region_known)


def found(result) -> list[tuple[str, str | None]]:
    return [(issue.code.code, issue.expression) for issue in result.issues]


def rejected(document, **options) -> list[tuple[str, str | None]]:
    result = read(document, **options)
    assert result.notice is None
    return found(result)


def test_valid_bundle_gives_the_notice():
    birth = spec()
    result = read(build_notification(birth))

    notice = result.notice
    assert result.issues == []
    assert (notice.message_id, notice.hospital_id, notice.encounter_id) == (
        birth.message_id,
        birth.hospital_id,
        birth.encounter_id,
    )
    assert (notice.mother_nik, notice.kk_number, notice.mother_name, notice.mother_birth_date) == (
        birth.mother.nik,
        birth.mother.kk_number,
        "Siti Rahayu",
        date(1995, 3, 12),
    )
    assert (notice.father_nik, notice.father_name) == (birth.father.nik, "Budi Santoso")
    assert (notice.child_name, notice.sex, notice.born_at, notice.birth_date) == (
        "Putri Ayu Santoso",
        Sex.FEMALE,
        BORN_AT,
        date(2024, 3, 10),
    )
    assert (notice.birth_order, notice.plurality, notice.stillborn) == (0, 1, False)
    assert (notice.weight_g, notice.length_cm, notice.gestational_weeks) == (3200, 49.0, 39.0)
    assert (notice.attendant, notice.place_type, notice.marriage) == (
        Attendant.MIDWIFE_OR_NURSE,
        PlaceType.HOSPITAL_OR_CLINIC,
        MarriageStatus.MARRIED_RECORDED,
    )
    assert (notice.reporter_nik, notice.witness_niks) == (birth.mother.nik, birth.witness_niks)
    assert result.roles == {
        "newborn": BABY,
        "mother": "Bundle.entry[3].resource",
        "father": "Bundle.entry[8].resource",
        "encounter": "Bundle.entry[5].resource",
    }


def test_twin_and_stillbirth_are_carried():
    notice = read(bundle(birth_order=2, plurality=2, stillborn=True, weight_g=250)).notice

    assert (notice.birth_order, notice.plurality, notice.stillborn, notice.weight_g) == (2, 2, True, 250)


KG = {"value": 3.2, "unit": "kg", "system": v.UCUM, "code": "kg"}
SENT_TO_PATIENT = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}
CASES = [
    # MessageHeader (2.1)
    ("message-id-not-uuid", {}, put(HEADER, "msg-0001", "id"), "MESSAGE-ID-INVALID", f"{H}.id"),
    (
        "event-other-code",
        {},
        put(HEADER, "death-notification", "eventCoding", "code"),
        "EVENT-CODE-UNKNOWN",
        f"{H}.eventCoding",
    ),
    (
        "event-other-system",
        {},
        put(HEADER, "http://example.org/ev", "eventCoding", "system"),
        "EVENT-CODE-UNKNOWN",
        f"{H}.eventCoding",
    ),
    (
        "sender-outside-the-bundle-but-another-encounter-provider",
        {},
        put(HEADER, "Organization/999999", "sender", "reference"),
        "REFERENCE-UNRESOLVED",
        f"{E}.serviceProvider",
    ),
    (
        "sender-relative-from-a-urn-entry",
        {},
        lambda d: put(HEADER, f"Organization/{resource(d, 1)['id']}", "sender", "reference")(d),
        "REFERENCE-UNRESOLVED",
        f"{H}.sender",
    ),
    ("sender-dangling-urn", {}, put(HEADER, SENT_TO_PATIENT, "sender"), "REFERENCE-UNRESOLVED", f"{H}.sender"),
    ("sender-missing", {}, put(HEADER, None, "sender"), "ELEMENT-MISSING", f"{H}.sender"),
    ("registration-missing", {}, put(HEADER, None, "extension"), "REGISTRATION-DATA-MISSING", f"{H}.extension"),
    ("marriage-unknown", {"marriage": "siri"}, unchanged, "CODE-UNKNOWN", f"{REG}.extension[0]"),
    ("place-type-unknown", {"place_type": "6"}, unchanged, "CODE-UNKNOWN", f"{REG}.extension[1]"),
    ("reporter-missing", {}, lambda d: registration(d).pop(2), "REPORTER-REQUIRED", f"{REG}.extension"),
    (
        "reporter-not-nik",
        {},
        lambda d: registration(d)[2]["valueIdentifier"].update(system=v.NIK_IBU),
        "REPORTER-REQUIRED",
        f"{REG}.extension[2]",
    ),
    (
        "reporter-nik-invalid",
        {"reporter_nik": "12345"},
        unchanged,
        "NIK-INVALID",
        f"{REG}.extension[2].valueIdentifier.value",
    ),
    ("witness-one", {"witness_niks": ("3273024101810999",)}, unchanged, "WITNESSES-REQUIRED", f"{REG}.extension"),
    ("witness-same", {"witness_niks": ("3273024101810999",) * 2}, unchanged, "WITNESSES-REQUIRED", f"{REG}.extension"),
    ("witness-none", {"witness_niks": ()}, unchanged, "WITNESSES-REQUIRED", f"{REG}.extension"),
    (
        "witness-three",
        {"witness_niks": ("3273024101810997", "3273024101810998", "3273024101810999")},
        unchanged,
        "WITNESSES-REQUIRED",
        f"{REG}.extension",
    ),
    ("father-missing", {"father": None}, unchanged, "FATHER-REQUIRED", "Bundle.entry"),
    (
        "father-without-nik",
        {},
        put(FATHER_LINK, None, "identifier"),
        "FATHER-REQUIRED",
        "Bundle.entry[8].resource.identifier",
    ),
    # the mother (2.4)
    (
        "kk-invalid",
        {},
        put(MOTHER, "0073010501190003", "identifier", 1, "value"),
        "KK-INVALID",
        f"{M}.identifier[1].value",
    ),
    ("kk-missing", {}, lambda d: resource(d, MOTHER)["identifier"].pop(1), "ELEMENT-MISSING", f"{M}.identifier"),
    ("mother-name-missing", {}, put(MOTHER, None, "name"), "ELEMENT-MISSING", f"{M}.name"),
    # the newborn (2.3)
    (
        "nik-ibu-differs",
        {},
        put(NEWBORN, "3273015203950999", "identifier", 0, "value"),
        "NIK-INVALID",
        f"{BABY}.identifier[0].value",
    ),
    ("placeholder-bayi-ny", {"child_name": "Bayi Ny. Siti"}, unchanged, "NEWBORN-NAME-PLACEHOLDER", f"{BABY}.name"),
    ("placeholder-by-ny", {"child_name": "By. Ny Siti"}, unchanged, "NEWBORN-NAME-PLACEHOLDER", f"{BABY}.name"),
    (
        "placeholder-nyonya",
        {"child_name": "bayi nyonya Siti Rahayu"},
        unchanged,
        "NEWBORN-NAME-PLACEHOLDER",
        f"{BABY}.name",
    ),
    ("gender-unknown", {"sex": "unknown"}, unchanged, "NEWBORN-GENDER-UNSUPPORTED", f"{BABY}.gender"),
    ("gender-other", {"sex": "other"}, unchanged, "NEWBORN-GENDER-UNSUPPORTED", f"{BABY}.gender"),
    ("birth-time-missing", {}, put(NEWBORN, None, "_birthDate"), "BIRTH-TIME-MISSING", f"{BABY}.birthDate.extension"),
    ("birth-time-ist", {}, birth_time("2024-03-10T08:30:00+05:30"), "BIRTH-TIME-OFFSET", BIRTH_TIME),
    ("birth-time-utc", {}, birth_time("2024-03-10T01:30:00Z"), "BIRTH-TIME-OFFSET", BIRTH_TIME),
    ("birth-time-no-offset", {}, birth_time("2024-03-10T08:30:00"), "BIRTH-TIME-OFFSET", BIRTH_TIME),
    ("birth-time-date-only", {}, birth_time("2024-03-10"), "BIRTH-TIME-INVALID", BIRTH_TIME),
    ("birth-time-partial", {}, birth_time("2024-03"), "BIRTH-TIME-INVALID", BIRTH_TIME),
    ("birth-time-a-number", {}, birth_time(-1), "BIRTH-TIME-INVALID", BIRTH_TIME),  # fhir.resources lets it pass
    (
        "birth-time-empty-extension",
        {},
        put(NEWBORN, [], "_birthDate", "extension"),
        "BIRTH-TIME-MISSING",
        f"{BABY}.birthDate.extension",
    ),
    ("birth-date-mismatch", {}, put(NEWBORN, "2024-03-09", "birthDate"), "BIRTH-DATE-MISMATCH", f"{BABY}.birthDate"),
    ("twin-without-total", {}, twins(1, None), "BIRTH-ORDER-INVALID", f"{BABY}.multipleBirthInteger"),
    ("order-above-total", {}, twins(3, 2), "BIRTH-ORDER-INVALID", f"{BABY}.multipleBirthInteger"),
    ("twin-total-one", {}, twins(1, 1), "BIRTH-ORDER-INVALID", f"{BABY}.multipleBirthInteger"),
    ("singleton-with-total", {}, twins(0, 2), "BIRTH-ORDER-INVALID", f"{BABY}.multipleBirthInteger"),
    ("negative-order", {}, twins(-1, 2), "BIRTH-ORDER-INVALID", f"{BABY}.multipleBirthInteger"),
    (
        "multiple-birth-boolean",
        {},
        lambda d: resource(d, NEWBORN).update(multipleBirthBoolean=True),
        "BIRTH-ORDER-INVALID",
        f"{BABY}.multipleBirthBoolean",
    ),
    (
        "newborn-with-own-nik",
        {},
        lambda d: resource(d, NEWBORN)["identifier"].append({"system": v.NIK, "value": "3273015003240999"}),
        "NEWBORN-NIK-PRESENT",
        f"{BABY}.identifier[1]",
    ),
    # measurements (2.7) and the delivery (2.6, 2.8)
    ("weight-in-kg", {}, put(WEIGHT, KG, "valueQuantity"), "BIRTH-WEIGHT-UNIT", f"{W}.code"),
    ("weight-without-ucum", {}, put(WEIGHT, None, "valueQuantity", "system"), "BIRTH-WEIGHT-UNIT", f"{W}.code"),
    ("weight-without-value", {}, put(WEIGHT, None, "valueQuantity"), "BIRTH-WEIGHT-MISSING", f"{W}"),
    ("weight-value-missing", {}, put(WEIGHT, None, "valueQuantity", "value"), "BIRTH-WEIGHT-MISSING", f"{W}"),
    ("weight-299g", {"weight_g": 299}, unchanged, "BIRTH-WEIGHT-IMPLAUSIBLE", f"{W}.value"),
    ("weight-7001g", {"weight_g": 7001}, unchanged, "BIRTH-WEIGHT-IMPLAUSIBLE", f"{W}.value"),
    ("stillborn-99g", {"weight_g": 99, "stillborn": True}, unchanged, "BIRTH-WEIGHT-IMPLAUSIBLE", f"{W}.value"),
    ("length-19cm", {"length_cm": 19}, unchanged, "BIRTH-LENGTH-IMPLAUSIBLE", f"{L}.value"),
    ("length-66cm", {"length_cm": 66}, unchanged, "BIRTH-LENGTH-IMPLAUSIBLE", f"{L}.value"),
    (
        "gestation-50wk",
        {"gestational_weeks": 50},
        unchanged,
        "GESTATIONAL-AGE-IMPLAUSIBLE",
        "Bundle.entry[10].resource.valueQuantity.value",
    ),
    ("attendant-unknown", {"attendant": "dukun"}, unchanged, "CODE-UNKNOWN", f"{P}.performer[0].function"),
    ("performer-missing", {}, put(PROCEDURE, None, "performer"), "ELEMENT-MISSING", f"{P}.performer"),
    ("encounter-number-missing", {}, put(ENCOUNTER, None, "identifier"), "ELEMENT-MISSING", f"{E}.identifier"),
    (
        "encounter-of-another-hospital",
        {},
        put(ENCOUNTER, "Organization/1035780009", "serviceProvider", "reference"),
        "REFERENCE-UNRESOLVED",
        f"{E}.serviceProvider",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "mutate", "code", "path"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_each_rule_reports_its_code_at_its_path(overrides, mutate, code, path):
    document = bundle(**overrides)
    mutate(document)

    assert rejected(document) == [(code, path)]


@pytest.mark.parametrize(("kept", "missing"), [(0, "the newborn Patient"), (1, "the delivery Encounter")])
def test_newborn_and_encounter_must_be_in_focus(kept, missing):
    document = bundle()
    header = resource(document, HEADER)
    header["focus"] = [header["focus"][kept]]

    result = read(document)

    assert result.notice is None
    assert [(i.code.code, i.expression, i.detail) for i in result.issues] == [
        ("RESOURCE-MISSING", f"{H}.focus", missing)
    ]


def test_focus_that_does_not_resolve_is_located():
    document = bundle()
    resource(document, HEADER)["focus"].append(SENT_TO_PATIENT)

    assert rejected(document) == [("REFERENCE-UNRESOLVED", f"{H}.focus[2]")]


@pytest.mark.parametrize(
    ("mutate", "code", "missing"),
    [
        (put(MOTHER_LINK, "GRMTH", "relationship", 0, "coding", 0, "code"), "MOTHER-LINK-MISSING", "MTH"),
        (put(MOTHER_LINK, SENT_TO_PATIENT, "patient"), "MOTHER-LINK-MISSING", "MTH"),  # an MTH of someone else
        (lambda d: d["entry"].pop(WEIGHT), "BIRTH-WEIGHT-MISSING", "8339-4"),
        (lambda d: resource(d, WEIGHT)["code"]["coding"][0].update(code="29463-7"), "BIRTH-WEIGHT-MISSING", "8339-4"),
        (lambda d: resource(d, MOTHER)["identifier"].pop(0), "MOTHER-MISSING", v.NIK),
        (put(MOTHER, v.NIK_IBU, "identifier", 0, "system"), "MOTHER-MISSING", v.NIK),  # her NIK under another system
        (lambda d: d["entry"].pop(PROCEDURE), "RESOURCE-MISSING", "Procedure"),
    ],
)
def test_required_resources_missing_from_the_bundle_say_which(mutate, code, missing):
    document = bundle()
    mutate(document)

    result = read(document)

    assert found(result) == [(code, "Bundle.entry")] and missing in result.issues[0].detail
    assert result.notice is None


def test_a_missing_procedure_is_still_reported_when_the_mother_is_missing():
    document = bundle()
    resource(document, MOTHER)["identifier"].pop(0)
    document["entry"].pop(PROCEDURE)

    assert rejected(document) == [("MOTHER-MISSING", "Bundle.entry"), ("RESOURCE-MISSING", "Bundle.entry")]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("32730152039500", "must be 16 digits"),
        ("3273015203950000", "serial-zero"),
        ("3273015213950001", "birth-date"),
        ("3200015203950001", "region-zero"),
    ],
)
def test_mother_nik_must_be_valid(value, reason):
    document = bundle()
    resource(document, MOTHER)["identifier"][0]["value"] = value

    result = read(document)

    assert result.notice is None
    assert [(i.code.code, i.expression, i.detail) for i in result.issues] == [
        ("NIK-INVALID", f"{M}.identifier[0].value", reason)
    ]


@pytest.mark.parametrize("name", ["Bayu Nyoman Santoso", "Nyoman Bayi", "Byanca Putri"])
def test_real_names_are_not_placeholders(name):
    assert read(bundle(child_name=name)).notice.child_name == name


@pytest.mark.parametrize("value", ["2024-03-10T09:30:00+08:00", "2024-03-10T10:30:00+09:00"])
def test_wita_and_wit_offsets_are_accepted(value):
    document = bundle()
    resource(document, NEWBORN)["_birthDate"]["extension"][0]["valueDateTime"] = value

    assert read(document).notice.born_at.isoformat() == value


def test_just_after_midnight_wib_the_local_date_is_the_birth_date():
    born = BORN_AT.replace(hour=0, minute=30)  # still 9 March in UTC

    assert read(bundle(born_at=born)).notice.birth_date == date(2024, 3, 10)


@pytest.mark.parametrize(
    ("now", "code"),
    [(BORN_AT - timedelta(minutes=6), "BIRTH-IN-FUTURE"), (BORN_AT + timedelta(days=367), "BIRTH-TOO-OLD")],
)
def test_birth_time_must_be_plausible(now, code):
    assert rejected(bundle(), now=now) == [(code, BIRTH_TIME)]


def test_clock_skew_of_a_few_minutes_is_tolerated():
    assert read(bundle(), now=BORN_AT - timedelta(minutes=4)).notice is not None


@pytest.mark.parametrize(("code", "attendant"), [("doctor", Attendant.DOCTOR), ("traditional", Attendant.TRADITIONAL)])
def test_attendant_codes_of_form_f201(code, attendant):
    assert read(bundle(attendant=code)).notice.attendant is attendant


@pytest.mark.parametrize("marriage", ["married-unrecorded", "not-married", "parents-unknown"])
def test_other_marriage_statuses_do_not_require_the_father(marriage):
    assert read(bundle(father=None, marriage=marriage)).notice.father_nik is None


def test_unknown_region_is_a_warning_and_the_notice_is_produced():
    seen = []

    def region_known(code):
        seen.append(code)
        return code != WITNESS_KECAMATAN

    result = read(bundle(), region_known=region_known)

    assert result.notice is not None
    assert found(result) == [
        ("NIK-REGION-UNKNOWN", f"{REG}.extension[3].valueIdentifier.value"),
        ("NIK-REGION-UNKNOWN", f"{REG}.extension[4].valueIdentifier.value"),
    ]
    assert all(issue.effective_severity is Severity.WARNING for issue in result.issues)
    assert set(seen) == {"327301", WITNESS_KECAMATAN}


def test_mothers_corrected_birth_date_is_a_warning():
    document = bundle()
    resource(document, MOTHER)["birthDate"] = "1995-03-13"

    result = read(document)

    assert result.notice is not None
    assert found(result) == [("NIK-DATE-MISMATCH", f"{M}.identifier[0].value")]


def test_strict_nik_off_accepts_a_nik_with_an_impossible_date():
    sandbox_nik = "3273015213950001"  # month 13, as in SATUSEHAT's sandbox
    document = bundle(mother=Parent(sandbox_nik, "Siti Rahayu", date(1995, 3, 12), "3273010501190003"))

    assert read(document, strict_nik=True).notice is None
    assert read(document, strict_nik=False).notice.mother_nik == sandbox_nik


def test_nik_of_29_february_2000_with_a_corrected_birth_date_is_only_a_warning():
    document = bundle(mother=Parent("3273016902000001", "Siti Rahayu", date(1999, 12, 31), "3273010501190003"))

    assert found(read(document)) == [("NIK-DATE-MISMATCH", f"{M}.identifier[0].value")]


def test_every_violation_is_reported_not_only_the_first():
    document = bundle(child_name="Bayi Ny. Siti", witness_niks=(nik(WITNESS_KECAMATAN),))
    resource(document, WEIGHT)["valueQuantity"] = KG

    assert sorted(rejected(document)) == sorted(
        [
            ("NEWBORN-NAME-PLACEHOLDER", f"{BABY}.name"),
            ("BIRTH-WEIGHT-UNIT", f"{W}.code"),
            ("WITNESSES-REQUIRED", f"{REG}.extension"),
        ]
    )


def test_missing_father_is_reported_with_other_registration_problems():
    document = bundle(father=None, witness_niks=(nik(WITNESS_KECAMATAN),))

    assert sorted(rejected(document)) == [
        ("FATHER-REQUIRED", "Bundle.entry"),
        ("WITNESSES-REQUIRED", f"{REG}.extension"),
    ]


def test_a_sender_on_the_national_server_is_the_hospital_when_no_entry_claims_it():
    """SATUSEHAT style: no Organization entry; `Organization/<id>` points outside the Bundle."""
    document = bundle()
    organisation = resource(document, 1)
    document["entry"].pop(1)
    for index, entry in enumerate(document["entry"]):
        if entry["resource"]["resourceType"] == "MessageHeader":
            entry["resource"]["sender"] = {"reference": f"Organization/{organisation['id']}"}
        if entry["resource"]["resourceType"] == "Encounter":
            document["entry"][index]["resource"]["serviceProvider"] = {
                "reference": f"Organization/{organisation['id']}"
            }

    result = read(document)

    assert not [issue for issue in result.issues if issue.blocks]
    assert result.notice is not None and result.notice.hospital_id == organisation["id"]


def test_relative_references_resolve_between_restful_full_urls_of_one_base():
    document = bundle()
    relative = {}
    for entry in document["entry"]:
        kind, ident = entry["resource"]["resourceType"], entry["resource"]["id"]
        relative[entry["fullUrl"]] = f"{kind}/{ident}"
        entry["fullUrl"] = f"https://simrs.example/fhir/{kind}/{ident}"
    text = json.dumps(document)
    for urn, type_and_id in relative.items():
        text = text.replace(f'"reference": "{urn}"', f'"reference": "{type_and_id}"')

    result = read(json.loads(text))

    assert not [issue for issue in result.issues if issue.blocks]
    assert result.notice is not None


def test_a_relative_reference_that_fhir_does_not_resolve_says_how_to_fix_it():
    document = bundle()
    resource(document, HEADER)["sender"] = {"reference": f"Organization/{resource(document, 1)['id']}"}

    (issue,) = [i for i in read(document).issues if i.blocks]

    assert issue.code.code == "REFERENCE-UNRESOLVED" and "fullUrl" in (issue.detail or "")
