"""The REST contract the hub needs from a SIAK-style civil registry (contracts/siak-openapi.json).

There is no public SIAK specification: these models are the hub's proposal to Dukcapil. The
reference server (`hub siak serve`) implements them over the embedded registry, the client adapter
(`SiakHttpRegistry`) consumes them, and the OpenAPI document is generated from the server.

Retry safety: every GET is safe to repeat. POST /v1/births and POST /v1/stillbirths are safe to
repeat with the same `Idempotency-Key` header: the registry answers a repeated key with the first
answer (200 instead of 201) and never registers twice; the same key with a different body is a 409.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from hub.domain.values import AktaVariant, Attendant, MarriageStatus, PlaceType, Relationship, Sex

NIK = r"^[0-9]{16}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PersonOut(_Model):
    nik: str = Field(pattern=NIK)
    name: str
    sex: Sex
    birth_date: date
    kk_number: str | None = None
    alive: bool = True


class MemberOut(_Model):
    nik: str = Field(pattern=NIK)
    name: str
    sex: Sex
    birth_date: date
    relationship: Relationship


class FamilyOut(_Model):
    kk_number: str = Field(pattern=NIK)
    kecamatan: str = Field(
        pattern=r"^[0-9]{6}$", description="Domicile kecamatan: it decides the NIK region and the office."
    )
    version: int = Field(ge=1)
    members: list[MemberOut]


class BirthOut(_Model):
    """A birth the registry knows: registered (with numbers) or a recorded stillbirth."""

    message_id: str
    hospital_id: str
    encounter_id: str
    birth_order: int
    mother_nik: str
    born_at: datetime
    child_nik: str | None = None
    akta_number: str | None = None
    kk_number: str
    kk_version: int | None = None
    stillborn: bool = False


class BirthRegistrationIn(_Model):
    """Register a live birth: assign the child's NIK, issue the akta, reissue the family card."""

    message_id: str = Field(description="The hospital's notification id (for tracing).")
    hospital_id: str
    encounter_id: str
    mother_nik: str = Field(pattern=NIK)
    mother_name: str
    kk_number: str = Field(pattern=NIK)
    father_nik: str | None = Field(default=None, pattern=NIK)
    father_name: str | None = None
    child_name: str
    sex: Sex
    born_at: datetime
    birth_order: int = Field(ge=0)
    plurality: int = Field(ge=1)
    weight_g: int
    length_cm: float | None = None
    gestational_weeks: float | None = None
    attendant: Attendant
    place_type: PlaceType
    marriage: MarriageStatus
    reporter_nik: str = Field(pattern=NIK)
    witness_niks: list[str]
    akta_variant: AktaVariant
    late: bool = Field(description="Registered more than 60 days after the birth: an LT akta.")


class BirthRegistrationOut(_Model):
    idempotency_key: str
    child_nik: str = Field(pattern=NIK)
    akta_number: str
    issuing_regency: str = Field(pattern=r"^[0-9]{4}$")
    kk_number: str = Field(pattern=NIK)
    kk_version: int
    kecamatan: str
    members: list[MemberOut] = Field(description="The reissued family card's members, the child last.")
    registered_at: datetime


class StillbirthIn(_Model):
    message_id: str
    hospital_id: str
    encounter_id: str
    mother_nik: str = Field(pattern=NIK)
    kk_number: str = Field(pattern=NIK)
    born_at: datetime
    birth_order: int = Field(ge=0)
    weight_g: int
    gestational_weeks: float | None = None


class StillbirthOut(_Model):
    idempotency_key: str
    recorded_at: datetime


class Problem(_Model):
    """Every error body (application/problem+json, RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    code: str = Field(description="Stable machine-readable reason, e.g. KK-NOT-FOUND, IDEMPOTENCY-KEY-REUSED.")
    detail: str | None = None
    retryable: bool = Field(description="True when the same request may succeed later (5xx, 429, 503).")
