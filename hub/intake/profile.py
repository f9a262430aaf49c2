"""The birth-notification profile rules (contracts/profile.md), run after structural validation.

fhir.resources checks shapes; these rules check what the registry needs: the resources and
identifiers that must be there, NIK and KK structure, codes, references that resolve inside the
Bundle, plausible dates and measurements. Every violation is reported, not only the first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from hub.domain import codes
from hub.domain.codes import Code, Issue
from hub.domain.values import Attendant, BirthNotice, MarriageStatus
from hub.intake import vocabulary as v
from hub.intake.bundle_view import BundleView, Located
from hub.intake.elements import Json, has_coding, identifier_value
from hub.intake.measurements import read_measurements
from hub.intake.newborn import read_newborn
from hub.intake.people import PeopleRules
from hub.intake.registration import read_registration, stated_marriage


@dataclass(slots=True)
class ProfileResult:
    """The notice when the Bundle passes; the issues found; the entry path of each role."""

    notice: BirthNotice | None
    issues: list[Issue]
    roles: dict[str, str] = field(default_factory=dict)


def read_notice(
    document: Json, *, now: datetime, strict_nik: bool, region_known: Callable[[str], bool]
) -> ProfileResult:
    reader = _Reader(BundleView(document), now, PeopleRules(strict_nik, region_known))
    notice = reader.read()
    issues = reader.issues + reader.people.issues
    if any(issue.blocks for issue in issues):
        notice = None
    return ProfileResult(notice, issues, {role: located.path for role, located in reader.roles.items()})


class _Reader:
    def __init__(self, view: BundleView, now: datetime, people: PeopleRules) -> None:
        self.view, self.now, self.people = view, now, people
        self.issues: list[Issue] = []
        self.roles: dict[str, Located] = {}

    def flag(self, code: Code, where: str, detail: str | None = None) -> None:
        self.issues.append(Issue(code, where, detail))

    def read(self) -> BirthNotice | None:
        header = self._header()
        if header is None:
            return None
        hospital = self._sender(header)
        newborn, encounter = self._focus(header)
        registration = read_registration(header, self.people, self.now.date())
        if newborn is None:
            return None
        self.roles["newborn"] = newborn
        mother = self._mother(newborn)
        father = self._father(newborn, stated_marriage(header))
        child = self._newborn(newborn, mother)
        measures = self._measurements(newborn, child)
        attendant = self._attendant(newborn)
        encounter_id = self._encounter(encounter, hospital)
        parts = (hospital, mother, child, measures, attendant, encounter_id, registration)
        if any(part is None for part in parts) or any(issue.blocks for issue in self.issues):
            return None
        return _assemble(header, hospital, encounter_id, mother, father, child, measures, attendant, registration)

    # The MessageHeader and its references.

    def _header(self) -> Located | None:
        if (
            not self.view.entries
            or self.view.entries[0].index != 0
            or self.view.entries[0].resource.get("resourceType") != "MessageHeader"
        ):
            self.flag(codes.HEADER_NOT_FIRST, "Bundle.entry[0].resource")
            return None
        header = self.view.entries[0]
        if not _is_uuid(header.resource.get("id")):
            self.flag(codes.MESSAGE_ID_INVALID, header.at("id"))
        event = header.resource.get("eventCoding") or {}
        if event.get("system") != v.EVENT_SYSTEM or event.get("code") != v.BIRTH_NOTIFICATION:
            self.flag(
                codes.EVENT_UNKNOWN, header.at("eventCoding"), f"expected {v.EVENT_SYSTEM}|{v.BIRTH_NOTIFICATION}"
            )
        return header

    def _sender(self, header: Located) -> str | None:
        """The sending hospital's organisation id: the Organization entry `sender` resolves to, or
        the SATUSEHAT Organization a `Organization/<id>` reference names outside the Bundle."""
        reference = header.resource.get("sender")
        if reference is None:
            self.flag(codes.ELEMENT_MISSING, header.at("sender"))
            return None
        found = self._organisation(reference, header)
        if found is None:
            hint = self.view.why_unresolved(reference)
            self.flag(
                codes.REFERENCE_UNRESOLVED, header.at("sender"), hint or "must resolve to the hospital's Organization"
            )
        return found

    def _organisation(self, reference: Json | None, source: Located) -> str | None:
        found = self.view.resolve(reference, source)
        if found is None:
            return self.view.outside(reference, "Organization")
        ident = found.resource.get("id")
        return ident if found.resource.get("resourceType") == "Organization" and isinstance(ident, str) else None

    def _focus(self, header: Located) -> tuple[Located | None, Located | None]:
        focus = header.resource.get("focus") or ()
        found = [self.view.resolve(ref, header) for ref in focus]
        for position, target in enumerate(found):
            if target is None:
                self.flag(
                    codes.REFERENCE_UNRESOLVED,
                    header.at(f"focus[{position}]"),
                    self.view.why_unresolved(focus[position]),
                )
        patients = [f for f in found if f and f.resource.get("resourceType") == "Patient"]
        encounters = [f for f in found if f and f.resource.get("resourceType") == "Encounter"]
        if not patients:
            self.flag(codes.RESOURCE_MISSING, header.at("focus"), "the newborn Patient")
        if not encounters:
            self.flag(codes.RESOURCE_MISSING, header.at("focus"), "the delivery Encounter")
        return (patients[0] if patients else None), (encounters[0] if encounters else None)

    # People.

    def _mother(self, newborn: Located) -> dict | None:
        if self.view.related_person(v.MOTHER_ROLE, newborn) is None:
            self.flag(
                codes.MOTHER_LINK_MISSING, "Bundle.entry", "a RelatedPerson with relationship MTH for the newborn"
            )
        candidates = [
            p for p in self.view.of_type("Patient") if p.index != newborn.index and identifier_value(p.resource, v.NIK)
        ]
        if not candidates:
            self.flag(
                codes.MOTHER_MISSING,
                "Bundle.entry",
                f"a Patient other than the newborn with a NIK identifier ({v.NIK})",
            )
            return None
        mother = candidates[0]
        self.roles["mother"] = mother
        return self.people.mother(mother, self.now.date())

    def _father(self, newborn: Located, marriage: MarriageStatus | None) -> dict | None:
        father = self.view.related_person(v.FATHER_ROLE, newborn)
        read = None
        if father is not None:
            self.roles["father"] = father
            read = self.people.father(father, self.now.date())
        recorded = marriage is MarriageStatus.MARRIED_RECORDED
        father_invalid = father is not None and any(
            i.blocks and (i.expression or "").startswith(father.path) for i in self.people.issues
        )
        if recorded and read is None and not father_invalid:
            where = father.at("identifier") if father is not None else "Bundle.entry"
            self.flag(codes.FATHER_REQUIRED, where, "RelatedPerson with relationship FTH and a NIK")
        return read

    def _newborn(self, newborn: Located, mother: dict | None) -> dict | None:
        child, problems = read_newborn(newborn, self.now, mother)
        self.issues.extend(problems)
        return child

    def _measurements(self, newborn: Located, child: dict | None) -> dict | None:
        stillborn = newborn.resource.get("deceasedBoolean") is True
        measures, problems = read_measurements(self.view, newborn, stillborn)
        self.issues.extend(problems)
        return measures

    def _attendant(self, newborn: Located) -> Attendant | None:
        procedures = [p for p in self.view.of_type("Procedure") if self._of_the_birth(p, newborn)]
        if not procedures:
            self.flag(codes.RESOURCE_MISSING, "Bundle.entry", "the delivery Procedure with its performer")
            return None
        procedure = procedures[0]
        for position, performer in enumerate(procedure.resource.get("performer") or ()):
            for code, number in v.ATTENDANT_CODES.items():
                if has_coding(performer.get("function"), v.ATTENDANT_SYSTEM, code):
                    return Attendant(number)
            self.flag(
                codes.CODE_UNKNOWN,
                procedure.at(f"performer[{position}].function"),
                f"expected a code of {v.ATTENDANT_SYSTEM}",
            )
            return None
        self.flag(codes.ELEMENT_MISSING, procedure.at("performer"))
        return None

    def _of_the_birth(self, procedure: Located, newborn: Located) -> bool:
        """A Procedure of the newborn or the mother; while the mother is unknown (reported as
        MOTHER-MISSING), of any Patient, so that her Procedure is not reported missing as well."""
        subject = self.view.resolve(procedure.resource.get("subject"), procedure)
        if subject is None or subject.resource.get("resourceType") != "Patient":
            return False
        mother = self.roles.get("mother")
        return mother is None or subject.index in (newborn.index, mother.index)

    def _encounter(self, encounter: Located | None, hospital: str | None) -> str | None:
        if encounter is None:
            return None
        self.roles["encounter"] = encounter
        identifiers = [i for i in encounter.resource.get("identifier") or () if i.get("value")]
        if not identifiers:
            self.flag(codes.ELEMENT_MISSING, encounter.at("identifier"), "the hospital's encounter number")
        provider = encounter.resource.get("serviceProvider")
        if hospital is not None and self._organisation(provider, encounter) != hospital:
            hint = self.view.why_unresolved(provider)
            self.flag(
                codes.REFERENCE_UNRESOLVED, encounter.at("serviceProvider"), hint or "must be the sending hospital"
            )
        return identifiers[0]["value"] if identifiers else None


def _assemble(header, hospital, encounter_id, mother, father, child, measures, attendant, registration) -> BirthNotice:
    return BirthNotice(
        message_id=header.resource["id"],
        hospital_id=hospital,
        encounter_id=encounter_id,
        mother_nik=mother["nik"],
        kk_number=mother["kk"],
        mother_name=mother["name"],
        mother_birth_date=mother["birth_date"],
        father_nik=father["nik"] if father else None,
        father_name=father["name"] if father else None,
        child_name=child["name"],
        sex=child["sex"],
        born_at=child["born_at"],
        birth_order=child["order"],
        plurality=child["plurality"],
        stillborn=child["stillborn"],
        weight_g=measures["weight_g"],
        length_cm=measures["length_cm"],
        gestational_weeks=measures["gestational_weeks"],
        attendant=attendant,
        place_type=registration.place_type,
        marriage=registration.marriage,
        reporter_nik=registration.reporter_nik,
        witness_niks=registration.witness_niks,
    )


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
