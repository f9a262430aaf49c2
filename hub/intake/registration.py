"""The registration data of form F-2.01 that SATUSEHAT does not carry.

It travels as one complex extension on the MessageHeader (url `BIRTH_REGISTRATION`) with the
sub-extensions marriageStatus (valueCode), reporter (valueIdentifier, NIK), witness
(valueIdentifier, NIK, exactly two) and placeOfBirthType (valueCode "1".."5").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.domain import codes
from hub.domain.codes import Issue
from hub.domain.values import MarriageStatus, PlaceType
from hub.intake import vocabulary as v
from hub.intake.bundle_view import Located
from hub.intake.elements import extension, extensions
from hub.intake.people import PeopleRules


@dataclass(frozen=True, slots=True)
class RegistrationData:
    marriage: MarriageStatus
    place_type: PlaceType
    reporter_nik: str
    witness_niks: tuple[str, ...]


def read_registration(header: Located, people: PeopleRules, today: date) -> RegistrationData | None:
    index = _extension_index(header.resource)
    if index is None:
        people.issues.append(Issue(codes.REGISTRATION_MISSING, header.at("extension")))
        return None
    base = f"extension[{index}]"
    data = header.resource["extension"][index]
    marriage = _marriage(data, header.at(base), people)
    place = _place(data, header.at(base), people)
    reporter = _reporter(data, header.at(base), people, today)
    witnesses = _witnesses(data, header.at(base), people, today)
    if marriage is None or place is None or reporter is None or witnesses is None:
        return None
    return RegistrationData(marriage, place, reporter, witnesses)


def stated_marriage(header: Located) -> MarriageStatus | None:
    """The marriage status alone, whatever else is wrong with the registration data."""
    index = _extension_index(header.resource)
    if index is None:
        return None
    code = (extension(header.resource["extension"][index], v.MARRIAGE_STATUS) or {}).get("valueCode")
    return MarriageStatus(code) if code in {m.value for m in MarriageStatus} else None


def _extension_index(resource: dict) -> int | None:
    for index, ext in enumerate(resource.get("extension") or ()):
        if ext.get("url") == v.BIRTH_REGISTRATION:
            return index
    return None


def _sub_path(base: str, data: dict, url: str) -> str:
    for index, ext in enumerate(data.get("extension") or ()):
        if ext.get("url") == url:
            return f"{base}.extension[{index}]"
    return f"{base}.extension"


def _marriage(data: dict, base: str, people: PeopleRules) -> MarriageStatus | None:
    code = (extension(data, v.MARRIAGE_STATUS) or {}).get("valueCode")
    try:
        return MarriageStatus(code)
    except ValueError:
        allowed = ", ".join(status.value for status in MarriageStatus)
        problem = codes.ELEMENT_MISSING if code is None else codes.CODE_UNKNOWN
        people.issues.append(Issue(problem, _sub_path(base, data, v.MARRIAGE_STATUS), f"one of {allowed}"))
        return None


def _place(data: dict, base: str, people: PeopleRules) -> PlaceType | None:
    code = (extension(data, v.PLACE_OF_BIRTH_TYPE) or {}).get("valueCode")
    if code in {str(place.value) for place in PlaceType}:
        return PlaceType(int(code))
    problem = codes.ELEMENT_MISSING if code is None else codes.CODE_UNKNOWN
    people.issues.append(Issue(problem, _sub_path(base, data, v.PLACE_OF_BIRTH_TYPE), "one of 1..5 (form F-2.01)"))
    return None


def _nik_of(ext: dict) -> str | None:
    identifier = ext.get("valueIdentifier") or {}
    return identifier.get("value") if identifier.get("system") == v.NIK else None


def _reporter(data: dict, base: str, people: PeopleRules, today: date) -> str | None:
    found = extension(data, v.REPORTER)
    nik = _nik_of(found) if found else None
    where = _sub_path(base, data, v.REPORTER)
    if nik is None:
        people.issues.append(Issue(codes.REPORTER_REQUIRED, where))
        return None
    return nik if people.nik(nik, f"{where}.valueIdentifier.value", today) else None


def _witnesses(data: dict, base: str, people: PeopleRules, today: date) -> tuple[str, ...] | None:
    found = [_nik_of(ext) for ext in extensions(data, v.WITNESS)]
    niks = [nik for nik in found if nik is not None]
    if len(found) != 2 or len(niks) != 2 or niks[0] == niks[1]:
        people.issues.append(Issue(codes.WITNESSES_REQUIRED, f"{base}.extension"))
        return None
    positions = [i for i, ext in enumerate(data["extension"]) if ext.get("url") == v.WITNESS]
    checks = [
        people.nik(nik, f"{base}.extension[{pos}].valueIdentifier.value", today)
        for nik, pos in zip(niks, positions, strict=False)
    ]
    return tuple(niks) if all(checks) else None
