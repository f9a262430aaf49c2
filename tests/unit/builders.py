"""Synthetic test data for the unit tests: NIKs, KK numbers, notification bundles, notices, facts.

Every call makes new numbers (a process-wide serial counter), so tests never share a person.
Region codes are real-looking Kemendagri kecamatan codes (327301 = a kecamatan of Kota Bandung);
the people are invented.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hub.devtools.simulation.bundles import BirthSpec, Parent, build_notification
from hub.domain.decision import RegistryFacts
from hub.domain.numbers import kk_prefix, nik_prefix, with_serial
from hub.domain.values import (
    Attendant,
    BirthNotice,
    Family,
    FamilyMember,
    Hospital,
    MarriageStatus,
    Person,
    PlaceType,
    RegisteredBirth,
    Relationship,
    Sex,
)
from hub.intake import vocabulary as v

WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
KECAMATAN = "327301"
WITNESS_KECAMATAN = "327302"
MOTHER_BORN = date(1995, 3, 12)
FATHER_BORN = date(1992, 5, 1)
BORN_AT = datetime(2024, 3, 10, 8, 30, tzinfo=WIB)
NOW = BORN_AT + timedelta(days=1)

# Entry positions of build_notification with a father (see hub/devtools/simulation/bundles.py).
HEADER, ORGANIZATION, NEWBORN, MOTHER, MOTHER_LINK, ENCOUNTER, WEIGHT, PROCEDURE, FATHER_LINK = range(9)

_serials = itertools.count(1)


def nik(kecamatan: str = KECAMATAN, born: date = MOTHER_BORN, sex: Sex = Sex.FEMALE) -> str:
    """A structurally valid, never-before-used synthetic NIK."""
    return with_serial(nik_prefix(kecamatan, born, sex), next(_serials) % 9999 + 1)


def kk(kecamatan: str = KECAMATAN, recorded_on: date = date(2019, 1, 5)) -> str:
    return with_serial(kk_prefix(kecamatan, recorded_on), next(_serials) % 9999 + 1)


def spec(**overrides: Any) -> BirthSpec:
    """A healthy singleton of married-recorded parents, with father, reporter and two witnesses."""
    values: dict[str, Any] = dict(
        hospital_id=f"10327300{next(_serials) % 100:02d}",
        encounter_id=f"ENC-{uuid.uuid4().hex[:10]}",
        mother=Parent(nik(), "Siti Rahayu", MOTHER_BORN, kk()),
        father=Parent(nik(born=FATHER_BORN, sex=Sex.MALE), "Budi Santoso", FATHER_BORN),
        child_name="Putri Ayu Santoso",
        sex="female",
        born_at=BORN_AT,
        witness_niks=(
            nik(WITNESS_KECAMATAN, date(1980, 1, 1), Sex.MALE),
            nik(WITNESS_KECAMATAN, date(1981, 2, 2), Sex.FEMALE),
        ),
    )
    values.update(overrides)
    return BirthSpec(**values)


def bundle(**overrides: Any) -> dict[str, Any]:
    return build_notification(spec(**overrides))


def resource(document: dict[str, Any], index: int) -> dict[str, Any]:
    return document["entry"][index]["resource"]


def registration(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The sub-extensions of the birth-registration extension on the MessageHeader."""
    return resource(document, HEADER)["extension"][0]["extension"]


def observation_index(document: dict[str, Any], loinc: str) -> int:
    for index, entry in enumerate(document["entry"]):
        found = entry["resource"]
        if found["resourceType"] == "Observation" and found["code"]["coding"][0]["code"] == loinc:
            return index
    raise LookupError(loinc)


def notice(**overrides: Any) -> BirthNotice:
    values: dict[str, Any] = dict(
        message_id=str(uuid.uuid4()),
        hospital_id="1032730001",
        encounter_id=f"ENC-{uuid.uuid4().hex[:10]}",
        mother_nik=nik(),
        kk_number=kk(),
        mother_name="Siti Rahayu",
        mother_birth_date=MOTHER_BORN,
        child_name="Putri Ayu Santoso",
        sex=Sex.FEMALE,
        born_at=BORN_AT,
        birth_order=0,
        plurality=1,
        weight_g=3200,
        length_cm=49.0,
        gestational_weeks=39.0,
        attendant=Attendant.MIDWIFE_OR_NURSE,
        place_type=PlaceType.HOSPITAL_OR_CLINIC,
        marriage=MarriageStatus.MARRIED_RECORDED,
        reporter_nik=nik(WITNESS_KECAMATAN),
        witness_niks=(nik(WITNESS_KECAMATAN), nik(WITNESS_KECAMATAN)),
    )
    values.update(overrides)
    return BirthNotice(**values)


def facts(of: BirthNotice, **overrides: Any) -> RegistryFacts:
    """Registry facts under which `of` is registered without question."""
    mother = Person(of.mother_nik, of.mother_name, Sex.FEMALE, of.mother_birth_date or MOTHER_BORN, of.kk_number)
    member = FamilyMember(mother.nik, mother.name, Sex.FEMALE, mother.birth_date, Relationship.WIFE)
    values: dict[str, Any] = dict(
        hospital=Hospital(of.hospital_id, "RS Umum Sintetis", KECAMATAN[:4], active=True),
        mother=mother,
        family=Family(of.kk_number, KECAMATAN, version=3, members=(member,)),
    )
    values.update(overrides)
    return RegistryFacts(**values)


def registered(of: BirthNotice, **overrides: Any) -> RegisteredBirth:
    """A birth already in the registry; by default the same birth as `of`."""
    values: dict[str, Any] = dict(
        message_id=str(uuid.uuid4()),
        hospital_id=of.hospital_id,
        encounter_id=of.encounter_id,
        birth_order=of.birth_order,
        mother_nik=of.mother_nik,
        born_at=of.born_at,
        child_nik=nik(KECAMATAN, of.birth_date, of.sex),
        akta_number="3273-LU-11032024-0001",
        kk_number=of.kk_number,
        kk_version=4,
    )
    values.update(overrides)
    return RegisteredBirth(**values)


# Mutations of a built bundle, for the invalid cases: each returns a function of the document.

Mutation = Callable[[dict[str, Any]], None]


def put(index: int, value: Any, *keys: str | int) -> Mutation:
    """Set resource(index)[k1][k2]... to `value`; None deletes the element."""

    def mutate(document: dict[str, Any]) -> None:
        target = resource(document, index)
        for key in keys[:-1]:
            target = target[key]
        if value is None:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value

    return mutate


def twins(order: int, total: int | None) -> Mutation:
    """Set the newborn's multipleBirthInteger and its multiple-birth-total extension (None: no extension)."""

    def mutate(document: dict[str, Any]) -> None:
        newborn = resource(document, NEWBORN)
        newborn["multipleBirthInteger"] = order
        newborn["extension"] = [] if total is None else [{"url": v.MULTIPLE_BIRTH_TOTAL, "valuePositiveInt": total}]

    return mutate


def birth_time(value: str) -> Mutation:
    return put(NEWBORN, value, "_birthDate", "extension", 0, "valueDateTime")


def unchanged(document: dict[str, Any]) -> None:
    """No mutation: the case is made by the BirthSpec overrides alone."""
