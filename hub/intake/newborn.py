"""Rules for the newborn Patient: name, sex, time of birth, birth order, stillbirth."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.values import Sex
from hub.intake import vocabulary as v
from hub.intake.bundle_view import Located
from hub.intake.elements import display_name, extension, identifier_value

FUTURE_TOLERANCE = timedelta(minutes=5)
OLDEST_NOTIFICATION = timedelta(days=366)
# The ward's placeholders until the parents choose a name: "Bayi Ny. Siti", "By. Ny Siti", "Bayi Siti",
# "An. Ny. Siti", "Bayi Nyonya ...": a first word meaning baby/child-of, or "Ny."/"Nyonya" up front.
_PLACEHOLDER = re.compile(
    r"^\s*((bayi|by\.?|bb\.?)\s|(an|anak)\.?\s+(ny|nyonya|nn|nona)\b|(ny|nyonya)\.?\s)", re.IGNORECASE
)


def read_newborn(newborn: Located, now: datetime, mother: dict | None) -> tuple[dict | None, list[Issue]]:
    resource, issues = newborn.resource, []
    name = display_name(resource)
    if name is None:
        issues.append(Issue(codes.ELEMENT_MISSING, newborn.at("name")))
    elif _PLACEHOLDER.match(name):
        issues.append(Issue(codes.NAME_PLACEHOLDER, newborn.at("name")))
    sex = _sex(resource.get("gender"), newborn, issues)
    born_at = _birth_time(newborn, now, issues)
    order, plurality = _birth_order(newborn, issues)
    _mother_link(newborn, mother, issues)
    if name is None or sex is None or born_at is None or order is None:
        return None, issues
    child = {
        "name": name,
        "sex": sex,
        "born_at": born_at,
        "order": order,
        "plurality": plurality,
        "stillborn": resource.get("deceasedBoolean") is True,
    }
    return child, issues


def _sex(gender: object, newborn: Located, issues: list[Issue]) -> Sex | None:
    if gender is None:
        issues.append(Issue(codes.ELEMENT_MISSING, newborn.at("gender")))
        return None
    try:
        return Sex(gender)
    except ValueError:
        issues.append(Issue(codes.GENDER_UNSUPPORTED, newborn.at("gender")))
        return None


def _birth_time(newborn: Located, now: datetime, issues: list[Issue]) -> datetime | None:
    resource = newborn.resource
    birth_date = resource.get("birthDate")
    if birth_date is None:
        issues.append(Issue(codes.ELEMENT_MISSING, newborn.at("birthDate")))
    found = extension(resource.get("_birthDate"), v.BIRTH_TIME)
    if found is None or found.get("valueDateTime") in (None, ""):
        issues.append(Issue(codes.BIRTH_TIME_MISSING, newborn.at("birthDate.extension")))
        return None
    where = newborn.at("birthDate.extension('" + v.BIRTH_TIME + "').value")
    value = found["valueDateTime"]
    try:  # FHIR allows partial dateTimes ("2025-03") and leap seconds; a registration needs the hour
        if not isinstance(value, str) or "T" not in value:  # fhir.resources lets a bare number pass as a year
            raise ValueError("no time of day")
        born_at = datetime.fromisoformat(value)
    except ValueError:
        issues.append(Issue(codes.BIRTH_TIME_INVALID, where))
        return None
    offset = born_at.utcoffset()
    if offset is None or int(offset.total_seconds() // 60) not in v.INDONESIAN_OFFSETS_MINUTES:
        issues.append(Issue(codes.BIRTH_TIME_OFFSET, where))
        return None
    if birth_date is not None and born_at.date().isoformat() != birth_date:
        issues.append(Issue(codes.BIRTH_DATE_MISMATCH, newborn.at("birthDate")))
    if born_at > now + FUTURE_TOLERANCE:
        issues.append(Issue(codes.BIRTH_IN_FUTURE, where))
    elif born_at < now - OLDEST_NOTIFICATION:
        issues.append(Issue(codes.BIRTH_TOO_OLD, where, f"at most {OLDEST_NOTIFICATION.days} days"))
    return born_at


def _birth_order(newborn: Located, issues: list[Issue]) -> tuple[int | None, int]:
    resource = newborn.resource
    if "multipleBirthBoolean" in resource:
        issues.append(
            Issue(
                codes.BIRTH_ORDER_INVALID,
                newborn.at("multipleBirthBoolean"),
                "use multipleBirthInteger: 0 for a singleton, 1..n among twins",
            )
        )
        return None, 1
    order = resource.get("multipleBirthInteger", 0)
    total_ext = extension(resource, v.MULTIPLE_BIRTH_TOTAL)
    total = total_ext.get("valuePositiveInt") if total_ext else None
    if order == 0:
        if total not in (None, 1):
            issues.append(Issue(codes.BIRTH_ORDER_INVALID, newborn.at("multipleBirthInteger"), "0 means a singleton"))
            return None, 1
        return 0, 1
    if not isinstance(order, int) or order < 0 or total is None or total < 2 or order > total:
        detail = f"1..n with the {v.MULTIPLE_BIRTH_TOTAL} extension giving n >= 2"
        issues.append(Issue(codes.BIRTH_ORDER_INVALID, newborn.at("multipleBirthInteger"), detail))
        return None, 1
    return order, total


def _mother_link(newborn: Located, mother: dict | None, issues: list[Issue]) -> None:
    own = identifier_value(newborn.resource, v.NIK)
    if own is not None:
        issues.append(Issue(codes.NEWBORN_HAS_NIK, newborn.at(f"identifier[{own[0]}]")))
    found = identifier_value(newborn.resource, v.NIK_IBU)
    if found is None:
        issues.append(Issue(codes.ELEMENT_MISSING, newborn.at("identifier"), f"the mother's NIK ({v.NIK_IBU})"))
    elif mother is not None and found[1] != mother["nik"]:
        issues.append(
            Issue(codes.NIK_INVALID, newborn.at(f"identifier[{found[0]}].value"), "differs from the mother's NIK")
        )
