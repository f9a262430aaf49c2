"""`hub siak ...`: the SIAK-style civil registry reference server, for development, tests and demos."""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import typer

from hub.entrypoints.reference_cli import (
    ClientCa,
    ClientName,
    Down,
    DropAfterWriteRate,
    ErrorRate,
    FaultSeed,
    LatencyMs,
    LogLevel,
    TimeoutRate,
    TimeoutSleep,
    TlsCert,
    TlsKey,
    console,
    faults,
    server_logging,
    server_tls,
)
from hub.errors import HubError

# The stand-in registry is another system with its own database, which it creates: locally the
# owner role may (the hub's runtime role `hub` may not create databases).
DEFAULT_DSN = "postgresql://hub_owner@127.0.0.1:15432/siak"

siak_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=(
        "The SIAK-style civil registry over HTTP: a reference server implementing the hub's REST contract "
        "(contracts/siak-openapi.json) over the embedded registry, with fault injection for tests."
    ),
)


@siak_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 18080,
    database_url: Annotated[
        str,
        typer.Option(
            envvar="HUB_SIAK_DATABASE_URL",
            show_envvar=True,
            help=("The registry's PostgreSQL database; created and migrated if missing."),
        ),
    ] = DEFAULT_DSN,
    seed_families: Annotated[
        int, typer.Option(min=0, help="Seed this many synthetic families if the registry is empty (0: never).")
    ] = 1000,
    latency_ms: LatencyMs = 0,
    error_rate: ErrorRate = 0.0,
    timeout_rate: TimeoutRate = 0.0,
    timeout_sleep_s: TimeoutSleep = 30.0,
    drop_after_write_rate: DropAfterWriteRate = 0.0,
    down: Down = False,
    fault_seed: FaultSeed = 0,
    log_level: LogLevel = "INFO",
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    client_ca: ClientCa = None,
    client_name: ClientName = None,
) -> None:
    """Serve the SIAK reference registry over mutual TLS: only clients with a certificate from the
    client CA are served (the hub's, by default). Faults can also be changed at run time with PUT /v1/_faults."""
    import uvicorn

    from hub.devtools.seed import prepare_siak_registry
    from hub.devtools.siak.server import create_app

    injected = faults(latency_ms, error_rate, timeout_rate, timeout_sleep_s, drop_after_write_rate, down, fault_seed)
    level = server_logging(log_level)
    tls = server_tls(tls_cert, tls_key, client_ca, client_name)
    try:
        created, stored = asyncio.run(prepare_siak_registry(database_url, seed_families))
    except (OSError, asyncpg.PostgresError, HubError) as exc:
        console.print(f"[red]cannot prepare the registry database:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    if created:
        console.print("created the registry database")
    if stored:
        console.print(f"seeded {stored} persons")
    app = create_app(database_url, injected)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=level.lower(), timeout_graceful_shutdown=5, **tls
    )
    uvicorn.Server(config).run()
