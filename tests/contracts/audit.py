"""The AuditLog port: append-only, each entry chained to the previous one by a SHA-256 hash.

The hash is `entry_hash(previous hash, at.isoformat(), entry)` (hub/adapters/postgres/audit.py,
which `hub audit verify` recomputes); the first entry links to GENESIS.

Fixtures a concrete suite provides:
- `make`: a unit-of-work factory;
- `probe`: an `AuditProbe` reading the newest committed hash.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Protocol

from hub.adapters.postgres.audit import entry_hash
from hub.service.ports import AuditEntry
from tests.contracts.support import unique

AT = datetime(2026, 5, 3, 9, 30, 0, 250000, tzinfo=timezone(timedelta(hours=7)))


class AuditProbe(Protocol):
    async def head(self) -> str:
        """The hash of the newest committed entry; GENESIS when the log is empty."""
        ...


def entry(action: str = "review.approve") -> AuditEntry:
    return AuditEntry("petugas-7", action, unique(), "checked at the office", {"outcome": "registered", "codes": []})


class AuditLogContract:
    async def test_each_entry_is_chained_to_the_previous_one_by_its_hash(self, make, probe):
        first, second = entry(), entry("review.reject")
        head = await probe.head()
        async with make() as uow:
            h1 = await uow.audit.append(first, AT)
            h2 = await uow.audit.append(second, AT + timedelta(seconds=1))
            await uow.commit()
        assert re.fullmatch(r"[0-9a-f]{64}", h1)
        assert h1 == entry_hash(head, AT.isoformat(), first)
        assert h2 == entry_hash(h1, (AT + timedelta(seconds=1)).isoformat(), second)
        assert await probe.head() == h2

    async def test_an_entry_not_committed_leaves_no_link_in_the_chain(self, make, probe):
        async with make() as uow:
            kept = await uow.audit.append(entry(), AT)
            await uow.commit()
        async with make() as uow:
            await uow.audit.append(entry("documents.revoke"), AT)
        assert await probe.head() == kept
        after = entry("documents.correct")
        async with make() as uow:
            assert await uow.audit.append(after, AT) == entry_hash(kept, AT.isoformat(), after)
            await uow.commit()

    async def test_the_hash_depends_on_the_time_and_every_field(self, make):
        base = entry()
        variants = [
            base,
            AuditEntry(base.actor, base.action, base.subject, base.reason, {"outcome": "rejected"}),
            AuditEntry("petugas-8", base.action, base.subject, base.reason, base.details),
        ]
        hashes = set()
        for variant in variants:
            for at in (AT, AT + timedelta(microseconds=1)):
                async with make() as uow:  # the same predecessor for each: nothing is committed
                    hashes.add(await uow.audit.append(variant, at))
        assert len(hashes) == 6
