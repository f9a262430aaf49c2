"""Store a synthetic population in the embedded registry, numbering people with the registry's allocator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import asyncpg

from hub.adapters.postgres.serials import next_serial
from hub.domain.numbers import kk_prefix, nik_prefix, with_serial
from hub.simulation.population import SeedFamily, SeedHospital


async def is_empty(conn: asyncpg.Connection) -> bool:
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM families)")


async def store_hospitals(conn: asyncpg.Connection, hospitals: list[SeedHospital]) -> None:
    await conn.executemany(
        "INSERT INTO hospitals (org_id, name, regency, active) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO NOTHING",
        [(h.org_id, h.name, h.regency, h.active) for h in hospitals])


async def store_families(conn: asyncpg.Connection, families: list[SeedFamily],
                         progress: Callable[[int], None] = lambda _: None) -> int:
    """Store families, each in its own transaction; returns the number of persons stored."""
    persons = 0
    for family in families:
        async with conn.transaction():
            persons += await _store_family(conn, family)
        progress(1)
    return persons


async def _free(conn: asyncpg.Connection, scope: str, prefix: str, table: str, column: str) -> str:
    while True:
        number = with_serial(prefix, await next_serial(conn, f"{scope}:{prefix}"))
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = $1)", number):
            return number


async def _store_family(conn: asyncpg.Connection, family: SeedFamily) -> int:
    kk = await _free(conn, "kk", kk_prefix(family.kecamatan, family.recorded_on), "families", "kk_number")
    await conn.execute("INSERT INTO families (kk_number, kecamatan, current_version) VALUES ($1, $2, 1)",
                       kk, family.kecamatan)
    issued = datetime.combine(family.recorded_on, datetime.min.time(), timezone.utc)
    await conn.execute(
        "INSERT INTO family_versions (kk_number, version, issued_at, regency, reason) VALUES ($1, 1, $2, $3, 'seed')",
        kk, issued, family.kecamatan[:4])
    for position, member in enumerate(family.members, 1):
        nik = await _free(conn, "nik", nik_prefix(family.kecamatan, member.birth_date, member.sex), "persons", "nik")
        await conn.execute(
            """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship, religion, father_name, mother_name)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            nik, member.name, member.sex.value, member.birth_date, kk, member.relationship.value, member.religion,
            member.father_name, member.mother_name)
        await conn.execute(
            "INSERT INTO family_version_members (kk_number, version, position, nik, relationship) VALUES ($1, 1, $2, $3, $4)",
            kk, position, nik, member.relationship.value)
    return len(family.members)
