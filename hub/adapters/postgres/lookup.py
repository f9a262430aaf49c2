"""Everything the registration decision needs from the embedded registry, in one round trip.

Mother, father, the family card (without members: the decision only needs it to exist), the same
birth by its natural key, and the mother's earlier births: one SQL statement returning JSON.
`prepared_facts` reads them for a whole batch of notices in one statement, each family with its
current members too (what registering into it needs).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from hub.adapters.postgres.database import PgConnection
from hub.domain.decision import RegistryFacts
from hub.domain.values import BirthNotice, Family, FamilyMember, Person, RegisteredBirth, Relationship, Sex

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


# The members of family f's current card, as a JSON array in card order.
MEMBERS = """(SELECT coalesce(json_agg(json_build_object('nik', p.nik, 'name', p.name, 'sex', p.sex,
                 'birth_date', p.birth_date, 'relationship', m.relationship) ORDER BY m.position), '[]')
               FROM family_version_members m JOIN persons p ON p.nik = m.nik
               WHERE m.kk_number = f.kk_number AND m.version = f.current_version)"""
BATCH_LOOKUP = f"""
SELECT
  (SELECT row_to_json(p) FROM ({_PERSON.format("u.mother")}) p) AS mother,
  (SELECT row_to_json(p) FROM ({_PERSON.format("u.father")}) p) AS father,
  (SELECT json_build_object('kk_number', f.kk_number, 'kecamatan', f.kecamatan, 'version', f.current_version,
                            'members', {MEMBERS})
     FROM families f WHERE f.kk_number = u.kk) AS family,
  (SELECT row_to_json(b) FROM ({_BIRTHS.format("b.hospital_id = u.hospital AND b.encounter_id = u.encounter AND b.birth_order = u.birth_order")}) b)
     AS same_birth,
  (SELECT coalesce(json_agg(row_to_json(b) ORDER BY b.born_at), '[]')
     FROM ({_BIRTHS.format("b.mother_nik = u.mother")}) b) AS mothers_births
FROM unnest($1::bpchar[], $2::bpchar[], $3::bpchar[], $4::text[], $5::text[], $6::int[]) WITH ORDINALITY
     AS u(mother, father, kk, hospital, encounter, birth_order, i)
ORDER BY u.i
"""


def lookup_key(notice: BirthNotice) -> tuple:
    """What the facts of a notice are looked up by (the lookups' parameters, in order)."""
    return (
        notice.mother_nik,
        notice.father_nik,
        notice.kk_number,
        notice.hospital_id,
        notice.encounter_id,
        notice.birth_order,
    )


async def prepared_facts(conn: PgConnection, notices: list[BirthNotice]) -> list[tuple[RegistryFacts, Family | None]]:
    """Per notice, in order: its facts, and its family at the current card with the members."""
    rows = await conn.fetch(BATCH_LOOKUP, *(list(column) for column in zip(*map(lookup_key, notices), strict=True)))
    found = []
    for row in rows:
        family = _json(row["family"])
        card = None
        if family is not None:
            card = Family(
                family["kk_number"], family["kecamatan"], family["version"], family_members(family["members"])
            )
        found.append((_facts(row, family), card))
    return found


def family_members(members: list[dict] | str) -> tuple[FamilyMember, ...]:
    """A card's members from their JSON (MEMBERS), parsed or not."""
    return tuple(
        FamilyMember(
            m["nik"], m["name"], Sex(m["sex"]), date.fromisoformat(m["birth_date"]), Relationship(m["relationship"])
        )
        for m in (json.loads(members) if isinstance(members, str) else members)
    )


async def registry_facts(conn: PgConnection, notice: BirthNotice) -> RegistryFacts:
    row = await conn.fetchrow(LOOKUP, *lookup_key(notice))
    assert row is not None  # a SELECT without FROM returns exactly one row
    return _facts(row, _json(row["family"]))


def _facts(row, family: dict | None) -> RegistryFacts:
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
