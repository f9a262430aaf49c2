"""The JSON events the hub publishes to Dukcapil back-office consumers.

These pydantic models are the contract: contracts/schemas/*.json are generated from them and a
test fails when the checked-in files drift. Events carry personal data because their consumers
are the registry's own systems; the hub's logs never do.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.domain.documents import DocumentKind, DocumentStatus
from hub.domain.values import AktaVariant, Attendant, PlaceType, Relationship, Sex


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(description="UUID, stable across re-publishes: consumers deduplicate on it.")
    occurred_at: datetime = Field(description="When the registry change committed (ISO 8601 with offset).")
    message_id: str = Field(description="The hospital notification (MessageHeader.id) that caused it.")


class Parent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$")
    name: str | None = None


class Child(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$", description="The newborn's NIK, assigned by this registration.")
    name: str
    sex: Sex
    born_at: datetime
    birth_order: int = Field(ge=0, description="0 for a singleton, 1..n among twins or triplets.")
    plurality: int = Field(ge=1, description="How many babies were born together (form F-2.01 birth type).")
    weight_g: int
    length_cm: float | None = None
    attendant: Attendant
    place_type: PlaceType


class BirthRegistered(_Event):
    """A birth was registered: akta kelahiran issued, NIK assigned, family card reissued.

    Topic civil.birth-registered.v1, key: the akta number.
    """

    hospital_id: str
    encounter_id: str
    akta_number: str
    akta_variant: AktaVariant
    registration_type: Literal["LU", "LT"] = Field(description="LU on time, LT late (more than 60 days).")
    issuing_regency: str = Field(pattern=r"^\d{4}$", description="Kemendagri code of the regency office.")
    child: Child
    mother: Parent
    father: Parent | None = None
    reporter_nik: str
    witness_niks: list[str]
    kk_number: str
    kk_version: int


class Member(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    nik: str
    name: str
    sex: Sex
    birth_date: date
    relationship: Relationship


class FamilyCardReissued(_Event):
    """A family card (KK) was reissued: same number, new version, all its members.

    Topic civil.family-card-updated.v1, key: the KK number.
    """

    kk_number: str
    version: int = Field(ge=1)
    previous_version: int = Field(ge=0)
    kecamatan: str = Field(pattern=r"^\d{6}$")
    issuing_regency: str = Field(pattern=r"^\d{4}$")
    reason: Literal["birth"] = "birth"
    akta_number: str
    members: list[Member]


class IssuedDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    document_id: str = Field(description="UUID of this document version (printed under its QR code).")
    kind: DocumentKind
    number: str = Field(description="The akta number, or the KK number.")
    version: int = Field(ge=1)
    issued_at: datetime
    key_id: str = Field(description="Id of the signing key (in the PAdES signature and the QR payload).")
    status_list_regency: str = Field(pattern=r"^\d{4}$")
    status_list_year: int
    status_list_index: int = Field(ge=0, description="This version's entry in the regency's status list of the year.")
    supersedes: str | None = Field(None, description="The document version this one replaces, now superseded.")


class DocumentsIssued(_Event):
    """Signed documents were issued: at registration (the akta and the reissued KK) or after a
    correction (new versions that supersede the earlier ones). The PDFs travel to the hospital in
    its result; back-office systems fetch them from the hub by document id.

    Topic civil.documents-issued.v1, key: the KK number.
    """

    reason: Literal["registration", "correction"]
    kk_number: str
    documents: list[IssuedDocument]
    correction: dict[str, str] | None = Field(None, description="The corrected fields and their new values.")


class DocumentStatusChanged(_Event):
    """An operator changed a document's status (revocation), with the reason.

    Topic civil.document-status.v1, key: the KK number.
    """

    document_id: str
    kind: DocumentKind
    number: str
    version: int
    status: DocumentStatus
    reason: str
    actor: str


EVENT_MODELS: dict[str, type[_Event]] = {
    "civil.birth-registered.v1": BirthRegistered,
    "civil.family-card-updated.v1": FamilyCardReissued,
    "civil.documents-issued.v1": DocumentsIssued,
    "civil.document-status.v1": DocumentStatusChanged,
}
