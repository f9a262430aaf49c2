"""The port specifications (tests/contracts) run against the PostgreSQL adapters, on the module's
private, seeded database. PostgreSQL is the reference: where a fake disagrees, the fake is fixed;
where this adapter breaks its own port's promise, the test says so with a strict xfail.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace

import asyncpg
import pytest

from hub.adapters.postgres.audit import GENESIS, verify_chain
from hub.adapters.postgres.store import OUTBOX_SELECT, outbound_message
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.domain.values import Hospital
from hub.service.ports import Delivery, OutboundMessage
from tests.contracts.audit import AT, AuditLogContract, entry
from tests.contracts.console import ConsoleAccountsContract, CorrectionProposalsContract
from tests.contracts.documents import DocumentsContract
from tests.contracts.hospitals import HospitalDirectoryContract
from tests.contracts.inbox import InboxContract
from tests.contracts.outbox import OutboxContract
from tests.contracts.registry import CivilRegistryContract, Home
from tests.contracts.reviews import ReviewsContract
from tests.contracts.sagas import RegistrySagasContract
from tests.contracts.support import unique, utc_now
from tests.support.people import households
from tests.unit import builders

pytestmark = pytest.mark.postgres
HOSPITAL = "103578001"  # seeded


@pytest.fixture
def make(pool):
    return lambda: PostgresUnitOfWork(pool)


class PostgresProbe:
    """Reads committed rows the ports have no method for."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def delivery(self, d: Delivery):
        row = await self.pool.fetchrow(
            'SELECT message_id, action FROM deliveries WHERE topic = $1 AND partition = $2 AND "offset" = $3',
            d.topic,
            d.partition,
            d.offset,
        )
        return None if row is None else (row["message_id"], row["action"])

    async def dead_letter(self, d: Delivery):
        row = await self.pool.fetchrow(
            'SELECT reason, detail FROM dead_letters WHERE topic = $1 AND partition = $2 AND "offset" = $3',
            d.topic,
            d.partition,
            d.offset,
        )
        return None if row is None else (row["reason"], row["detail"])

    async def queued(self, event_id: str) -> list[OutboundMessage]:
        rows = await self.pool.fetch(OUTBOX_SELECT + " WHERE event_id = $1::uuid ORDER BY id", event_id)
        return [outbound_message(row) for row in rows]

    async def purge(self, event_id: str) -> None:
        await self.pool.execute(
            "UPDATE outbox SET value = NULL, key = NULL, purged_at = now() WHERE event_id = $1::uuid", event_id
        )

    async def head(self) -> str:
        return await self.pool.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS


@pytest.fixture
def probe(pool) -> PostgresProbe:
    return PostgresProbe(pool)


@pytest.fixture(scope="module")
async def seeded_homes(environment):
    """Seeded households, handed out one per test: registrations change a family's card."""
    return iter(await households(environment.settings.dsn, 30))


@pytest.fixture
def home(seeded_homes) -> Home:
    return Home.of(next(seeded_homes), HOSPITAL)


_hospital_ids = itertools.count(1)


@pytest.fixture
async def hospitals(pool) -> tuple[Hospital, Hospital]:
    tag = unique()[:6]
    active = Hospital(f"CT{tag}{next(_hospital_ids)}", "RS Umum Sintetis Kontrak", "3578", True)
    closed = Hospital(f"CT{tag}{next(_hospital_ids)}", "RS Tutup Sintetis", "3273", False)
    await pool.executemany(
        "INSERT INTO hospitals (org_id, name, regency, active) VALUES ($1, $2, $3, $4)",
        [(h.org_id, h.name, h.regency, h.active) for h in (active, closed)],
    )
    return active, closed


