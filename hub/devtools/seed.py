"""Store a synthetic population in the embedded registry, numbering people with the registry's allocator."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from hub.adapters.postgres.database import PgConnection, create_pool, migrate
from hub.adapters.postgres.registry import WRITE_LOCK
from hub.adapters.postgres.schema import ensure_database
from hub.adapters.postgres.serials import next_serial
from hub.adapters.regions import kecamatan_of
from hub.devtools.simulation import population
from hub.devtools.simulation.population import SeedFamily, SeedHospital
from hub.domain.numbers import kk_prefix, nik_prefix, with_serial

log = logging.getLogger("hub.seed")


async def is_empty(conn: PgConnection) -> bool:
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM families)")


async def store_hospitals(conn: PgConnection, hospitals: list[SeedHospital]) -> None:
    await conn.executemany(
        "INSERT INTO hospitals (org_id, name, regency, active) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO NOTHING",
        [(h.org_id, h.name, h.regency, h.active) for h in hospitals],
    )


async def store_families(
    conn: PgConnection, families: list[SeedFamily], progress: Callable[[int], None] = lambda _: None
) -> int:
    """Store families, each in its own transaction; returns the number of persons stored."""
    persons = 0
    for family in families:
        async with conn.transaction():
            persons += await _store_family(conn, family)
        progress(1)
    return persons


async def _free(conn: PgConnection, scope: str, prefix: str, table: str, column: str) -> str:
    while True:
        number = with_serial(prefix, await next_serial(conn, f"{scope}:{prefix}"))
        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = $1)", number):
            return number


async def _store_family(conn: PgConnection, family: SeedFamily) -> int:
    # Under the regency's lock, as every writer of its families, persons and serials (registry.py).
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", WRITE_LOCK, int(family.kecamatan[:4]))
    kk = await _free(conn, "kk", kk_prefix(family.kecamatan, family.recorded_on), "families", "kk_number")
    await conn.execute(
        "INSERT INTO families (kk_number, kecamatan, current_version) VALUES ($1, $2, 1)", kk, family.kecamatan
    )
    issued = datetime.combine(family.recorded_on, datetime.min.time(), UTC)
    await conn.execute(
        "INSERT INTO family_versions (kk_number, version, issued_at, regency, reason) VALUES ($1, 1, $2, $3, 'seed')",
        kk,
        issued,
        family.kecamatan[:4],
    )
    for position, member in enumerate(family.members, 1):
        nik = await _free(conn, "nik", nik_prefix(family.kecamatan, member.birth_date, member.sex), "persons", "nik")
        await conn.execute(
            """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship, religion, father_name, mother_name)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            nik,
            member.name,
            member.sex.value,
            member.birth_date,
            kk,
            member.relationship.value,
            member.religion,
            member.father_name,
            member.mother_name,
        )
        await conn.execute(
            "INSERT INTO family_version_members (kk_number, version, position, nik, relationship) VALUES ($1, 1, $2, $3, $4)",
            kk,
            position,
            nik,
            member.relationship.value,
        )
    return len(family.members)


async def seed_population(
    pool: asyncpg.Pool,
    *,
    families: int,
    seed_value: int = 1,
    today: date | None = None,
    only_if_empty: bool = True,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Seed hospitals and `families` synthetic families; returns persons stored (0 if skipped)."""
    async with pool.acquire() as conn:
        if only_if_empty and not await is_empty(conn):
            return 0
        regencies = sorted(population.REGENCIES)
        await store_hospitals(conn, population.hospitals(regencies))
        by_regency = {r: [code for code, _ in kecamatan_of(r)] for r in regencies}
        generated = population.families(families, by_regency, today or date.today(), seed_value)
        return await store_families(conn, generated, progress)


async def prepare_siak_registry(dsn: str, seed_families: int) -> tuple[bool, int]:
    """The SIAK reference server's database: created if missing, migrated, seeded if empty.
    Returns whether it was created and how many persons were seeded."""
    created = await ensure_database(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, also=("hub.devtools.siak",))
        return created, await seed_population(pool, families=seed_families) if seed_families else 0
    finally:
        await pool.close()


async def seed_development_registry(pool: asyncpg.Pool, *, families: int, console_accounts: Path | None = None) -> None:
    """`hub run`'s development default: an empty embedded registry gets a synthetic population,
    and a database without console accounts gets one per role (hub/devtools/console_accounts.py)."""
    stored = await seed_population(pool, families=families)
    if stored:
        log.info("seeded synthetic population persons=%d families=%d", stored, families)
    if console_accounts is not None:
        from hub.devtools.console_accounts import seed_console_accounts

        await seed_console_accounts(pool, console_accounts)
