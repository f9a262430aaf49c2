"""Console accounts with in-memory ports: roles and permissions, argon2id passwords, server-side
sessions that end when idle, at their lifetime, on sign-out, disable or reset; lockout after five
wrong passwords; every change and sign-in audited with the acting user and the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from hub.adapters.passwords import Argon2Passwords
from hub.errors import OperatorError
from hub.service.accounts import (
    CONSOLE_MANAGED_ROLES,
    MAX_FAILURES,
    PERMISSIONS,
    ROLES,
    Accounts,
    SessionPolicy,
    token_hash,
)
from tests.fakes import FakeState, FakeUnitOfWork

PASSWORD = "kata-sandi-panjang-1"
POLICY = SessionPolicy(idle=timedelta(minutes=30), lifetime=timedelta(hours=10), lockout=timedelta(minutes=15))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class CheapPasswords(Argon2Passwords):
    """argon2id with small costs (the production parameters take ~50 ms a hash), counting hashes
    to show that the unknown-user path hashes too."""

    def __init__(self) -> None:
        super().__init__(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.hashed = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return super().hash(password)


@pytest.fixture
def world():
    state, clock, passwords = FakeState(), Clock(), CheapPasswords()
    accounts = Accounts(lambda: FakeUnitOfWork(state), passwords, clock, POLICY)
    return state, clock, accounts, passwords


async def test_an_added_user_keeps_only_an_argon2id_hash_and_the_addition_is_audited(world):
    state, _, accounts, _ = world
    await accounts.add("siti", "Siti Rahma", "officer", PASSWORD, "budi@ops-1", "new officer in Bogor")
    stored = state.console_users["siti"]
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    entry = state.audit[-1]
    assert (entry.actor, entry.action, entry.subject, entry.reason, entry.details) == (
        "budi@ops-1",
        "users.add",
        "siti",
        "new officer in Bogor",
        {"role": "officer"},
    )


@pytest.mark.parametrize(
    ("username", "role", "password", "says"),
    [
        ("Siti", "officer", PASSWORD, "username"),
        ("s", "officer", PASSWORD, "username"),
        ("siti", "admin", PASSWORD, "role must be one of"),
        ("siti", "officer", "short", "at least 12"),
    ],
)
async def test_bad_accounts_are_refused_naming_the_field(world, username, role, password, says):
    state, _, accounts, _ = world
    with pytest.raises(OperatorError, match=says):
        await accounts.add(username, "Siti", role, password, "budi", "x")
    assert state.console_users == {} and state.audit == []


async def test_a_username_is_taken_once(world):
    _, _, accounts, _ = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    with pytest.raises(OperatorError, match="exists already"):
        await accounts.add("siti", "Siti Lain", "auditor", PASSWORD, "budi", "x")


async def test_signing_in_opens_a_session_known_only_by_its_token_hash(world):
    state, _, accounts, _ = world
    await accounts.add("siti", "Siti Rahma", "officer", PASSWORD, "budi", "x")
    token, signed_in = await accounts.sign_in("siti", PASSWORD)
    assert token.encode() not in b"".join(state.console_sessions) and token_hash(token) in state.console_sessions
    assert (signed_in.username, signed_in.role, signed_in.actor) == ("siti", "officer", "siti (console)")
    assert (await accounts.session(token)).csrf_token == signed_in.csrf_token != token
    assert state.audit[-1].action == "console.signin"


async def test_wrong_password_unknown_user_disabled_account_get_the_same_refusal(world):
    state, _, accounts, passwords = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    await accounts.add("ani", "Ani", "auditor", PASSWORD, "budi", "x")
    await accounts.disable("ani", "budi", "left the office")
    messages = set()
    for username, password in (("siti", "wrong-password-123"), ("nobody", PASSWORD), ("ani", PASSWORD)):
        before = passwords.hashed
        with pytest.raises(OperatorError) as refused:
            await accounts.sign_in(username, password)
        messages.add(str(refused.value))
        if username == "nobody":
            assert passwords.hashed == before + 1  # about as slow as a real check
    assert len(messages) == 1 and state.console_sessions == {}


async def test_five_wrong_passwords_lock_the_account_for_the_lockout(world):
    state, clock, accounts, _ = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    for _ in range(MAX_FAILURES):
        with pytest.raises(OperatorError):
            await accounts.sign_in("siti", "wrong-password-123")
    with pytest.raises(OperatorError):
        await accounts.sign_in("siti", PASSWORD)  # the right password, but locked
    assert [e.details["locked"] for e in state.audit if e.action == "console.signin-failed"][-1] is True
    clock.advance(minutes=16)
    await accounts.sign_in("siti", PASSWORD)


async def test_a_session_ends_when_idle_and_at_its_lifetime(world):
    _, clock, accounts, _ = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    idle_token, _ = await accounts.sign_in("siti", PASSWORD)
    clock.advance(minutes=31)
    assert await accounts.session(idle_token) is None
    busy_token, _ = await accounts.sign_in("siti", PASSWORD)
    signed_in_at, alive = clock.now, []
    for _ in range(25):  # a request every 29 minutes keeps it alive, up to its lifetime (10 h)
        clock.advance(minutes=29)
        alive.append((clock.now - signed_in_at < timedelta(hours=10), await accounts.session(busy_token) is not None))
    assert all(expected == found for expected, found in alive) and alive[-1] == (False, False)


async def test_sign_out_disable_and_reset_end_sessions(world):
    state, _, accounts, _ = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    token, who = await accounts.sign_in("siti", PASSWORD)
    await accounts.sign_out(who)
    assert await accounts.session(token) is None
    token, _ = await accounts.sign_in("siti", PASSWORD)
    await accounts.reset("siti", "another-long-password", "budi", "forgot it")
    assert await accounts.session(token) is None
    token, _ = await accounts.sign_in("siti", "another-long-password")
    assert await accounts.disable("siti", "budi", "moved to another office") == 1
    assert await accounts.session(token) is None
    assert [e.action for e in state.audit][-2:] == ["console.signin", "users.disable"]
    assert state.audit[-1].details == {"sessions_ended": 1}


async def test_changes_without_a_reason_are_refused(world):
    _, _, accounts, _ = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    for change in (
        accounts.disable("siti", "budi", " "),
        accounts.enable("siti", "budi", ""),
        accounts.reset("siti", "another-long-password", "budi", ""),
    ):
        with pytest.raises(OperatorError, match="say why"):
            await change


def test_every_role_has_permissions_and_only_some_may_change_documents_or_users():
    assert set(PERMISSIONS) == set(ROLES)
    may = {
        role: {p for p in ("documents.correct", "users.manage", "replay.run", "audit.view") if p in PERMISSIONS[role]}
        for role in ROLES
    }
    assert may == {
        "officer": set(),
        "supervisor": {"documents.correct", "audit.view"},
        "operator": {"users.manage", "replay.run"},
        "auditor": {"audit.view"},
    }


async def test_the_console_may_not_make_or_change_supervisor_and_operator_accounts(world):
    state, _, accounts, _ = world
    console_only = CONSOLE_MANAGED_ROLES
    with pytest.raises(OperatorError, match="hub users"):
        await accounts.add("budi", "Budi", "supervisor", PASSWORD, "op (console)", "x", manageable=console_only)
    await accounts.add("budi", "Budi", "supervisor", PASSWORD, "root@ops-1", "x")  # the command line may
    for change in (
        accounts.reset("budi", "another-long-password", "op (console)", "take over", manageable=console_only),
        accounts.disable("budi", "op (console)", "lock out", manageable=console_only),
        accounts.enable("budi", "op (console)", "x", manageable=console_only),
    ):
        with pytest.raises(OperatorError, match="hub users"):
            await change
    assert state.console_users["budi"].disabled_at is None
    await accounts.add("ani", "Ani", "officer", PASSWORD, "op (console)", "x", manageable=console_only)


async def test_a_session_opened_before_a_password_reset_is_refused(world):
    state, clock, accounts, _ = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    token, _ = await accounts.sign_in("siti", PASSWORD)
    opened = state.console_sessions[token_hash(token)]
    clock.advance(seconds=1)
    await accounts.reset("siti", "another-long-password", "budi", "forgot it")
    await accounts.sign_in("siti", "another-long-password")
    state.console_sessions[opened.token_hash] = opened  # a sign-in that raced the reset and lost
    assert await accounts.session(token) is None


async def test_a_polling_page_does_not_keep_the_session_alive(world):
    _, clock, accounts, _ = world
    await accounts.add("siti", "Siti", "officer", PASSWORD, "budi", "x")
    token, _ = await accounts.sign_in("siti", PASSWORD)
    for _ in range(2):
        clock.advance(minutes=12)
        assert await accounts.session(token, touch=False) is not None
    clock.advance(minutes=12)
    assert await accounts.session(token) is None  # 36 minutes without the user at work
