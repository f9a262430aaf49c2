"""`hub run`'s development default: one console account per role, passwords only in a file the
machine's user alone can read, made once."""

from __future__ import annotations

import stat

from hub.adapters.passwords import Argon2Passwords
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.devtools.console_accounts import LOCAL_ACCOUNTS, seed_console_accounts
from hub.service.accounts import Accounts
from tests.contracts.support import utc_now


async def test_local_accounts_are_made_once_with_their_passwords_in_a_private_file(pool, tmp_path, caplog):
    path = tmp_path / "console-accounts.txt"
    path.write_text("left from an earlier database\n")
    path.chmod(0o644)
    assert await seed_console_accounts(pool, path) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    assert {(name, role) for name, role, _ in rows} == {(n, r) for n, (r, _) in LOCAL_ACCOUNTS.items()}
    accounts = Accounts(lambda: PostgresUnitOfWork(pool), Argon2Passwords(), utc_now)
    for name, role, password in rows:
        _, session = await accounts.sign_in(name, password)
        assert session.role == role
        assert password not in caplog.text
    assert await seed_console_accounts(pool, path) is False
    assert path.read_text().count("\t") == 2 * len(LOCAL_ACCOUNTS)
