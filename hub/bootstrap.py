"""Wiring: build the hub's parts from the settings. The only place that knows every adapter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timezone

import asyncpg

from hub.adapters.postgres import seed
from hub.adapters.postgres.database import create_pool, migrate
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.adapters.regions import kecamatan_known, kecamatan_of
from hub.config import Settings
from hub.service.pipeline import IntakeLimits, Pipeline
from hub.service.register_birth import RegisterBirths
from hub.simulation import population

log = logging.getLogger("hub.bootstrap")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def open_pool(settings: Settings) -> asyncpg.Pool:
    return await create_pool(settings.dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)


async def prepare_database(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        return await migrate(conn)


def registration_handler(settings: Settings, pool: asyncpg.Pool, clock: Callable[[], datetime] = utc_now) -> RegisterBirths:
    return RegisterBirths(lambda: PostgresUnitOfWork(pool), pipeline(settings), clock)


def pipeline(settings: Settings) -> Pipeline:
    limits = IntakeLimits(settings.max_message_bytes, settings.max_json_depth, settings.strict_nik)
    return Pipeline(settings.topics, limits, kecamatan_known)


async def seed_population(pool: asyncpg.Pool, *, families: int, seed_value: int = 1, today: date | None = None,
                          only_if_empty: bool = True, progress: Callable[[int], None] = lambda _: None) -> int:
    """Seed hospitals and `families` synthetic families; returns persons stored (0 if skipped)."""
    async with pool.acquire() as conn:
        if only_if_empty and not await seed.is_empty(conn):
            return 0
        regencies = sorted(population.REGENCIES)
        await seed.store_hospitals(conn, population.hospitals(regencies))
        by_regency = {r: [code for code, _ in kecamatan_of(r)] for r in regencies}
        generated = population.families(families, by_regency, today or date.today(), seed_value)
        return await seed.store_families(conn, generated, progress)
