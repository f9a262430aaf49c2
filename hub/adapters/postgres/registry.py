"""The embedded civil registry: Dukcapil's records kept in the hub's own PostgreSQL schema.

It shares the unit of work's connection, so registry writes, inbox and outbox rows commit in one
transaction. Writes to one family are serialised by a row lock on the family (twins born at the
same time both land, in consecutive KK versions).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date, datetime

from hub.adapters.postgres.database import PgConnection
from hub.adapters.postgres.lookup import registry_facts
from hub.adapters.postgres.serials import next_serial
from hub.domain import codes
from hub.domain.decision import Register, RegistryFacts, registration_date
from hub.domain.documents import Correction
from hub.domain.family import reissue_with_child
from hub.domain.numbers import akta_number, akta_prefix, nik_prefix, with_serial
from hub.domain.values import BirthNotice, Family, FamilyMember, Person, RegisteredBirth, Relationship, Sex
from hub.errors import PermanentError
from hub.service.ports import Registration

_INSERT_BIRTH = """INSERT INTO births (message_id, hospital_id, encounter_id, birth_order, mother_nik, born_at,
                                   stillborn, child_nik, kk_number, kk_version, registered_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"""
_BIRTH_COLUMNS = """
SELECT b.message_id, b.hospital_id, b.encounter_id, b.birth_order, b.mother_nik, b.born_at,
       b.child_nik, c.akta_number, b.kk_number, b.kk_version, b.stillborn
FROM births b LEFT JOIN birth_certificates c ON c.birth_id = b.id
"""


WRITE_LOCK = 727_004  # the class of the per-regency advisory locks: (WRITE_LOCK, regency code)
MAX_RESERVED = 64  # family cards a unit of work may reserve at once (a batch of notifications names a few)


class EmbeddedRegistry:
    """Writers of one regency are serialised by a transaction-scoped advisory lock on it.

    Every row a registration writes is scoped by the family's regency or a part of it: the NIK
    serial (kecamatan-day), the akta serial (regency-day), the family and its card. So writers of
    different regencies never touch the same rows and run in parallel (two hub processes, or a
    worker beside the consumer), while gap-free serials keep one regency's registrations in line
    anyway. A unit of work reserves the regencies of the family cards its batch names first, in
    ascending order (`reserve`): two transactions then never hold one regency each while waiting for
    the other's. A registration in a regency not reserved takes its lock when it comes (a rare
    deadlock is detected by PostgreSQL and the transaction retried)."""

    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn
        self._locked: set[int] = set()
        self._regency_of: dict[str, int] = {}  # family card -> regency, as facts() read it (it never changes)

    async def reserve(self, family_cards: Collection[str]) -> None:
        """Lock the regencies where the families of these cards live, in ascending order, in one
        statement; at most MAX_RESERVED cards (beyond that nothing is reserved: each registration
        then takes its own regency when it comes)."""
        cards = sorted(set(family_cards))
        if not cards or len(cards) > MAX_RESERVED:
            return
        rows = await self._conn.fetch(
            """SELECT r.regency, pg_advisory_xact_lock($1, r.regency)
               FROM (SELECT DISTINCT left(kecamatan, 4)::int AS regency FROM families
                     WHERE kk_number = ANY($2::text[]) ORDER BY 1) r""",
            WRITE_LOCK,
            cards,
        )
        self._locked.update(row["regency"] for row in rows)

    async def _before_write(self, kk_number: str) -> None:
        regency = self._regency_of.get(kk_number)
        if regency is None:
            found = await self._conn.fetchval("SELECT left(kecamatan, 4) FROM families WHERE kk_number = $1", kk_number)
            regency = None if found is None else int(found)
        if regency is not None and regency not in self._locked:
            await self._lock(regency)

    async def _lock(self, code: int) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1, $2)", WRITE_LOCK, code)
        self._locked.add(code)

    async def facts(self, notice: BirthNotice) -> RegistryFacts:
        found = await registry_facts(self._conn, notice)
        if found.family is not None:
            self._regency_of[found.family.kk_number] = int(found.family.regency)
        return found

    async def person(self, nik: str) -> Person | None:
        row = await self._conn.fetchrow(
            "SELECT nik, name, sex, birth_date, kk_number, alive FROM persons WHERE nik = $1", nik
        )
        return (
            None
            if row is None
            else Person(row["nik"], row["name"], Sex(row["sex"]), row["birth_date"], row["kk_number"], row["alive"])
        )

    async def family(self, kk_number: str) -> Family | None:
        row = await self._conn.fetchrow(
            """SELECT f.kk_number, f.kecamatan, f.current_version,
                      (SELECT coalesce(json_agg(json_build_object('nik', p.nik, 'name', p.name, 'sex', p.sex,
                                 'birth_date', p.birth_date, 'relationship', m.relationship) ORDER BY m.position), '[]')
                       FROM family_version_members m JOIN persons p ON p.nik = m.nik
                       WHERE m.kk_number = f.kk_number AND m.version = f.current_version) AS members
               FROM families f WHERE f.kk_number = $1""",
            kk_number,
        )
        if row is None:
            return None
        members = tuple(
            FamilyMember(
                m["nik"], m["name"], Sex(m["sex"]), date.fromisoformat(m["birth_date"]), Relationship(m["relationship"])
            )
            for m in json.loads(row["members"])
        )
        return Family(row["kk_number"], row["kecamatan"], row["current_version"], members)

    async def birth_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> RegisteredBirth | None:
        row = await self._conn.fetchrow(
            _BIRTH_COLUMNS + " WHERE b.hospital_id = $1 AND b.encounter_id = $2 AND b.birth_order = $3",
            hospital_id,
            encounter_id,
            birth_order,
        )
        return None if row is None else RegisteredBirth(**dict(row))

    async def births_of_mother(self, mother_nik: str) -> list[RegisteredBirth]:
        rows = await self._conn.fetch(_BIRTH_COLUMNS + " WHERE b.mother_nik = $1 ORDER BY b.born_at", mother_nik)
        return [RegisteredBirth(**dict(row)) for row in rows]

    async def register_birth(self, notice: BirthNotice, decision: Register, at: datetime) -> Registration:
        """Seven round trips: lock the family, read it, NIK serial, child, akta serial, birth with its
        certificate, and the new family card version with its members."""
        await self._before_write(notice.kk_number)
        family = await self._locked_family(notice.kk_number)
        if family is None:
            raise PermanentError(codes.KK_NOT_FOUND, "the family card disappeared before registration")
        child_nik = await self._insert_child(notice, family)
        scope = akta_prefix(family.regency, late=decision.late, issued_on=registration_date(at, notice.born_at))
        akta = akta_number(scope, await next_serial(self._conn, f"akta:{scope}"))
        card = reissue_with_child(
            family, FamilyMember(child_nik, notice.child_name, notice.sex, notice.birth_date, Relationship.CHILD)
        )
        await self._conn.execute(
            f"""WITH b AS ({_INSERT_BIRTH} RETURNING id)
                INSERT INTO birth_certificates (akta_number, birth_id, issuing_regency, variant, registration_type, issued_at)
                SELECT $12, b.id, $13, $14, $15, $11 FROM b""",
            *self._birth_values(notice, child_nik, card.version, at, False),
            akta,
            family.regency,
            decision.variant.value,
            "LT" if decision.late else "LU",
        )
        await self._write_card(card, family.regency, akta, at)
        return Registration(child_nik, akta, family.regency, card, at)

    async def record_stillbirth(self, notice: BirthNotice, at: datetime) -> None:
        # No regency lock: a stillbirth takes no serial and changes no family card.
        await self._conn.execute(
            f"""WITH b AS ({_INSERT_BIRTH} RETURNING id)
                INSERT INTO stillbirths (birth_id, weight_g, gestational_weeks, recorded_at) SELECT b.id, $12, $13, $11 FROM b""",
            *self._birth_values(notice, None, None, at, True),
            notice.weight_g,
            notice.gestational_weeks,
        )

    async def correct_child(self, child_nik: str, correction: Correction) -> bool:
        fields = correction.fields()
        await self._conn.execute(
            """UPDATE persons SET name = coalesce($2, name), mother_name = coalesce($3, mother_name),
                                  father_name = coalesce($4, father_name), birth_place = coalesce($5, birth_place)
               WHERE nik = $1""",
            child_nik,
            fields.get("child_name"),
            fields.get("mother_name"),
            fields.get("father_name"),
            fields.get("place_of_birth"),
        )
        return True

    async def _locked_family(self, kk_number: str) -> Family | None:
        # Two statements on purpose: after waiting for the lock, a statement still reads with the
        # snapshot it started with, so members read in the locking statement could be a version old.
        if not await self._conn.fetchval("SELECT true FROM families WHERE kk_number = $1 FOR UPDATE", kk_number):
            return None
        return await self.family(kk_number)

    async def _insert_child(self, notice: BirthNotice, family: Family) -> str:
        """The next serial in the NIK scope that no person holds (seeded or imported NIKs included)."""
        prefix = nik_prefix(family.kecamatan, notice.birth_date, notice.sex)
        while True:
            nik = with_serial(prefix, await next_serial(self._conn, f"nik:{prefix}"))
            inserted = await self._conn.fetchval(
                """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship, father_name, mother_name)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (nik) DO NOTHING RETURNING nik""",
                nik,
                notice.child_name,
                notice.sex.value,
                notice.birth_date,
                family.kk_number,
                Relationship.CHILD.value,
                notice.father_name or "",
                notice.mother_name,
            )
            if inserted is not None:
                return nik

    @staticmethod
    def _birth_values(
        notice: BirthNotice, child_nik: str | None, kk_version: int | None, at: datetime, stillborn: bool
    ) -> tuple:
        return (
            notice.message_id,
            notice.hospital_id,
            notice.encounter_id,
            notice.birth_order,
            notice.mother_nik,
            notice.born_at,
            stillborn,
            child_nik,
            notice.kk_number,
            kk_version,
            at,
        )

    async def _write_card(self, card, regency: str, akta: str, at: datetime) -> None:
        await self._conn.execute(
            """WITH v AS (INSERT INTO family_versions (kk_number, version, issued_at, regency, reason, akta_number)
                          VALUES ($1, $2, $3, $4, 'birth', $5)),
                    m AS (INSERT INTO family_version_members (kk_number, version, position, nik, relationship)
                          SELECT $1, $2, u.position, u.nik, u.relationship
                          FROM unnest($6::text[], $7::text[]) WITH ORDINALITY AS u(nik, relationship, position))
               UPDATE families SET current_version = $2 WHERE kk_number = $1""",
            card.kk_number,
            card.version,
            at,
            regency,
            akta,
            [m.nik for m in card.members],
            [m.relationship.value for m in card.members],
        )
