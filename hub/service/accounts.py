"""Use cases: the back-office console's accounts, roles and sessions.

One role per user. What each role may do is a fixed table (PERMISSIONS); the console checks a
permission on every page and action, never a role name. Every change to an account and every
sign-in or sign-out is written to the hash-chained audit log in the same transaction.

Sessions are server-side: the browser holds a random token, the store only its SHA-256. A session
ends after `idle` without a request or at `lifetime` after sign-in, whichever comes first; each
has its own CSRF token. Five wrong passwords in a row lock the account for `lockout`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from hub.errors import OperatorError
from hub.service.ports import AuditEntry, ConsoleAccount, ConsoleSession, UnitOfWork

ROLES = ("officer", "supervisor", "operator", "auditor")
_OFFICER = frozenset(
    {
        "dashboard.view",
        "review.view",
        "review.decide",
        "search.view",
        "personal.reveal",
        "documents.view",
        "documents.reprint",
        "documents.propose",
    }
)
PERMISSIONS: dict[str, frozenset[str]] = {
    "officer": _OFFICER,
    "supervisor": _OFFICER | {"documents.correct", "documents.revoke", "proposals.decide", "audit.view"},
    "operator": frozenset(
        {
            "dashboard.view",
            "search.view",
            "deadletters.view",
            "replay.run",
            "hospitals.view",
            "users.view",
            "users.manage",
        }
    ),
    "auditor": frozenset({"dashboard.view", "audit.view", "users.view", "hospitals.view"}),
}
# Accounts the console itself may add, disable, enable and reset. Supervisor and operator accounts
# are managed with `hub users` on the command line (which needs the database), so no console user
# can make or take over an account with more powers than an officer's or an auditor's.
CONSOLE_MANAGED_ROLES = frozenset({"officer", "auditor"})
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
_HASHING = asyncio.Semaphore(2)  # argon2id takes ~64 MiB and tens of ms: at most two at a time, off the loop
MIN_PASSWORD = 12
MAX_FAILURES = 5


class Passwords(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, stored_hash: str, password: str) -> bool: ...

    def needs_rehash(self, stored_hash: str) -> bool: ...


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=10)
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, with what role, and the session's CSRF token."""

    username: str
    display_name: str
    role: str
    csrf_token: str
    token_hash: bytes
    expires_at: datetime

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    @property
    def actor(self) -> str:
        """How the audit log names this user's actions."""
        return f"{self.username} (console)"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_password() -> str:
    """A generated password: 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


async def _off_loop(work: Callable[..., object], *args: str) -> object:
    """A password hash or check in a worker thread: the hub's consumer shares the event loop."""
    async with _HASHING:
        return await asyncio.to_thread(work, *args)


