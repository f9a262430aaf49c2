"""`hub run`'s development default for the console: on a database without console accounts, one
account per role with a generated password, written to a file only the machine's user can read
(`.local/console-accounts.txt`). The log names the file, never a password. Production databases
get their accounts from `hub users add`; `hub run --seed-families 0` skips this too."""

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
    lines = ["# Local console accounts made by `hub run` (development only). Sign in at the console.\n"]
    for username, (role, name) in LOCAL_ACCOUNTS.items():
        password = new_password()
        await accounts.add(username, name, role, password, "hub run (development seed)", "local development account")
        lines.append(f"{username}\t{role}\t{password}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as written:
        written.writelines(lines)
    log.info("made local console accounts, one per role; their passwords are in %s", path)
    return True
