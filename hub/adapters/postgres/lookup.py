"""Everything the registration decision needs from the embedded registry, in one round trip.

Mother, father, the family card (without members: the decision only needs it to exist), the same
birth by its natural key, and the mother's earlier births: one SQL statement returning JSON, which
matters when a batch decides a hundred births in one transaction.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from hub.adapters.postgres.database import PgConnection
from hub.domain.decision import RegistryFacts
from hub.domain.values import BirthNotice, Family, Person, RegisteredBirth, Sex

_PERSON = "SELECT nik, name, sex, birth_date, kk_number, alive FROM persons WHERE nik = {}"
_BIRTHS = """SELECT b.message_id, b.hospital_id, b.encounter_id, b.birth_order, b.mother_nik, b.born_at,
                    b.child_nik, c.akta_number, b.kk_number, b.kk_version, b.stillborn
             FROM births b LEFT JOIN birth_certificates c ON c.birth_id = b.id WHERE {}"""
LOOKUP = f"""
SELECT
  (SELECT row_to_json(p) FROM ({_PERSON.format("$1")}) p) AS mother,
  (SELECT row_to_json(p) FROM ({_PERSON.format("$2")}) p) AS father,
  (SELECT json_build_object('kk_number', f.kk_number, 'kecamatan', f.kecamatan, 'version', f.current_version)
     FROM families f WHERE f.kk_number = $3) AS family,
  (SELECT row_to_json(b) FROM ({_BIRTHS.format("b.hospital_id = $4 AND b.encounter_id = $5 AND b.birth_order = $6")}) b)
     AS same_birth,
  (SELECT coalesce(json_agg(row_to_json(b) ORDER BY b.born_at), '[]')
     FROM ({_BIRTHS.format("b.mother_nik = $1")}) b) AS mothers_births
"""


async def registry_facts(conn: PgConnection, notice: BirthNotice) -> RegistryFacts:
    row = await conn.fetchrow(
        LOOKUP,
        notice.mother_nik,
        notice.father_nik,
        notice.kk_number,
        notice.hospital_id,
        notice.encounter_id,
        notice.birth_order,
    )
    assert row is not None  # a SELECT without FROM returns exactly one row
    family = _json(row["family"])
    same_birth = _json(row["same_birth"])
    return RegistryFacts(
        hospital=None,
        mother=_person(_json(row["mother"])),
        father=_person(_json(row["father"])),
        family=Family(family["kk_number"], family["kecamatan"], family["version"]) if family else None,
        same_birth=None if same_birth is None else _birth(same_birth),
        mothers_births=tuple(_birth(b) for b in _json(row["mothers_births"])),
    )


def _json(value: str | None):
    return None if value is None else json.loads(value)


def _person(found: dict | None) -> Person | None:
    if found is None:
        return None
    return Person(
        found["nik"],
        found["name"],
        Sex(found["sex"]),
        date.fromisoformat(found["birth_date"]),
        found["kk_number"],
        found["alive"],
    )


def _birth(found: dict) -> RegisteredBirth:
    return RegisteredBirth(**{**found, "born_at": datetime.fromisoformat(found["born_at"])})
