"""The embedded registry's writes of one unit of work, kept until it commits and written set-based.

A batch of registrations becomes four statements, whatever its size: the children, the births
with their certificates and stillbirths, the family card versions with their members (and the
families' current version), and the serial counters. Rows go in the order they were registered.
Foreign keys are checked at the end of each statement, so a card's members may name the children
inserted by the statement before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hub.adapters.postgres.database import PgConnection
from hub.domain.family import FamilyCardVersion
from hub.domain.values import BirthNotice, Relationship

_PERSONS = """
INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship, father_name, mother_name)
SELECT * FROM unnest($1::bpchar[], $2::text[], $3::text[], $4::date[], $5::bpchar[], $6::text[], $7::text[], $8::text[])
"""
_BIRTHS = """
WITH b AS (
  INSERT INTO births (message_id, hospital_id, encounter_id, birth_order, mother_nik, born_at, stillborn,
                      child_nik, kk_number, kk_version, registered_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bpchar[], $6::timestamptz[], $7::bool[],
                       $8::bpchar[], $9::bpchar[], $10::int[], $11::timestamptz[])
  RETURNING id, hospital_id, message_id
), c AS (
  INSERT INTO birth_certificates (akta_number, birth_id, issuing_regency, variant, registration_type, issued_at)
  SELECT u.akta_number, b.id, u.regency, u.variant, u.registration_type, u.issued_at
  FROM unnest($12::text[], $13::text[], $14::text[], $15::bpchar[], $16::text[], $17::bpchar[], $18::timestamptz[])
       AS u(hospital_id, message_id, akta_number, regency, variant, registration_type, issued_at)
  JOIN b USING (hospital_id, message_id)
)
INSERT INTO stillbirths (birth_id, weight_g, gestational_weeks, recorded_at)
SELECT b.id, u.weight_g, u.gestational_weeks, u.recorded_at
FROM unnest($19::text[], $20::text[], $21::int[], $22::numeric[], $23::timestamptz[])
     AS u(hospital_id, message_id, weight_g, gestational_weeks, recorded_at)
JOIN b USING (hospital_id, message_id)
"""
_CARDS = """
WITH v AS (
  INSERT INTO family_versions (kk_number, version, issued_at, regency, reason, akta_number)
  SELECT u.kk_number, u.version, u.issued_at, u.regency, 'birth', u.akta_number
  FROM unnest($1::bpchar[], $2::int[], $3::timestamptz[], $4::bpchar[], $5::text[])
       AS u(kk_number, version, issued_at, regency, akta_number)
), m AS (
  INSERT INTO family_version_members (kk_number, version, position, nik, relationship)
  SELECT * FROM unnest($6::bpchar[], $7::int[], $8::int[], $9::bpchar[], $10::text[])
)
UPDATE families f SET current_version = u.version
FROM (SELECT kk_number, max(version) AS version FROM unnest($1::bpchar[], $2::int[]) AS u(kk_number, version)
      GROUP BY kk_number) u
WHERE f.kk_number = u.kk_number
"""
_SERIALS = """
INSERT INTO number_serials AS s (scope, last) SELECT * FROM unnest($1::text[], $2::int[])
ON CONFLICT (scope) DO UPDATE SET last = excluded.last
"""


@dataclass(slots=True)
class PendingRows:
    """Rows registered in this unit of work and not yet written, column by column."""

    persons: list[tuple] = field(default_factory=list)
    births: list[tuple] = field(default_factory=list)
    certificates: list[tuple] = field(default_factory=list)
    stillbirths: list[tuple] = field(default_factory=list)
    cards: list[tuple] = field(default_factory=list)
    members: list[tuple] = field(default_factory=list)
    serials: dict[str, int] = field(default_factory=dict)  # scope -> last serial issued

    def __bool__(self) -> bool:
        return bool(self.persons or self.births or self.cards or self.serials)

    def child(self, nik: str, notice: BirthNotice, kk_number: str) -> None:
        self.persons.append(
            (
                nik,
                notice.child_name,
                notice.sex.value,
                notice.birth_date,
                kk_number,
                Relationship.CHILD.value,
                notice.father_name or "",
                notice.mother_name,
            )
        )

    def birth(self, notice: BirthNotice, child_nik: str | None, kk_version: int | None, at: datetime) -> None:
        self.births.append(
            (
                notice.message_id,
                notice.hospital_id,
                notice.encounter_id,
                notice.birth_order,
                notice.mother_nik,
                notice.born_at,
                child_nik is None,
                child_nik,
                notice.kk_number,
                kk_version,
                at,
            )
        )

    def certificate(self, notice: BirthNotice, akta: str, regency: str, variant: str, late: bool, at: datetime) -> None:
        """Joined to its birth by (hospital, message id): message ids belong to their hospital."""
        self.certificates.append(
            (notice.hospital_id, notice.message_id, akta, regency, variant, "LT" if late else "LU", at)
        )

    def stillbirth(self, notice: BirthNotice, at: datetime) -> None:
        weeks = None if notice.gestational_weeks is None else Decimal(str(notice.gestational_weeks))
        self.stillbirths.append((notice.hospital_id, notice.message_id, notice.weight_g, weeks, at))

    def card(self, card: FamilyCardVersion, regency: str, akta: str, at: datetime) -> None:
        self.cards.append((card.kk_number, card.version, at, regency, akta))
        self.members.extend(
            (card.kk_number, card.version, position, member.nik, member.relationship.value)
            for position, member in enumerate(card.members, 1)
        )

    async def write(self, conn: PgConnection) -> None:
        """Write everything pending, in four statements at most, and forget it."""
        if self.persons:
            await conn.execute(_PERSONS, *_columns(self.persons, 8))
        if self.births:
            await conn.execute(
                _BIRTHS,
                *_columns(self.births, 11),
                *_columns(self.certificates, 7),
                *_columns(self.stillbirths, 5),
            )
        if self.cards:
            await conn.execute(_CARDS, *_columns(self.cards, 5), *_columns(self.members, 5))
        if self.serials:
            await conn.execute(_SERIALS, list(self.serials), list(self.serials.values()))
        self.persons, self.births, self.certificates, self.stillbirths = [], [], [], []
        self.cards, self.members, self.serials = [], [], {}


def _columns(rows: list[tuple], width: int) -> list[list]:
    """Rows to one list per column (what unnest takes); `width` lists when there are no rows."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