class TestPostgresInbox(InboxContract):
    async def test_a_delivery_claimed_by_an_open_transaction_is_not_claimed_again_by_another(self, pool, make):
        where = Delivery(f"contract.{unique()[:8]}", 0, 1)
        async with make() as first:
            assert await first.inbox.claim_deliveries([where]) == {(where.topic, 0, 1)}
            async with make() as second:
                waiting = asyncio.ensure_future(second.inbox.claim_deliveries([where]))
                await asyncio.sleep(0.2)
                assert not waiting.done(), "the second claimer waits for the first transaction"
                await first.commit()
                assert await waiting == set()


class TestPostgresOutbox(OutboxContract):
    pass


class TestPostgresReviews(ReviewsContract):
    async def test_a_locked_case_makes_a_concurrent_decision_wait(self, make):
        case = builders.notice()
        async with make() as uow:
            await uow.reviews.open(case, b"{}", ("REVIEW-FATHER-NOT-FOUND",))
            await uow.commit()

        async def decide_elsewhere():
            async with make() as other:
                await other.reviews.decide(
                    case.hospital_id, case.message_id, "rejected", "petugas-2", "too late", utc_now()
                )
                await other.commit()

        async with make() as first:
            assert (await first.reviews.get(case.hospital_id, case.message_id, lock=True)).status == "open"
            waiting = asyncio.ensure_future(decide_elsewhere())
            await asyncio.sleep(0.2)
            assert not waiting.done(), "the lock holds the other officer's decision back"
            await first.reviews.decide(case.hospital_id, case.message_id, "approved", "petugas-1", "checked", utc_now())
            await first.commit()
        await waiting
        async with make() as uow:
            assert (await uow.reviews.get(case.hospital_id, case.message_id)).decided_by == "petugas-2", (
                "it ran after the first"
            )


class TestPostgresAuditLog(AuditLogContract):
    async def test_concurrent_appends_keep_one_verifiable_chain(self, pool, make):
        async def append(n: int) -> str:
            async with make() as uow:
                digest = await uow.audit.append(entry(f"test.concurrent-{n}"), AT)
                await uow.commit()
            return digest

        digests = await asyncio.gather(*(append(n) for n in range(6)))
        async with pool.acquire() as conn:
            verification = await verify_chain(conn)
            linked = await conn.fetchval("SELECT count(*) FROM audit_log WHERE prev_hash = ANY($1::text[])", digests)
        assert (verification.broken_at, verification.problem) == (None, None)
        assert linked == 5, "each entry but the newest is followed by exactly one"


@pytest.fixture
async def no_due_work(pool):
    """Queue specs need a queue without other tests' leftovers: end every due saga and job first."""
    await pool.execute("UPDATE registry_sagas SET state = 'written' WHERE state IN ('pending', 'failed-retrying')")
    await pool.execute("UPDATE document_jobs SET state = 'done' WHERE state = 'pending'")


@pytest.mark.usefixtures("no_due_work")
class TestPostgresRegistrySagas(RegistrySagasContract):
    pass


class TestPostgresCivilRegistry(CivilRegistryContract):
    transactional = True
    corrects_children = True


@pytest.mark.usefixtures("no_due_work")
class TestPostgresDocuments(DocumentsContract):
    pass


class TestPostgresHospitalDirectory(HospitalDirectoryContract):
    pass


class TestPostgresConsoleAccounts(ConsoleAccountsContract):
    async def test_a_locked_account_makes_a_concurrent_change_wait(self, make):
        user = await self._added(make)

        async def disable_elsewhere():
            async with make() as other:
                found = await other.accounts.get(user.username, lock=True)
                await other.accounts.save(replace(found, disabled_at=utc_now()))
                await other.commit()

        async with make() as first:
            found = await first.accounts.get(user.username, lock=True)
            waiting = asyncio.ensure_future(disable_elsewhere())
            await asyncio.sleep(0.2)
            assert not waiting.done(), "the lock holds the other change back"
            await first.accounts.save(replace(found, failed_signins=1))
            await first.commit()
        await waiting
        async with make() as uow:
            final = await uow.accounts.get(user.username)
        assert final.failed_signins == 1 and final.disabled_at is not None  # neither change was lost


class TestPostgresCorrectionProposals(CorrectionProposalsContract):
    pass
