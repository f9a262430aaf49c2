"""The embedded registry under concurrency, on the real PostgreSQL server.

Two births into one family at the same moment must both land, in consecutive family card
versions, and no number may ever be issued twice; a rolled-back registration gives its serial back.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.devtools.simulation.bundles import build_notification
from hub.domain.decision import Register
from hub.domain.values import AktaVariant
from hub.intake.profile import read_notice
from tests.support.people import birth, households

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
REGISTER = Register(AktaVariant.BOTH_PARENTS, late=False)


def notice_for(spec):
    result = read_notice(build_notification(spec), now=datetime.now(UTC), strict_nik=True, region_known=lambda _: True)
    assert result.notice is not None, result.issues
    return result.notice


async def register(pool, notice):
    async with PostgresUnitOfWork(pool) as uow:
        registration = await uow.registry.register_birth(notice, REGISTER, datetime.now(UTC))
        await uow.commit()
    return registration


async def test_twins_registered_at_the_same_moment_both_land_in_consecutive_versions(environment, pool):
    household = (await households(environment.settings.dsn, 1))[0]
    first = notice_for(birth(household, "103578001", birth_order=1, plurality=2, encounter_id="TWIN-ENC"))
    second = notice_for(birth(household, "103578001", birth_order=2, plurality=2, encounter_id="TWIN-ENC"))

    one, two = await asyncio.gather(register(pool, first), register(pool, second))

    versions = sorted([one.family_card.version, two.family_card.version])
    assert versions == [household.kk_version + 1, household.kk_version + 2]
    assert one.child_nik != two.child_nik and one.akta_number != two.akta_number
    async with PostgresUnitOfWork(pool) as uow:
        family = await uow.registry.family(household.mother.kk_number)
    assert family.version == household.kk_version + 2
    assert {one.child_nik, two.child_nik} <= {member.nik for member in family.members}


async def test_many_concurrent_births_never_share_a_number_and_leave_no_gaps(environment, pool):
    homes = (await households(environment.settings.dsn, 12))[2:12]
    rng = random.Random(5)
    # One moment an hour ago: every birth on the same local day (a fixed hour such as 01:00 is in
    # the future during the first hour of the day in WIB, and the intake rightly refuses that).
    same_day = datetime.now(UTC).astimezone(birth(homes[0], "x").born_at.tzinfo) - timedelta(hours=1)
    notices = [
        notice_for(birth(homes[i % len(homes)], "103578001", rng=rng, born_at=same_day, sex="female"))
        for i in range(30)
    ]

    registrations = await asyncio.gather(*(register(pool, n) for n in notices))

    niks = [r.child_nik for r in registrations]
    aktas = [r.akta_number for r in registrations]
    assert len(set(niks)) == 30 and len(set(aktas)) == 30
    by_scope = Counter(a.rsplit("-", 1)[0] for a in aktas)
    for scope, count in by_scope.items():
        serials = sorted(int(a.rsplit("-", 1)[1]) for a in aktas if a.startswith(scope))
        assert serials == list(range(serials[0], serials[0] + count)), f"gap or repeat in {scope}"
    per_family = Counter(r.family_card.kk_number for r in registrations)
    async with pool.acquire() as conn:
        for kk in per_family:
            versions = [
                row["version"]
                for row in await conn.fetch(
                    "SELECT version FROM family_versions WHERE kk_number = $1 ORDER BY version", kk
                )
            ]
            assert versions == list(range(1, versions[-1] + 1)), f"family card versions of {kk} are not consecutive"


async def test_a_rolled_back_registration_gives_its_serials_back(environment, pool):
    household = (await households(environment.settings.dsn, 20))[15]
    notice = notice_for(birth(household, "103578001"))
    async with PostgresUnitOfWork(pool) as uow:
        abandoned = await uow.registry.register_birth(notice, REGISTER, datetime.now(UTC))
        # leaving without commit rolls back

    kept = await register(pool, notice)

    assert kept.child_nik == abandoned.child_nik
    assert kept.akta_number == abandoned.akta_number
    assert kept.family_card.version == abandoned.family_card.version


async def _by_regency(dsn: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for home in await households(dsn, 40):
        found.setdefault(home.kecamatan[:4], []).append(home)
    return found


async def _advisory_waiters(pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2 AND classid::int8 = $1",
            REGENCY_LOCK_CLASS,
        )


REGENCY_LOCK_CLASS = 727_004  # hub/adapters/postgres/registry.py WRITE_LOCK: (class, regency) advisory locks


async def test_writers_of_different_regencies_do_not_wait_for_each_other(environment, pool):
    regencies = [homes for homes in (await _by_regency(environment.settings.dsn)).values() if len(homes) >= 3]
    assert len(regencies) >= 2, "the test registry needs households in two regencies"
    here, there = regencies[0][-1], regencies[1][-1]
    async with PostgresUnitOfWork(pool) as holding:
        await holding.registry.register_birth(notice_for(birth(here, "103578001")), REGISTER, datetime.now(UTC))
        # `holding` keeps its regency locked until it commits; another regency's writer goes ahead.
        other = await asyncio.wait_for(register(pool, notice_for(birth(there, "103578001"))), timeout=60)
        assert other.issuing_regency == there.kecamatan[:4]
        assert await _advisory_waiters(pool) == 0
        await holding.commit()


async def test_writers_of_one_regency_take_turns(environment, pool):
    homes = next(homes for homes in (await _by_regency(environment.settings.dsn)).values() if len(homes) >= 3)
    first, second = homes[-2], homes[-3]
    async with PostgresUnitOfWork(pool) as holding:
        await holding.registry.register_birth(notice_for(birth(first, "103578001")), REGISTER, datetime.now(UTC))
        waiting = asyncio.ensure_future(register(pool, notice_for(birth(second, "103578001"))))
        for _ in range(600):  # until PostgreSQL shows the second writer waiting for the regency's lock
            if await _advisory_waiters(pool):
                break
            await asyncio.sleep(0.05)
        assert await _advisory_waiters(pool) == 1 and not waiting.done()
        await holding.commit()
    registered = await asyncio.wait_for(waiting, timeout=60)
    assert registered.issuing_regency == first.kecamatan[:4]


async def test_batches_reserving_the_same_regencies_in_any_order_never_deadlock(environment, pool):
    regencies = [homes for homes in (await _by_regency(environment.settings.dsn)).values() if len(homes) >= 4]
    assert len(regencies) >= 2
    a, b = regencies[0], regencies[1]
    deadlocks = []

    async def batch(homes_in_order, names):
        async with PostgresUnitOfWork(pool) as uow:
            await uow.registry.reserve(names)
            for home in homes_in_order:
                await uow.registry.register_birth(notice_for(birth(home, "103578001")), REGISTER, datetime.now(UTC))
                await asyncio.sleep(0.05)  # let the other batch interleave
            await uow.commit()

    try:
        await asyncio.gather(
            batch([a[0], b[0]], [a[0].mother.kk_number, b[0].mother.kk_number]),
            batch([b[1], a[1]], [b[1].mother.kk_number, a[1].mother.kk_number]),
        )
    except Exception as exc:  # noqa: BLE001 - a deadlock surfaces as asyncpg's DeadlockDetectedError
        deadlocks.append(type(exc).__name__)
    assert deadlocks == []
