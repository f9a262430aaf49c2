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
