"""The embedded civil registry: Dukcapil's records kept in the hub's own PostgreSQL schema.

It shares the unit of work's connection, so registry writes, inbox and outbox rows commit in one
transaction. Writes to one family are serialised by a row lock on the family (twins born at the
same time both land, in consecutive KK versions).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from hub.domain.decision import Register, registration_date
from hub.domain.family import reissue_with_child
from hub.domain.numbers import akta_number, akta_prefix, nik_prefix, with_serial
from hub.domain.values import BirthNotice, Family, FamilyMember, Person, RegisteredBirth, Relationship, Sex
from hub.adapters.postgres.serials import next_serial
from hub.errors import PermanentError
from hub.service.ports import Registration

_BIRTH_COLUMNS = """
SELECT b.message_id, b.hospital_id, b.encounter_id, b.birth_order, b.mother_nik, b.born_at,
       b.child_nik, c.akta_number, b.kk_number, b.kk_version, b.stillborn
FROM births b LEFT JOIN birth_certificates c ON c.birth_id = b.id
"""


class EmbeddedRegistry:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def person(self, nik: str) -> Person | None:
        row = await self._conn.fetchrow(
            "SELECT nik, name, sex, birth_date, kk_number, alive FROM persons WHERE nik = $1", nik)
        return None if row is None else Person(row["nik"], row["name"], Sex(row["sex"]), row["birth_date"],
                                               row["kk_number"], row["alive"])

    async def family(self, kk_number: str, *, lock: bool = False) -> Family | None:
        row = await self._conn.fetchrow(
            "SELECT kk_number, kecamatan, current_version FROM families WHERE kk_number = $1"
            + (" FOR UPDATE" if lock else ""), kk_number)
        if row is None:
            return None
        members = await self._conn.fetch(
            """SELECT p.nik, p.name, p.sex, p.birth_date, m.relationship
               FROM family_version_members m JOIN persons p ON p.nik = m.nik
               WHERE m.kk_number = $1 AND m.version = $2 ORDER BY m.position""",
            kk_number, row["current_version"])
        return Family(row["kk_number"], row["kecamatan"], row["current_version"], tuple(
            FamilyMember(m["nik"], m["name"], Sex(m["sex"]), m["birth_date"], Relationship(m["relationship"]))
            for m in members))

    async def birth_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> RegisteredBirth | None:
        row = await self._conn.fetchrow(
            _BIRTH_COLUMNS + " WHERE b.hospital_id = $1 AND b.encounter_id = $2 AND b.birth_order = $3",
            hospital_id, encounter_id, birth_order)
        return None if row is None else RegisteredBirth(**dict(row))

    async def births_of_mother(self, mother_nik: str) -> list[RegisteredBirth]:
        rows = await self._conn.fetch(_BIRTH_COLUMNS + " WHERE b.mother_nik = $1 ORDER BY b.born_at", mother_nik)
        return [RegisteredBirth(**dict(row)) for row in rows]

    async def register_birth(self, notice: BirthNotice, decision: Register, at: datetime) -> Registration:
        family = await self.family(notice.kk_number, lock=True)
        if family is None:
            raise PermanentError("KK-NOT-FOUND", "the family card disappeared before registration")
        child_nik = await self._free_nik(nik_prefix(family.kecamatan, notice.birth_date, notice.sex))
        await self._conn.execute(
            """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship, father_name, mother_name)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            child_nik, notice.child_name, notice.sex.value, notice.birth_date, family.kk_number,
            Relationship.CHILD.value, notice.father_name or "", notice.mother_name)
        issued_on = registration_date(at, notice.born_at)
        scope = akta_prefix(family.regency, late=decision.late, issued_on=issued_on)
        akta = akta_number(scope, await next_serial(self._conn, f"akta:{scope}"))
        child = FamilyMember(child_nik, notice.child_name, notice.sex, notice.birth_date, Relationship.CHILD)
        card = reissue_with_child(family, child)
        birth_id = await self._insert_birth(notice, child_nik, card.version, at)
        await self._conn.execute(
            """INSERT INTO birth_certificates (akta_number, birth_id, issuing_regency, variant, registration_type, issued_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            akta, birth_id, family.regency, decision.variant.value, "LT" if decision.late else "LU", at)
        await self._write_card(card, family.regency, akta, at)
        return Registration(child_nik, akta, family.regency, card, at)

    async def record_stillbirth(self, notice: BirthNotice, at: datetime) -> None:
        birth_id = await self._insert_birth(notice, None, None, at, stillborn=True)
        await self._conn.execute(
            "INSERT INTO stillbirths (birth_id, weight_g, gestational_weeks, recorded_at) VALUES ($1, $2, $3, $4)",
            birth_id, notice.weight_g, notice.gestational_weeks, at)

    async def _free_nik(self, prefix: str) -> str:
        """The next serial in the scope that no person holds (seeded or imported NIKs included)."""
        while True:
            nik = with_serial(prefix, await next_serial(self._conn, f"nik:{prefix}"))
            if not await self._conn.fetchval("SELECT EXISTS (SELECT 1 FROM persons WHERE nik = $1)", nik):
                return nik

    async def _insert_birth(self, notice: BirthNotice, child_nik: str | None, kk_version: int | None,
                            at: datetime, *, stillborn: bool = False) -> int:
        return await self._conn.fetchval(
            """INSERT INTO births (message_id, hospital_id, encounter_id, birth_order, mother_nik, born_at,
                                   stillborn, child_nik, kk_number, kk_version, registered_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id""",
            notice.message_id, notice.hospital_id, notice.encounter_id, notice.birth_order, notice.mother_nik,
            notice.born_at, stillborn, child_nik, notice.kk_number, kk_version, at)

    async def _write_card(self, card, regency: str, akta: str, at: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO family_versions (kk_number, version, issued_at, regency, reason, akta_number) VALUES ($1, $2, $3, $4, 'birth', $5)",
            card.kk_number, card.version, at, regency, akta)
        await self._conn.executemany(
            "INSERT INTO family_version_members (kk_number, version, position, nik, relationship) VALUES ($1, $2, $3, $4, $5)",
            [(card.kk_number, card.version, position, m.nik, m.relationship.value) for position, m in enumerate(card.members, 1)])
        await self._conn.execute("UPDATE families SET current_version = $2 WHERE kk_number = $1", card.kk_number, card.version)
