"""The embedded registry's set-based batches, on the real PostgreSQL server.

A prepared batch is read in two statements and written in four when its unit of work commits,
however many births it holds; numbering in memory keeps the registry's rules: serials that
persons already hold are skipped, a full scope is refused, and concurrent batches of one regency
leave no gap and no repeat.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hub.adapters.postgres.registry import WRITE_LOCK, EmbeddedRegistry
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.devtools.simulation.bundles import build_notification
from hub.domain.decision import Register, registration_date
from hub.domain.documents import Correction
from hub.domain.numbers import akta_prefix, nik_prefix, with_serial
from hub.domain.values import AktaVariant, BirthNotice
from hub.errors import NumberSpaceExhausted
from hub.intake.profile import read_notice
from tests.support.people import WIB, Household, birth, households

pytestmark = [pytest.mark.postgres]
REGISTER = Register(AktaVariant.BOTH_PARENTS, late=False)


def notice_for(spec) -> BirthNotice:
    result = read_notice(build_notification(spec), now=datetime.now(UTC), strict_nik=True, region_known=lambda _: True)
    assert result.notice is not None, result.issues
    return result.notice


async def _statements_for(conn: asyncpg.Connection, notices: list[BirthNotice]) -> int:
    """Statements one unit of work sends to reserve, prepare, decide on and register `notices`."""
    sent: list[str] = []

    def log(record) -> None:
        sent.append(record.query)

    conn.add_query_logger(log)
    try:
        async with conn.transaction():
            registry = EmbeddedRegistry(conn)
            await registry.reserve({n.kk_number for n in notices})
            await registry.prepare(notices, datetime.now(UTC))
            for notice in notices:
                facts = await registry.facts(notice)
                assert facts.family is not None and facts.mother is not None
                await registry.register_birth(notice, REGISTER, datetime.now(UTC))
            await registry.flush()
    finally:
        conn.remove_query_logger(log)
    return len(sent)


async def test_a_prepared_batch_takes_the_same_few_statements_whatever_its_size(environment):
    homes = await households(environment.settings.dsn, 40)
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        # The first unit of work on a connection also has the driver look up the types it sends.
        await _statements_for(conn, [notice_for(birth(homes[33], "103578001"))])
        small = await _statements_for(conn, [notice_for(birth(home, "103578001")) for home in homes[20:22]])
        large = await _statements_for(conn, [notice_for(birth(home, "103578001")) for home in homes[22:32]])
    finally:
        await conn.close()

    assert small == large, "statements grew with the batch"
    # BEGIN, reserve, prepare 2 (facts and families, serial counters), write 4 (children, births,
    # cards, counters), COMMIT
    assert large <= 9


async def _last(pool, scope: str) -> int:
    return await pool.fetchval("SELECT coalesce(max(last), 0) FROM number_serials WHERE scope = $1", scope)


async def _hold(pool, home: Household, nik: str) -> None:
    """An imported person who already holds `nik` (numbered outside the hub's counter)."""
    await pool.execute(
        """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship)
           VALUES ($1, 'Penduduk Pindahan', 'female', $2, $3, 'FAMILI LAIN')""",
        nik,
        datetime.now(UTC).date(),
        home.mother.kk_number,
    )


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "read-when-registered"])
async def test_a_serial_that_a_person_already_holds_is_skipped(environment, pool, prepared):
    home = (await households(environment.settings.dsn, 40))[34 if prepared else 35]
    notice = notice_for(birth(home, "103578001", sex="female", born_at=datetime.now(WIB) - timedelta(days=20)))
    prefix = nik_prefix(home.kecamatan, notice.birth_date, notice.sex)
    last = await _last(pool, f"nik:{prefix}")
    await _hold(pool, home, with_serial(prefix, last + 1))

    async with PostgresUnitOfWork(pool) as uow:
        await uow.registry.reserve({home.mother.kk_number})
        if prepared:
            await uow.registry.prepare([notice], datetime.now(UTC))
        registration = await uow.registry.register_birth(notice, REGISTER, datetime.now(UTC))
        await uow.commit()

    assert registration.child_nik == with_serial(prefix, last + 2)
    assert await _last(pool, f"nik:{prefix}") == last + 2


