"""The console's ports: ConsoleAccounts (users and sessions) and CorrectionProposals.

Fixtures a concrete suite provides: `make`, a unit-of-work factory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace

import pytest

from hub.errors import OperatorError
from hub.service.ports import ConsoleAccount, ConsoleSession
from tests.contracts.support import minutes, unique, utc_now


def account(**changes) -> ConsoleAccount:
    now = utc_now()
    made = ConsoleAccount(f"u{unique()[:12]}", "Siti Petugas", "officer", "$argon2id$v=19$fake", now, now)
    return replace(made, **changes)


def session_of(username: str, **changes) -> ConsoleSession:
    now = utc_now()
    made = ConsoleSession(hashlib.sha256(os.urandom(16)).digest(), username, unique(), now, now, now + minutes(60))
    return replace(made, **changes)


class ConsoleAccountsContract:
    async def _added(self, make, **changes) -> ConsoleAccount:
        user = account(**changes)
        async with make() as uow:
            await uow.accounts.add(user)
            await uow.commit()
        return user

    async def test_an_added_account_reads_back_whole(self, make):
        user = await self._added(make, role="supervisor")
        async with make() as uow:
            assert await uow.accounts.get(user.username) == user
            assert user in await uow.accounts.all()

    async def test_a_taken_username_is_refused_and_the_first_account_kept(self, make):
        user = await self._added(make)
        async with make() as uow:
            with pytest.raises(OperatorError, match="exists already"):
                await uow.accounts.add(replace(user, display_name="Someone Else"))
        async with make() as uow:
            assert (await uow.accounts.get(user.username)).display_name == user.display_name

    async def test_save_replaces_the_account(self, make):
        user = await self._added(make)
        changed = replace(user, disabled_at=utc_now(), failed_signins=3, password_hash="$argon2id$v=19$other")
        async with make() as uow:
            await uow.accounts.save(changed)
            await uow.commit()
        async with make() as uow:
            assert await uow.accounts.get(user.username) == changed

    async def test_an_unknown_user_is_none(self, make):
        async with make() as uow:
            assert await uow.accounts.get("nobody-" + unique()[:8]) is None

    async def test_sessions_open_touch_and_end(self, make):
        user = await self._added(make)
        first, second = session_of(user.username), session_of(user.username)
        async with make() as uow:
            await uow.accounts.open_session(first)
            await uow.accounts.open_session(second)
            await uow.commit()
        later = utc_now() + minutes(5)
        async with make() as uow:
            assert await uow.accounts.session(first.token_hash) == first
            await uow.accounts.touch(first.token_hash, later)
            await uow.accounts.touch(first.token_hash, first.last_seen_at)  # never goes back
            await uow.commit()
        async with make() as uow:
            assert (await uow.accounts.session(first.token_hash)).last_seen_at == later
            await uow.accounts.end_session(first.token_hash)
            await uow.commit()
        async with make() as uow:
            assert await uow.accounts.session(first.token_hash) is None
            assert await uow.accounts.end_sessions_of(user.username) == 1
            await uow.commit()
        async with make() as uow:
            assert await uow.accounts.session(second.token_hash) is None

    async def test_a_session_not_committed_does_not_exist(self, make):
        user = await self._added(make)
        opened = session_of(user.username)
        async with make() as uow:
            await uow.accounts.open_session(opened)
        async with make() as uow:
            assert await uow.accounts.session(opened.token_hash) is None


class CorrectionProposalsContract:
    async def test_a_proposal_is_open_until_decided(self, make):
        at = utc_now()
        number = f"3201-LT-{unique()[:8]}"
        async with make() as uow:
            first = await uow.proposals.propose(number, {"child_name": "Ayu"}, "typo at the hospital", "siti", at)
            await uow.commit()
        async with make() as uow:
            found = await uow.proposals.get(first)
            assert (found.akta_number, found.changes, found.reason, found.proposed_by, found.status) == (
                number,
                {"child_name": "Ayu"},
                "typo at the hospital",
                "siti",
                "open",
            )
            assert first in [p.id for p in await uow.proposals.listed("open")]
            await uow.proposals.decide(first, "approved", "budi", "checked the hospital record", at + minutes(1))
            await uow.commit()
        async with make() as uow:
            decided = await uow.proposals.get(first, lock=True)
            assert (decided.status, decided.decided_by, decided.note, decided.decided_at) == (
                "approved",
                "budi",
                "checked the hospital record",
                at + minutes(1),
            )
            assert first not in [p.id for p in await uow.proposals.listed("open")]
            assert first in [p.id for p in await uow.proposals.listed(None)]

    async def test_an_unknown_proposal_is_none(self, make):
        async with make() as uow:
            assert await uow.proposals.get(2**40) is None