class Accounts:
    """`manageable`: the roles whose accounts the caller may change (the console passes
    CONSOLE_MANAGED_ROLES; the command line, None: any)."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        passwords: Passwords,
        clock: Callable[[], datetime],
        policy: SessionPolicy = SessionPolicy(),
    ) -> None:
        self._uow, self._passwords, self._clock, self._policy = unit_of_work, passwords, clock, policy

    async def add(
        self,
        username: str,
        display_name: str,
        role: str,
        password: str,
        actor: str,
        reason: str,
        *,
        manageable: frozenset[str] | None = None,
    ) -> None:
        _check_username(username)
        if role not in ROLES:
            raise OperatorError(f"role must be one of {', '.join(ROLES)}")
        _may_manage(role, manageable)
        if not display_name.strip() or len(display_name) > 120:
            raise OperatorError("display name: 1 to 120 characters")
        _check_password(password)
        hashed = str(await _off_loop(self._passwords.hash, password))
        now = self._clock()
        async with self._uow() as uow:
            await uow.accounts.add(ConsoleAccount(username, display_name.strip(), role, hashed, now, now))
            await uow.audit.append(
                AuditEntry(actor, "users.add", username, reason or "new account", {"role": role}), now
            )
            await uow.commit()

    async def listed(self) -> list[ConsoleAccount]:
        async with self._uow() as uow:
            return await uow.accounts.all()

    async def disable(self, username: str, actor: str, reason: str, *, manageable: frozenset[str] | None = None) -> int:
        """Disable the account and end its sessions; returns how many sessions ended."""
        _need_reason(reason)
        now = self._clock()
        async with self._uow() as uow:
            found = await self._existing(uow, username, manageable)
            if found.disabled_at is not None:
                raise OperatorError(f"console user {username!r} is disabled already")
            await uow.accounts.save(replace(found, disabled_at=now))
            ended = await uow.accounts.end_sessions_of(username)
            await uow.audit.append(AuditEntry(actor, "users.disable", username, reason, {"sessions_ended": ended}), now)
            await uow.commit()
        return ended

    async def enable(self, username: str, actor: str, reason: str, *, manageable: frozenset[str] | None = None) -> None:
        _need_reason(reason)
        now = self._clock()
        async with self._uow() as uow:
            found = await self._existing(uow, username, manageable)
            await uow.accounts.save(replace(found, disabled_at=None, failed_signins=0, locked_until=None))
            await uow.audit.append(AuditEntry(actor, "users.enable", username, reason, {}), now)
            await uow.commit()

    async def reset(
        self, username: str, password: str, actor: str, reason: str, *, manageable: frozenset[str] | None = None
    ) -> None:
        """Set a new password, clear a lockout and end the user's sessions (a session opened
        before the reset is refused from then on, also one that was still being opened)."""
        _need_reason(reason)
        _check_password(password)
        hashed = str(await _off_loop(self._passwords.hash, password))
        now = self._clock()
        async with self._uow() as uow:
            found = await self._existing(uow, username, manageable)
            changed = replace(found, password_hash=hashed, password_set_at=now, failed_signins=0, locked_until=None)
            await uow.accounts.save(changed)
            ended = await uow.accounts.end_sessions_of(username)
            await uow.audit.append(AuditEntry(actor, "users.reset", username, reason, {"sessions_ended": ended}), now)
            await uow.commit()

    async def sign_in(self, username: str, password: str) -> tuple[str, SignedIn]:
        """Check the password and open a session: (the cookie token, the session). A wrong
        username or password, a disabled or locked account all get the same refusal."""
        now = self._clock()
        refused = OperatorError("wrong username or password, or the account is disabled or locked")
        async with self._uow() as uow:
            # Locked: a disable or reset of this account waits for this sign-in, and vice versa.
            found = await uow.accounts.get(username, lock=True) if USERNAME.match(username or "") else None
            if found is None:
                await _off_loop(self._passwords.hash, password)  # about the same time as a real check
                raise refused
            if found.disabled_at is not None or (found.locked_until is not None and found.locked_until > now):
                raise refused
            if not await _off_loop(self._passwords.verify, found.password_hash, password):
                failures = found.failed_signins + 1
                locked = now + self._policy.lockout if failures >= MAX_FAILURES else None
                await uow.accounts.save(
                    replace(found, failed_signins=0 if locked else failures, locked_until=locked or found.locked_until)
                )
                details = {"locked": locked is not None}
                await uow.audit.append(
                    AuditEntry(username, "console.signin-failed", username, "wrong password", details), now
                )
                await uow.commit()
                raise refused
            updated = replace(found, failed_signins=0, locked_until=None)
            if self._passwords.needs_rehash(found.password_hash):
                updated = replace(updated, password_hash=str(await _off_loop(self._passwords.hash, password)))
            if updated != found:
                await uow.accounts.save(updated)
            token = secrets.token_urlsafe(32)
            session = ConsoleSession(
                token_hash(token), username, secrets.token_urlsafe(32), now, now, now + self._policy.lifetime
            )
            await uow.accounts.open_session(session)
            await uow.audit.append(AuditEntry(f"{username} (console)", "console.signin", username, "", {}), now)
            await uow.commit()
        return token, _signed_in(found, session, self._policy)

    async def session(self, token: str, *, touch: bool = True) -> SignedIn | None:
        """The live session of a cookie token, or None (unknown, expired, idle too long, opened
        before the password was reset, or the account disabled since). A live session's idle clock
        restarts, unless `touch` is False (a page polling for progress is not the user at work)."""
        if not token:
            return None
        hashed, now = token_hash(token), self._clock()
        async with self._uow() as uow:
            found = await uow.accounts.session(hashed)
            if found is None:
                return None
            account = await uow.accounts.get(found.username)
            alive = found.expires_at > now and found.last_seen_at + self._policy.idle > now
            if account is not None and found.created_at < account.password_set_at:
                alive = False
            if not alive or account is None or account.disabled_at is not None:
                await uow.accounts.end_session(hashed)
                await uow.commit()
                return None
            if touch:
                await uow.accounts.touch(hashed, now)
                await uow.commit()
        return _signed_in(account, found, self._policy)

    async def sign_out(self, who: SignedIn) -> None:
        now = self._clock()
        async with self._uow() as uow:
            await uow.accounts.end_session(who.token_hash)
            await uow.audit.append(AuditEntry(who.actor, "console.signout", who.username, "", {}), now)
            await uow.commit()

    async def _existing(self, uow: UnitOfWork, username: str, manageable: frozenset[str] | None) -> ConsoleAccount:
        found = await uow.accounts.get(username, lock=True)
        if found is None:
            raise OperatorError(f"no console user named {username!r}")
        _may_manage(found.role, manageable)
        return found


def _signed_in(account: ConsoleAccount, session: ConsoleSession, policy: SessionPolicy) -> SignedIn:
    return SignedIn(
        account.username, account.display_name, account.role, session.csrf_token, session.token_hash, session.expires_at
    )


def _may_manage(role: str, manageable: frozenset[str] | None) -> None:
    if manageable is not None and role not in manageable:
        raise OperatorError(f"{role} accounts are managed with `hub users` on the command line, not here")


def _check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise OperatorError(
            "username: 2 to 40 characters, lower-case letters, digits, '.', '_' or '-', starting with a letter"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise OperatorError("a password may have at most 1024 characters")


def _need_reason(reason: str) -> None:
    if not reason.strip():
        raise OperatorError("say why (the reason goes to the audit log)")
