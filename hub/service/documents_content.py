"""What the documents of a registration state, built from the notice and the registration.

Kept apart from the worker (hub/service/documents.py) so the registering path does not load the
PDF and signature libraries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.domain.decision import Register
from hub.domain.documents import (
    AktaContent,
    Content,
    DocumentKind,
    KkContent,
    KkMember,
    Official,
)
from hub.domain.values import BirthNotice, Relationship
from hub.service.ports import Registration

CORRECTION = "correction"
REGISTRATION = "registration"


@dataclass(frozen=True, slots=True)
class Issuer:
    """What documents need besides the registration: region names (Kemendagri codes → names),
    the signing official of a regency, and where verifiers find status lists."""

    region_name: Callable[[str], str | None]
    official_name: str
    public_base_url: str

    def name(self, code: str) -> str:
        return self.region_name(code) or code

    def official(self, regency: str) -> Official:
        return Official(self.official_name, f"Kepala Dinas Kependudukan dan Pencatatan Sipil {self.name(regency)}")

    def status_uri(self, regency: str, year: int) -> str:
        return f"{self.public_base_url.rstrip('/')}/status/{regency}/{year}"


def registration_contents(
    notice: BirthNotice, decision: Register, registration: Registration, hospital_regency: str | None, issuer: Issuer
) -> tuple[AktaContent, KkContent]:
    """The akta and the reissued family card of a registration, as they are to be printed."""
    card, regency = registration.family_card, registration.issuing_regency
    issued_on = registration.registered_at.astimezone(notice.born_at.tzinfo).date()
    place = issuer.name(hospital_regency) if hospital_regency else issuer.name(card.kecamatan[:4])
    children = [m.nik for m in card.members if m.relationship is Relationship.CHILD]
    akta = AktaContent(
        akta_number=registration.akta_number,
        registration_type="LT" if decision.late else "LU",
        variant=decision.variant,
        child_nik=registration.child_nik,
        child_name=notice.child_name,
        sex=notice.sex,
        born_at=notice.born_at,
        place_of_birth=place,
        child_order=children.index(registration.child_nik) + 1,
        birth_order=notice.birth_order,
        plurality=notice.plurality,
        mother_name=notice.mother_name,
        father_name=notice.father_name,
        issuing_regency=regency,
        issuing_regency_name=issuer.name(regency),
        issued_on=issued_on,
        official=issuer.official(regency),
    )
    members = tuple(
        KkMember(
            m.nik,
            m.name,
            m.sex,
            place if m.nik == registration.child_nik else "",
            m.birth_date,
            m.relationship.value,
            father_name=(notice.father_name or "") if m.nik == registration.child_nik else "",
            mother_name=notice.mother_name if m.nik == registration.child_nik else "",
        )
        for m in card.members
    )
    head = next((m.name for m in card.members if m.relationship is Relationship.HEAD), "")
    kk = KkContent(
        kk_number=card.kk_number,
        kk_version=card.version,
        head_name=head,
        address="",
        kecamatan=card.kecamatan,
        kecamatan_name=issuer.name(card.kecamatan),
        regency=regency,
        regency_name=issuer.name(regency),
        province_name=issuer.name(card.kecamatan[:2]),
        issued_on=issued_on,
        members=members,
        official=issuer.official(regency),
    )
    return akta, kk


def identity(content: Content) -> tuple[DocumentKind, str, str]:
    """(kind, number, issuing regency) of a document's content."""
    if isinstance(content, AktaContent):
        return DocumentKind.AKTA, content.akta_number, content.issuing_regency
    return DocumentKind.KK, content.kk_number, content.regency