async def test_a_full_serial_scope_is_refused_and_nothing_is_written(environment, pool):
    home = (await households(environment.settings.dsn, 40))[36]
    notice = notice_for(birth(home, "103578001", sex="male", born_at=datetime.now(WIB) - timedelta(days=45)))
    scope = f"nik:{nik_prefix(home.kecamatan, notice.birth_date, notice.sex)}"
    before = await _last(pool, scope)
    await pool.execute(
        "INSERT INTO number_serials (scope, last) VALUES ($1, 9999) ON CONFLICT (scope) DO UPDATE SET last = 9999",
        scope,
    )
    try:
        with pytest.raises(NumberSpaceExhausted):
            async with PostgresUnitOfWork(pool) as uow:
                await uow.registry.reserve({home.mother.kk_number})
                await uow.registry.prepare([notice], datetime.now(UTC))
                await uow.registry.register_birth(notice, REGISTER, datetime.now(UTC))
                await uow.commit()
        async with PostgresUnitOfWork(pool) as uow:
            assert (await uow.registry.family(home.mother.kk_number)).version == home.kk_version
            assert await uow.registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order) is None
    finally:
        await pool.execute("UPDATE number_serials SET last = $2 WHERE scope = $1", scope, before)


async def test_concurrent_prepared_batches_of_one_regency_leave_no_gap_and_no_repeat(environment, pool):
    by_regency: dict[str, list[Household]] = {}
    for home in await households(environment.settings.dsn, 40):
        by_regency.setdefault(home.kecamatan[:4], []).append(home)
    homes = max(by_regency.values(), key=len)
    assert len(homes) >= 3, "the test registry needs three households in one regency"
    born_at = datetime.now(WIB) - timedelta(hours=1)

    async def batch(count: int) -> list:
        notices = [
            notice_for(birth(homes[i % len(homes)], "103578001", born_at=born_at, sex="female")) for i in range(count)
        ]
        async with PostgresUnitOfWork(pool) as uow:
            await uow.registry.reserve({n.kk_number for n in notices})
            await uow.registry.prepare(notices, datetime.now(UTC))
            done = []
            for notice in notices:
                await uow.registry.facts(notice)
                done.append(await uow.registry.register_birth(notice, REGISTER, datetime.now(UTC)))
                await asyncio.sleep(0)  # let the other batch interleave
            await uow.commit()
        return done

    registrations = [r for done in await asyncio.gather(batch(6), batch(7), batch(5)) for r in done]

    niks, aktas = [r.child_nik for r in registrations], [r.akta_number for r in registrations]
    assert len(set(niks)) == len(niks) == 18 and len(set(aktas)) == 18
    for numbers, cut in ((niks, lambda n: (n[:12], int(n[12:]))), (aktas, lambda a: tuple(a.rsplit("-", 1)))):
        scopes = Counter(cut(n)[0] for n in numbers)
        for scope, count in scopes.items():
            serials = sorted(int(cut(n)[1]) for n in numbers if cut(n)[0] == scope)
            assert serials == list(range(serials[0], serials[0] + count)), f"gap or repeat in {scope}"
    async with pool.acquire() as conn:
        for kk in {r.family_card.kk_number for r in registrations}:
            rows = await conn.fetch("SELECT version FROM family_versions WHERE kk_number = $1 ORDER BY version", kk)
            versions = [row["version"] for row in rows]
            assert versions == list(range(1, versions[-1] + 1)), f"family card versions of {kk} are not consecutive"


async def test_two_hospitals_births_under_one_message_id_in_one_batch_each_get_their_certificate(environment, pool):
    """Message ids belong to their hospital: written together, each certificate and stillbirth
    record joins its own hospital's birth."""
    homes = await households(environment.settings.dsn, 40)
    other = await pool.fetchval("SELECT org_id FROM hospitals WHERE org_id <> '103578001' ORDER BY org_id LIMIT 1")
    mine = notice_for(birth(homes[37], "103578001"))
    theirs = notice_for(birth(homes[38], other, message_id=mine.message_id))
    still = notice_for(birth(homes[39], "103578001", stillborn=True))
    stranger = notice_for(birth(homes[38], other, message_id=still.message_id, stillborn=True))

    async with PostgresUnitOfWork(pool) as uow:
        await uow.registry.reserve({n.kk_number for n in (mine, theirs)})
        await uow.registry.prepare([mine, theirs, still, stranger], datetime.now(UTC))
        registered = [await uow.registry.register_birth(n, REGISTER, datetime.now(UTC)) for n in (mine, theirs)]
        for n in (still, stranger):
            await uow.registry.record_stillbirth(n, datetime.now(UTC))
        await uow.commit()

    rows = await pool.fetch(
        """SELECT b.hospital_id, b.child_nik, c.akta_number, s.birth_id IS NOT NULL AS stillbirth
           FROM births b LEFT JOIN birth_certificates c ON c.birth_id = b.id LEFT JOIN stillbirths s ON s.birth_id = b.id
           WHERE b.message_id = ANY($1::text[]) ORDER BY b.id""",
        [mine.message_id, still.message_id],
    )
    assert [(r["hospital_id"], r["child_nik"], r["akta_number"], r["stillbirth"]) for r in rows] == [
        ("103578001", registered[0].child_nik, registered[0].akta_number, False),
        (other, registered[1].child_nik, registered[1].akta_number, False),
        ("103578001", None, None, True),
        (other, None, None, True),
    ]


