"""`make run`'s development default for the console (`hub run --local-console-accounts`): on a
database without console accounts, one account per role with a generated password, written to a
file only the machine's user can read (`.local/console-accounts.txt`) before the accounts are
made. The log names the file, never a password. `hub run` alone never makes accounts: other
databases get theirs from `hub users add`."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from hub.adapters.passwords import Argon2Passwords
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.service.accounts import Accounts, new_password

log = logging.getLogger("hub.devtools")
LOCAL_ACCOUNTS = {
    "petugas": ("officer", "Petugas Contoh"),
    "supervisor": ("supervisor", "Supervisor Contoh"),
    "operator": ("operator", "Operator Contoh"),
    "auditor": ("auditor", "Auditor Contoh"),
}


async def seed_console_accounts(pool: asyncpg.Pool, path: Path) -> bool:
    """Create the local accounts if the database has none; True if it did."""
    accounts = Accounts(lambda: PostgresUnitOfWork(pool), Argon2Passwords(), lambda: datetime.now(UTC))
    if await accounts.listed():
        return False
    passwords = {username: new_password() for username in LOCAL_ACCOUNTS}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode through open(): set it
    with os.fdopen(descriptor, "w") as written:  # first the file: accounts whose passwords were lost help nobody
        written.write("# Local console accounts made by `hub run --local-console-accounts` (development only).\n")
        written.writelines(f"{name}\t{LOCAL_ACCOUNTS[name][0]}\t{password}\n" for name, password in passwords.items())
    for username, (role, name) in LOCAL_ACCOUNTS.items():
        await accounts.add(
            username, name, role, passwords[username], "hub run (development seed)", "local development account"
        )
    log.info("made local console accounts, one per role; their passwords are in %s", path)
    return True
