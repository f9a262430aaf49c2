"""`hub siak ...`: the SIAK-style civil registry reference server, for development, tests and demos."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console

from hub.errors import HubError

DEFAULT_DSN = "postgresql://hub@127.0.0.1:15432/siak"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

siak_app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "The SIAK-style civil registry over HTTP: a reference server implementing the hub's REST contract "
    "(contracts/siak-openapi.json) over the embedded registry, with fault injection for tests."))
console = Console(stderr=True)


@siak_app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(18080, min=1, max=65535, help="Port to listen on."),
    database_url: str = typer.Option(DEFAULT_DSN, envvar="HUB_SIAK_DATABASE_URL", show_envvar=True,
                                     help="The registry's PostgreSQL database; created and migrated if missing."),
    seed_families: int = typer.Option(1000, min=0, help="Seed this many synthetic families if the registry is empty (0: never)."),
    latency_ms: int = typer.Option(0, min=0, help="Fault: milliseconds added to every request."),
    error_rate: float = typer.Option(0.0, min=0, max=1, help="Fault: share of requests answered 503 at once."),
    timeout_rate: float = typer.Option(0.0, min=0, max=1, help="Fault: share of requests that sleep --timeout-sleep-s first."),
    timeout_sleep_s: float = typer.Option(30.0, min=0, help="Fault: how long a 'timeout' request sleeps."),
    drop_after_write_rate: float = typer.Option(0.0, min=0, max=1, help="Fault: share of POSTs committed, then answered with a dropped connection."),
    down: bool = typer.Option(False, help="Fault: answer every request 503."),
    fault_seed: int = typer.Option(0, help="Seed of the fault decisions (reproducible runs)."),
    log_level: str = typer.Option("INFO", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    """Serve the SIAK reference registry. Faults can also be changed at run time with PUT /v1/_faults."""
    import uvicorn

    from hub.adapters.siak.server import create_app
    from hub.adapters.siak.server_faults import Faults
    from hub.logging import setup_logging

    try:
        faults = Faults(latency_ms=latency_ms, error_rate=error_rate, timeout_rate=timeout_rate,
                        timeout_sleep_s=timeout_sleep_s, drop_after_write_rate=drop_after_write_rate,
                        down=down, seed=fault_seed)
    except ValidationError as exc:
        console.print(f"[red]invalid fault settings:[/red] {exc}")
        raise typer.Exit(2) from None
    if log_level.upper() not in LOG_LEVELS:
        console.print(f"[red]--log-level[/red] must be one of {', '.join(LOG_LEVELS)}")
        raise typer.Exit(2)
    setup_logging(log_level.upper())
    try:
        stored = asyncio.run(prepare(database_url, seed_families))
    except (OSError, asyncpg.PostgresError, HubError) as exc:
        console.print(f"[red]cannot prepare the registry database:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    if stored:
        console.print(f"seeded {stored} persons")
    app = create_app(database_url, faults)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level=log_level.lower(),
                            timeout_graceful_shutdown=5)
    uvicorn.Server(config).run()


async def prepare(dsn: str, seed_families: int) -> int:
    """Create the database if missing, apply hub's migrations, seed if empty. Returns persons seeded."""
    from hub.adapters.postgres.database import create_pool, migrate
    from hub.bootstrap import seed_population

    await ensure_database(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        return await seed_population(pool, families=seed_families) if seed_families else 0
    finally:
        await pool.close()


async def ensure_database(dsn: str) -> None:
    """Create the DSN's database (through the server's `postgres` database) if it does not exist."""
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(dsn)
        name = parts.path.lstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            raise typer.BadParameter(f"cannot create database {name!r}: use letters, digits, _ and -") from None
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # created meanwhile by another process
        finally:
            await admin.close()
        console.print(f"created database {name}")
    else:
        await conn.close()
