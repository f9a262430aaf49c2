"""The database itself: is the schema current, and create a missing database (the SIAK reference
server's). Applying migrations is `database.migrate`, which only `hub migrate`, `hub seed` and
`hub run` do."""

from __future__ import annotations

import re
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hub.adapters.postgres.database import PgConnection, translated
from hub.errors import ConfigurationError

_DATABASE_NAME = re.compile(r"[A-Za-z0-9_\-]+")


def migration_names() -> list[str]:
    """Every migration this code knows, in order."""
    folder = resources.files("hub.adapters.postgres").joinpath("migrations")
    return sorted(f.name.removesuffix(".sql") for f in folder.iterdir() if f.name.endswith(".sql"))


async def pending_migrations(conn: PgConnection) -> list[str]:
    """The migrations this code knows that the database has not applied (all of them on an empty database)."""
    with translated():
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return migration_names()
        applied = {row["name"] for row in await conn.fetch("SELECT name FROM schema_migrations")}
    return [name for name in migration_names() if name not in applied]


async def ensure_database(dsn: str) -> bool:
    """Create the DSN's database (through the server's `postgres` database) if it does not exist.
    Returns whether it was created here."""
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(dsn)
        name = parts.path.lstrip("/")
        if not _DATABASE_NAME.fullmatch(name):
            raise ConfigurationError(f"cannot create database {name!r}: use letters, digits, _ and -") from None
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False  # created meanwhile by another process
        finally:
            await admin.close()
        return True
    await conn.close()
    return False