async def test_a_full_akta_scope_takes_no_nik_serial_even_if_the_unit_of_work_commits(environment, pool):
    """Both serials are found before either is taken: a caller that answers the refusal and commits
    its unit of work (as registry sagas do) leaves no gap in the NIK scope."""
    home = (await households(environment.settings.dsn, 40))[30]
    notice = notice_for(birth(home, "103578001", sex="male", born_at=datetime.now(WIB) - timedelta(days=3)))
    now = datetime.now(UTC)
    nik_scope = f"nik:{nik_prefix(home.kecamatan, notice.birth_date, notice.sex)}"
    akta_scope = f"akta:{akta_prefix(home.kecamatan[:4], late=False, issued_on=registration_date(now, notice.born_at))}"
    nik_before, akta_before = await _last(pool, nik_scope), await _last(pool, akta_scope)
    await pool.execute(
        "INSERT INTO number_serials (scope, last) VALUES ($1, 9999) ON CONFLICT (scope) DO UPDATE SET last = 9999",
        akta_scope,
    )
    try:
        async with PostgresUnitOfWork(pool) as uow:
            await uow.registry.reserve({home.mother.kk_number})
            await uow.registry.prepare([notice], now)
            with pytest.raises(NumberSpaceExhausted):
                await uow.registry.register_birth(notice, REGISTER, now)
            await uow.commit()
        assert await _last(pool, nik_scope) == nik_before
    finally:
        await pool.execute("UPDATE number_serials SET last = $2 WHERE scope = $1", akta_scope, akta_before)


async def test_a_correction_waits_for_the_regency_lock_of_the_childs_family(environment, pool):
    """correct_child writes persons, so it takes the regency's lock like every other writer: a
    registration into that family in progress keeps its card's names consistent."""
    home = (await households(environment.settings.dsn, 40))[29]
    async with PostgresUnitOfWork(pool) as uow:
        child = await uow.registry.register_birth(notice_for(birth(home, "103578001")), REGISTER, datetime.now(UTC))
        await uow.commit()
    async with PostgresUnitOfWork(pool) as holding:
        await holding.registry.reserve({home.mother.kk_number})

        async def correct() -> None:
            async with PostgresUnitOfWork(pool) as uow:
                await uow.registry.correct_child(child.child_nik, Correction(reason="t", child_name="Nama Benar"))
                await uow.commit()

        waiting = asyncio.ensure_future(correct())
        for _ in range(600):
            if await _regency_waiters(pool):
                break
            await asyncio.sleep(0.05)
        assert await _regency_waiters(pool) == 1 and not waiting.done()
        await holding.commit()
    await asyncio.wait_for(waiting, timeout=60)
    assert await pool.fetchval("SELECT name FROM persons WHERE nik = $1", child.child_nik) == "Nama Benar"


async def _regency_waiters(pool) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid::int8 = $1",
        WRITE_LOCK,
    )


async def test_prepare_passes_over_a_family_no_number_can_be_formed_from(environment, pool):
    """An imported family whose kecamatan is not six digits: prepare reads its facts and leaves its
    numbers to the registration (which the decision may never reach), instead of failing the batch."""
    home = (await households(environment.settings.dsn, 40))[28]
    odd_kk = "9" + home.mother.kk_number[1:]
    await pool.execute(
        "INSERT INTO families (kk_number, kecamatan, current_version) VALUES ($1, 'X1 2AB', 1) ON CONFLICT DO NOTHING",
        odd_kk,
    )
    notice = replace(notice_for(birth(home, "103578001")), kk_number=odd_kk)
    async with PostgresUnitOfWork(pool) as uow:
        await uow.registry.reserve({odd_kk, home.mother.kk_number})  # only the regency it can tell
        await uow.registry.prepare([notice], datetime.now(UTC))
        facts = await uow.registry.facts(notice)
        again = await uow.registry.facts(replace(notice, message_id="another", encounter_id="ENC-ODD"))
    assert facts.family is not None and facts.family.kecamatan == "X1 2AB"
    assert again.family == facts.family, "read again without preparing: no failure either"
