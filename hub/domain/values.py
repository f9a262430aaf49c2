"""Values of birth registration: the notice the hub decides on and the registry facts it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, IntEnum


class Sex(str, Enum):
    """FHIR administrative gender codes that the registry can record (L = male, P = female)."""

    MALE = "male"
    FEMALE = "female"


class MarriageStatus(str, Enum):
    """Parents' status on form F-2.01; it decides the akta variant."""

    MARRIED_RECORDED = "married-recorded"  # kawin tercatat: marriage recorded by the state
    MARRIED_UNRECORDED = "married-unrecorded"  # kawin belum tercatat: religious marriage only
    NOT_MARRIED = "not-married"  # the child is registered to the mother
    PARENTS_UNKNOWN = "parents-unknown"


class AktaVariant(str, Enum):
    """What the akta kelahiran states about the parents; carried and printed."""

    BOTH_PARENTS = "both-parents"
    BOTH_PARENTS_WITH_NOTE = "both-parents-with-note"
    MOTHER_ONLY = "mother-only"
    NO_PARENTS_KNOWN = "no-parents-known"


VARIANT_BY_MARRIAGE = {
    MarriageStatus.MARRIED_RECORDED: AktaVariant.BOTH_PARENTS,
    MarriageStatus.MARRIED_UNRECORDED: AktaVariant.BOTH_PARENTS_WITH_NOTE,
    MarriageStatus.NOT_MARRIED: AktaVariant.MOTHER_ONLY,
    MarriageStatus.PARENTS_UNKNOWN: AktaVariant.NO_PARENTS_KNOWN,
}


class Attendant(IntEnum):
    """Birth attendant, numbered as on form F-2.01."""

    DOCTOR = 1
    MIDWIFE_OR_NURSE = 2
    TRADITIONAL = 3
    OTHER = 4


class PlaceType(IntEnum):
    """Place of birth, numbered as on form F-2.01."""

    HOSPITAL_OR_CLINIC = 1
    PUSKESMAS = 2
    POLINDES = 3
    HOME = 4
    OTHER = 5


class Relationship(str, Enum):
    """Relationship in the family, as printed on the KK."""

    HEAD = "KEPALA KELUARGA"
    WIFE = "ISTRI"
    HUSBAND = "SUAMI"
    CHILD = "ANAK"
    OTHER = "FAMILI LAIN"


@dataclass(frozen=True, slots=True)
class BirthNotice:
    """A validated birth notification: everything the registry decision needs.

    `birth_order` is FHIR's multipleBirthInteger: 0 for a singleton, 1..n among twins etc.;
    `plurality` is how many were born together (1 for a singleton).
    """

    message_id: str
    hospital_id: str
    encounter_id: str
    mother_nik: str
    kk_number: str
    mother_name: str
    mother_birth_date: date | None
    child_name: str
    sex: Sex
    born_at: datetime
    birth_order: int
    plurality: int
    weight_g: int
    length_cm: float | None
    gestational_weeks: float | None
    attendant: Attendant
    place_type: PlaceType
    marriage: MarriageStatus
    reporter_nik: str
    witness_niks: tuple[str, ...]
    father_nik: str | None = None
    father_name: str | None = None
    stillborn: bool = False

    @property
    def birth_date(self) -> date:
        """The date of birth on the clock where the baby was born (WIB, WITA or WIT)."""
        return self.born_at.date()


@dataclass(frozen=True, slots=True)
class Hospital:
    org_id: str
    name: str
    regency: str
    active: bool


@dataclass(frozen=True, slots=True)
class HospitalKey:
    """A hospital's public key for signed notifications (a JWK, EC P-256 for ES256)."""

    kid: str
    org_id: str
    jwk: dict = field(compare=False, hash=False)
    valid_from: datetime
    valid_until: datetime | None = None
    revoked_at: datetime | None = None

    def valid_at(self, at: datetime) -> bool:
        if at < self.valid_from:
            return False
        if self.valid_until is not None and at >= self.valid_until:
            return False
        return self.revoked_at is None or at < self.revoked_at


@dataclass(frozen=True, slots=True)
class Person:
    nik: str
    name: str
    sex: Sex
    birth_date: date
    kk_number: str | None
    alive: bool = True


@dataclass(frozen=True, slots=True)
class FamilyMember:
    nik: str
    name: str
    sex: Sex
    birth_date: date
    relationship: Relationship


@dataclass(frozen=True, slots=True)
class Family:
    """One KK at its current version; `kecamatan` is the family's domicile."""

    kk_number: str
    kecamatan: str
    version: int
    members: tuple[FamilyMember, ...] = field(default=())

    @property
    def regency(self) -> str:
        return self.kecamatan[:4]


@dataclass(frozen=True, slots=True)
class RegisteredBirth:
    """A birth already in the registry, as the decision and the answers need it."""

    message_id: str
    hospital_id: str
    encounter_id: str
    birth_order: int
    mother_nik: str
    born_at: datetime
    child_nik: str | None
    akta_number: str | None
    kk_number: str
    kk_version: int | None
    stillborn: bool = False
