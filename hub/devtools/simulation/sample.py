"""One fresh notification for a mother of the seeded registry: for trying the hub by hand."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg

from hub.config import Settings
from hub.devtools.simulation.bundles import BirthSpec, Parent, build_notification, record_key

KINDS = ("valid", "twin", "stillbirth", "placeholder-name", "unknown-mother")
_MOTHER = """
SELECT m.nik, m.name, m.birth_date, m.kk_number, h.nik AS f_nik, h.name AS f_name, f.kecamatan
FROM persons m JOIN families f ON f.kk_number = m.kk_number
JOIN persons h ON h.kk_number = m.kk_number AND h.relationship = 'KEPALA KELUARGA'
WHERE m.relationship = 'ISTRI' ORDER BY random() LIMIT 1
"""
_HOSPITAL = "SELECT org_id FROM hospitals WHERE active AND ($1::text IS NULL OR org_id = $1) ORDER BY random() LIMIT 1"


@dataclass(frozen=True)
class Sample:
    key: str  # the record's key: the regency of the mother's family card (bundles.record_key)
    hospital_id: str  # the sender: the hospital whose topic it goes to, which signs it
    document: dict


async def sample_notification(settings: Settings, kind: str, hospital_id: str | None = None) -> Sample:
    """A notification of `kind` from `hospital_id` (default: a random active hospital)."""
    conn = await asyncpg.connect(settings.dsn)
    try:
        row = await conn.fetchrow(_MOTHER)
        hospital = await conn.fetchval(_HOSPITAL, hospital_id)
        witnesses = [
            r["nik"]
            for r in await conn.fetch(
                "SELECT nik FROM persons WHERE kk_number <> $1 AND birth_date < now() - interval '18 years' ORDER BY random() LIMIT 2",
                row["kk_number"] if row else "",
            )
        ]
    finally:
        await conn.close()
    if row is None or (hospital is None and hospital_id is None):
        raise LookupError("the registry is empty: run `hub seed` (or `make run`, which seeds) first")
    if hospital is None:
        raise LookupError(f"no active hospital {hospital_id} in the registry (`hub hospitals list`)")
    mother = Parent(row["nik"], row["name"], row["birth_date"], row["kk_number"])
    if kind == "unknown-mother":
        mother = Parent(row["kecamatan"] + "5501990999", "Ibu Tidak Terdaftar", None, row["kk_number"])
    spec = BirthSpec(
        hospital_id=hospital,
        encounter_id=f"TRY-{uuid.uuid4().hex[:10]}",
        mother=mother,
        father=Parent(row["f_nik"], row["f_name"]),
        child_name=_child_name(kind),
        sex=random.choice(["male", "female"]),
        born_at=datetime.now(timezone(timedelta(hours=7))) - timedelta(hours=3),
        reporter_nik=row["f_nik"],
        witness_niks=tuple(witnesses),
        stillborn=kind == "stillbirth",
        weight_g=900 if kind == "stillbirth" else 3100,
        birth_order=1 if kind == "twin" else 0,
        plurality=2 if kind == "twin" else 1,
    )
    return Sample(record_key(mother).decode(), hospital, build_notification(spec))


def _child_name(kind: str) -> str:
    if kind == "placeholder-name":
        return "Bayi Ny. Contoh"
    return f"{random.choice(['Ayu', 'Bima', 'Citra', 'Dimas', 'Eka', 'Fajar'])} {random.choice(['Lestari', 'Pratama', 'Putri'])}"
