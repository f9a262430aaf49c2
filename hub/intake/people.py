"""Rules for the people in a notification: mother, father, reporter and witnesses.

Parents' NIKs were issued long ago: a birth date or region in the NIK that disagrees with today's
data is a warning, not an error (the NIK never changes, regions split). The structure itself must
hold, unless strict NIK checks are switched off (SATUSEHAT's sandbox NIKs break the date rule).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.numbers import InvalidNumber, is_kk_number, parse_nik
from hub.intake import vocabulary as v
from hub.intake.bundle_view import Located
from hub.intake.elements import Json, display_name, identifier_value


class PeopleRules:
    def __init__(self, strict_nik: bool, region_known: Callable[[str], bool]) -> None:
        self.strict_nik = strict_nik
        self.region_known = region_known
        self.issues: list[Issue] = []

    def nik(self, value: str, where: str, today: date, birth_date: date | None = None) -> bool:
        """Check an adult's NIK; True when it may be used."""
        if not (len(value) == 16 and value.isascii() and value.isdigit()):
            self.issues.append(Issue(codes.NIK_INVALID, where, "must be 16 digits"))
            return False
        if not self.strict_nik:
            return True
        try:
            parts = _parse_adult_nik(value, birth_date, today)
        except InvalidNumber as exc:
            self.issues.append(Issue(codes.NIK_INVALID, where, exc.reason))
            return False
        if not self.region_known(parts.kecamatan):
            self.issues.append(Issue(codes.NIK_REGION_UNKNOWN, where))
        if birth_date is not None and parts.birth_date != birth_date:
            self.issues.append(Issue(codes.NIK_DATE_MISMATCH, where))
        return True

    def mother(self, mother: Located, today: date) -> dict | None:
        resource = mother.resource
        nik_index, nik = identifier_value(resource, v.NIK) or (None, None)
        kk = identifier_value(resource, v.KK)
        name = display_name(resource)
        birth_date = _date(resource.get("birthDate"))
        usable = nik is not None and self.nik(nik, mother.at(f"identifier[{nik_index}].value"), today, birth_date)
        if kk is None:
            self.issues.append(
                Issue(codes.ELEMENT_MISSING, mother.at("identifier"), f"the family card number ({v.KK})")
            )
        elif not is_kk_number(kk[1]):
            self.issues.append(Issue(codes.KK_INVALID, mother.at(f"identifier[{kk[0]}].value")))
            kk = None
        if name is None:
            self.issues.append(Issue(codes.ELEMENT_MISSING, mother.at("name")))
        if not usable or kk is None or name is None:
            return None
        return {"nik": nik, "kk": kk[1], "name": name, "birth_date": birth_date}

    def father(self, father: Located, today: date) -> dict | None:
        resource = father.resource
        found = identifier_value(resource, v.NIK)
        if found is None:
            return None  # a father without a NIK: the marriage rule decides whether that is enough
        index, nik = found
        if not self.nik(nik, father.at(f"identifier[{index}].value"), today, _date(resource.get("birthDate"))):
            return None
        return {"nik": nik, "name": display_name(resource)}


def _parse_adult_nik(value: str, birth_date: date | None, today: date):
    """Read the NIK's century from the stated birth date; if that makes no date (a corrected birth
    date across a century, 29 February), from today: a NIK that disagrees is a warning, not an error."""
    try:
        return parse_nik(value, born_in_century_of=birth_date or today)
    except InvalidNumber as exc:
        if exc.reason != "birth-date" or birth_date is None:
            raise
        return parse_nik(value, born_in_century_of=today)


def _date(value: object) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None  # partial dates (YYYY, YYYY-MM) are valid FHIR but say nothing to compare
    return date.fromisoformat(value)


def family_cards(document: Json) -> set[str]:
    """The family card numbers (16 digits) the Bundle's Patients carry: where its registration will
    write, read before validation to reserve them (a guess the registry does not rely on: a card
    it does not hold reserves nothing)."""
    found = set()
    for entry in document.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
            continue
        for identifier in resource.get("identifier") or ():
            if not isinstance(identifier, dict) or identifier.get("system") != v.KK:
                continue
            value = identifier.get("value")
            if isinstance(value, str) and len(value) == 16 and value.isascii() and value.isdigit():
                found.add(value)
    return found
