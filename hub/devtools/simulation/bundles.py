"""Build birth-notification Bundles as a hospital's SIMRS would send them (contracts/profile.md).

Used by `hub demo`, the contract examples and the tests, so that all three agree with the profile.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hub.intake import vocabulary as v


@dataclass(frozen=True)
class Parent:
    nik: str
    name: str
    birth_date: date | None = None
    kk_number: str | None = None


@dataclass(frozen=True)
class BirthSpec:
    """Everything a notification says; defaults describe a healthy singleton born in hospital."""

    hospital_id: str
    encounter_id: str
    mother: Parent
    child_name: str
    sex: str
    born_at: datetime
    father: Parent | None = None
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    birth_order: int = 0
    plurality: int = 1
    weight_g: float = 3200
    length_cm: float | None = 49.0
    gestational_weeks: float | None = 39.0
    attendant: str = "midwife-or-nurse"
    marriage: str = "married-recorded"
    place_type: str = "1"
    reporter_nik: str | None = None
    witness_niks: tuple[str, ...] | None = None  # two make a valid notification
    stillborn: bool = False
    hospital_name: str = "RS Umum Sintetis"


def build_notification(spec: BirthSpec) -> dict[str, Any]:
    ids = {
        role: str(uuid.uuid5(uuid.UUID(spec.message_id), role))
        for role in (
            "baby",
            "mother",
            "mother-link",
            "father-link",
            "encounter",
            "weight",
            "length",
            "gestation",
            "procedure",
        )
    }
    entries = [
        _entry(_header(spec, ids), spec.message_id),
        _entry(
            {"resourceType": "Organization", "id": spec.hospital_id, "active": True, "name": spec.hospital_name},
            organization_uid(spec.hospital_id),
        ),
        _entry(_newborn(spec, ids), ids["baby"]),
        _entry(_mother(spec, ids), ids["mother"]),
        _entry(_related(ids["mother-link"], ids["baby"], v.MOTHER_ROLE, spec.mother), ids["mother-link"]),
        _entry(_encounter(spec, ids), ids["encounter"]),
        _entry(
            _observation(ids["weight"], ids["baby"], v.BIRTH_WEIGHT, "Birth weight", spec.weight_g, "g"), ids["weight"]
        ),
        _entry(_procedure(spec, ids), ids["procedure"]),
    ]
    if spec.father is not None:
        entries.append(
            _entry(_related(ids["father-link"], ids["baby"], v.FATHER_ROLE, spec.father), ids["father-link"])
        )
    if spec.length_cm is not None:
        entries.append(
            _entry(
                _observation(ids["length"], ids["baby"], v.BIRTH_LENGTH[0], "Birth length", spec.length_cm, "cm"),
                ids["length"],
            )
        )
    if spec.gestational_weeks is not None:
        entries.append(
            _entry(
                _observation(
                    ids["gestation"], ids["baby"], v.GESTATIONAL_AGE, "Gestational age", spec.gestational_weeks, "wk"
                ),
                ids["gestation"],
            )
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(uuid.UUID(spec.message_id), "bundle")),
        "type": "message",
        "timestamp": spec.born_at.isoformat(timespec="seconds"),
        "entry": entries,
    }


def record_key(mother: Parent) -> bytes:
    """The Kafka key a hospital gives the notification (contracts/profile.md section 1): the regency
    of the mother's family card, the first four digits of its number (of her NIK when the card is
    not known). A family's births (twins, siblings) share it, so they stay in order in one
    partition, and a regency's births meet in one partition: hub processes then rarely wait for
    each other's registry writes, which are serialised per regency."""
    return (mother.kk_number or mother.nik)[:4].encode()


