"""The civil documents a registration issues: the Kutipan Akta Kelahiran and the Kartu Keluarga.

Pure values. A document has an identity (`kind`, `number`) and versions: version 1 is issued at
registration; a correction (pembetulan) or, for a family card, the next birth into the family
issues a new version and supersedes the earlier one. Every version has its own id and its own
slot in a status list (per issuing regency and year), so a verifier can learn that a print is
active, superseded or revoked without asking who holds it.

    akta  number = the akta number (3578-LU-23112026-0004); one per live birth
    kk    number = the KK number; a new version with every reissue of the card
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum, IntEnum
from typing import TypeVar

from hub.domain.values import AktaVariant, Sex

T = TypeVar("T")

DOCUMENT_NAMESPACE = uuid.UUID("0e3d6f55-7a4b-4f0c-9d4e-2f7c1b9a6d21")


class DocumentKind(str, Enum):
    AKTA = "akta-kelahiran"  # Kutipan Akta Kelahiran: the extract of the birth register a family keeps
    KK = "kartu-keluarga"  # Kartu Keluarga: the family card, reissued with the child as ANAK


class DocumentStatus(str, Enum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # a later version replaced it (a correction, the next reissue of a KK)
    REVOKED = "revoked"  # withdrawn by an operator, with a reason


class StatusCode(IntEnum):
    """The 2-bit values of an IETF Token Status List entry: 0 valid, 1 invalid, 2 suspended;
    3 is the application-specific value, which the hub uses for superseded."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2
    SUPERSEDED = 3


STATUS_CODE = {
    DocumentStatus.ACTIVE: StatusCode.VALID,
    DocumentStatus.REVOKED: StatusCode.INVALID,
    DocumentStatus.SUPERSEDED: StatusCode.SUPERSEDED,
}
STATUS_OF_CODE = {code: status for status, code in STATUS_CODE.items()}


def document_id(kind: DocumentKind, number: str, version: int) -> str:
    """Stable id of one document version: the same registration always yields the same ids."""
    return str(uuid.uuid5(DOCUMENT_NAMESPACE, f"{kind.value}/{number}/{version}"))


@dataclass(frozen=True, slots=True)
class Official:
    """Who signs for the issuing regency: the head of its Disdukcapil office."""

    name: str
    title: str  # e.g. "Kepala Dinas Kependudukan dan Pencatatan Sipil Kota Surabaya"
    nip: str = ""  # civil servant number, printed under the name when known


@dataclass(frozen=True, slots=True)
class AktaContent:
    """What a Kutipan Akta Kelahiran states (Permendagri 109/2019).

    `child_order` is the child's place among the mother's children ("anak ke-"); `birth_order`
    and `plurality` are FHIR's multipleBirthInteger and how many were born together. Which parents
    are printed, and how, follows `variant`.
    """

    akta_number: str
    registration_type: str  # LU on time, LT late
    variant: AktaVariant
    child_nik: str
    child_name: str
    sex: Sex
    born_at: datetime  # with the offset of the place of birth (WIB, WITA, WIT)
    place_of_birth: str  # city or regency where the child was born
    child_order: int
    birth_order: int
    plurality: int
    mother_name: str
    father_name: str | None
    issuing_regency: str  # 4-digit Kemendagri code
    issuing_regency_name: str
    issued_on: date
    official: Official


@dataclass(frozen=True, slots=True)
class KkMember:
    """One row of the family card. Fields the registry does not hold are empty strings."""

    nik: str
    name: str
    sex: Sex
    birth_place: str
    birth_date: date
    relationship: str  # KEPALA KELUARGA, ISTRI, ANAK, ...
    religion: str = ""
    education: str = ""
    occupation: str = ""
    blood_type: str = ""
    marital_status: str = ""
    citizenship: str = "WNI"
    father_name: str = ""
    mother_name: str = ""


@dataclass(frozen=True, slots=True)
class KkContent:
    """What a Kartu Keluarga states: the card's number and version, the address, every member."""

    kk_number: str
    kk_version: int
    head_name: str
    address: str
    kecamatan: str  # 6-digit code
    kecamatan_name: str
    regency: str  # 4-digit code
    regency_name: str
    province_name: str
    issued_on: date
    members: tuple[KkMember, ...]
    official: Official


Content = AktaContent | KkContent


@dataclass(frozen=True, slots=True)
class StatusSlot:
    """Where a document's status lives: entry `index` of the list for (regency, year)."""

    regency: str
    year: int
    index: int


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """One issued document version, without its bytes."""

    document_id: str
    kind: DocumentKind
    number: str
    version: int
    issued_at: datetime
    slot: StatusSlot
    status: DocumentStatus = DocumentStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """A rendered, signed PDF with the signed QR payload printed on it."""

    ref: DocumentRef
    content: Content
    pdf: bytes
    qr_payload: str
    key_id: str


@dataclass(frozen=True, slots=True)
class Correction:
    """A pembetulan: the fields an officer corrects (None: unchanged) and why."""

    reason: str
    child_name: str | None = None
    mother_name: str | None = None
    father_name: str | None = None
    place_of_birth: str | None = None
    changed: tuple[str, ...] = field(default=())

    def fields(self) -> dict[str, str]:
        values = {
            "child_name": self.child_name,
            "mother_name": self.mother_name,
            "father_name": self.father_name,
            "place_of_birth": self.place_of_birth,
        }
        return {name: value for name, value in values.items() if value is not None}


def corrected_akta(content: AktaContent, correction: Correction, issued_on: date) -> AktaContent:
    """The akta's next version: the corrected fields, a new issue date, everything else kept."""
    return replace(
        content,
        issued_on=issued_on,
        child_name=_kept_unless(correction.child_name, content.child_name),
        mother_name=_kept_unless(correction.mother_name, content.mother_name),
        father_name=_kept_unless(correction.father_name, content.father_name),
        place_of_birth=_kept_unless(correction.place_of_birth, content.place_of_birth),
    )


def _kept_unless(corrected: T | None, value: T) -> T:
    """The corrected value, or `value` when the correction leaves the field unchanged (None)."""
    return value if corrected is None else corrected


def corrected_kk(content: KkContent, child_nik: str, correction: Correction, issued_on: date) -> KkContent:
    """The family card's next version: the child's row (and its parents' names) corrected."""
    fields = correction.fields()
    members = []
    for original in content.members:
        member = original
        if member.nik == child_nik:
            member = replace(
                member,
                name=fields.get("child_name", member.name),
                birth_place=fields.get("place_of_birth", member.birth_place),
                mother_name=fields.get("mother_name", member.mother_name),
                father_name=fields.get("father_name", member.father_name),
            )
        members.append(member)
    return replace(content, members=tuple(members), issued_on=issued_on)
