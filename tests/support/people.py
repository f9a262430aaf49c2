"""Pick synthetic mothers, fathers and witnesses from a seeded test registry, and build their births."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg

from hub.devtools.simulation.bundles import BirthSpec, Parent

WIB = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Household:
    mother: Parent
    father: Parent
    kecamatan: str
    kk_version: int


async def households(dsn: str, count: int) -> list[Household]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT m.nik AS m_nik, m.name AS m_name, m.birth_date AS m_birth, m.kk_number, f.kecamatan,
                      f.current_version, h.nik AS h_nik, h.name AS h_name, h.birth_date AS h_birth
               FROM persons m JOIN families f ON f.kk_number = m.kk_number
               JOIN persons h ON h.kk_number = m.kk_number AND h.relationship = 'KEPALA KELUARGA'
               WHERE m.relationship = 'ISTRI' ORDER BY m.nik LIMIT $1""",
            count,
        )
    finally:
        await conn.close()
    if len(rows) < count:
        raise RuntimeError(f"the test registry has {len(rows)} households, {count} needed: seed more families")
    return [
        Household(
            Parent(r["m_nik"], r["m_name"], r["m_birth"], r["kk_number"]),
            Parent(r["h_nik"], r["h_name"], r["h_birth"]),
            r["kecamatan"],
            r["current_version"],
        )
        for r in rows
    ]


def birth(household: Household, hospital_id: str, *, rng: random.Random | None = None, **changes) -> BirthSpec:
    """A valid notification for this household, born a few hours ago, with a fresh message id."""
    rng = rng or random.Random()
    values = dict(
        hospital_id=hospital_id,
        encounter_id=f"ENC-{uuid.uuid4().hex[:12]}",
        mother=household.mother,
        father=household.father,
        child_name=f"Anak {rng.choice(['Ayu', 'Bima', 'Citra', 'Dimas', 'Eka'])} {rng.randint(1, 999)}",
        sex=rng.choice(["male", "female"]),
        born_at=datetime.now(WIB) - timedelta(hours=rng.randint(1, 40)),
        reporter_nik=household.father.nik,
        witness_niks=(household.father.nik, household.mother.nik),
    )
    if changes.get("birth_order") and "born_at" not in changes:
        # Twins are one delivery: born minutes apart, at a time shared by the encounter.
        hours = random.Random(changes.get("encounter_id", "")).randint(1, 40)
        values["born_at"] = (
            datetime.now(WIB) - timedelta(hours=hours) + timedelta(minutes=7 * changes["birth_order"])
        ).replace(second=0, microsecond=0)
    values.update(changes)
    return BirthSpec(**values)