def organization_uid(hospital_id: str) -> str:
    """The uuid of a hospital's Organization entry: the same for every notification it sends."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"organization/{hospital_id}"))


def _entry(resource: dict[str, Any], uid: str) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{uid}", "resource": resource}


def _header(spec: BirthSpec, ids: dict[str, str]) -> dict[str, Any]:
    registration = [
        {"url": v.MARRIAGE_STATUS, "valueCode": spec.marriage},
        {"url": v.PLACE_OF_BIRTH_TYPE, "valueCode": spec.place_type},
        {"url": v.REPORTER, "valueIdentifier": {"system": v.NIK, "value": spec.reporter_nik or spec.mother.nik}},
    ]
    witnesses = spec.witness_niks or ()
    registration += [{"url": v.WITNESS, "valueIdentifier": {"system": v.NIK, "value": nik}} for nik in witnesses]
    return {
        "resourceType": "MessageHeader",
        "id": spec.message_id,
        "extension": [{"url": v.BIRTH_REGISTRATION, "extension": registration}],
        "eventCoding": {"system": v.EVENT_SYSTEM, "code": v.BIRTH_NOTIFICATION},
        "source": {"name": "SIMRS", "endpoint": f"urn:hospital:{spec.hospital_id}"},
        # The Organization entry's fullUrl: a relative "Organization/<id>" would not resolve from an
        # entry whose fullUrl is a urn:uuid (FHIR's bundle rules, contracts/profile.md section 3).
        "sender": {"reference": f"urn:uuid:{organization_uid(spec.hospital_id)}"},
        "focus": [{"reference": f"urn:uuid:{ids['encounter']}"}, {"reference": f"urn:uuid:{ids['baby']}"}],
    }


def _newborn(spec: BirthSpec, ids: dict[str, str]) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": ids["baby"],
        "identifier": [{"use": "official", "system": v.NIK_IBU, "value": spec.mother.nik}],
        "active": True,
        "name": [{"use": "official", "text": spec.child_name}],
        "gender": spec.sex,
        "birthDate": spec.born_at.date().isoformat(),
        "_birthDate": {
            "extension": [{"url": v.BIRTH_TIME, "valueDateTime": spec.born_at.isoformat(timespec="seconds")}]
        },
        "multipleBirthInteger": spec.birth_order,
    }
    if spec.birth_order:
        patient["extension"] = [{"url": v.MULTIPLE_BIRTH_TOTAL, "valuePositiveInt": spec.plurality}]
    if spec.stillborn:
        patient["deceasedBoolean"] = True
    return patient


def _mother(spec: BirthSpec, ids: dict[str, str]) -> dict[str, Any]:
    identifiers = [{"use": "official", "system": v.NIK, "value": spec.mother.nik}]
    if spec.mother.kk_number:
        identifiers.append({"use": "official", "system": v.KK, "value": spec.mother.kk_number})
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": ids["mother"],
        "identifier": identifiers,
        "name": [{"use": "official", "text": spec.mother.name}],
        "gender": "female",
    }
    if spec.mother.birth_date:
        patient["birthDate"] = spec.mother.birth_date.isoformat()
    return patient


def _related(uid: str, baby: str, role: str, parent: Parent) -> dict[str, Any]:
    return {
        "resourceType": "RelatedPerson",
        "id": uid,
        "identifier": [{"system": v.NIK, "value": parent.nik}],
        "patient": {"reference": f"urn:uuid:{baby}"},
        "relationship": [{"coding": [{"system": v.ROLE_CODE, "code": role}]}],
        "name": [{"text": parent.name}],
    }


def _encounter(spec: BirthSpec, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": ids["encounter"],
        "identifier": [
            {"system": f"http://sys-ids.kemkes.go.id/encounter/{spec.hospital_id}", "value": spec.encounter_id}
        ],
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter",
        },
        "subject": {"reference": f"urn:uuid:{ids['mother']}"},
        "serviceProvider": {"reference": f"urn:uuid:{organization_uid(spec.hospital_id)}"},
    }


def _observation(uid: str, baby: str, code: str, display: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": uid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": v.LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"urn:uuid:{baby}"},
        "valueQuantity": {"value": value, "unit": unit, "system": v.UCUM, "code": unit},
    }


def _procedure(spec: BirthSpec, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": ids["procedure"],
        "status": "completed",
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "236973005", "display": "Delivery procedure"}]
        },
        "subject": {"reference": f"urn:uuid:{ids['mother']}"},
        "encounter": {"reference": f"urn:uuid:{ids['encounter']}"},
        "performer": [
            {
                "function": {"coding": [{"system": v.ATTENDANT_SYSTEM, "code": spec.attendant}]},
                "actor": {
                    "reference": f"Practitioner/N{uuid.uuid5(uuid.NAMESPACE_URL, spec.hospital_id).int % 10**8:08d}",
                    "display": "Attendant",
                },
            }
        ],
    }
