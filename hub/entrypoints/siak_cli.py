"""`hub siak ...`: the SIAK-style civil registry reference server, for development, tests and demos."""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console

from hub.errors import HubError

DEFAULT_DSN = "postgresql://hub@127.0.0.1:15432/siak"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

siak_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=(
        "The SIAK-style civil registry over HTTP: a reference server implementing the hub's REST contract "
        "(contracts/siak-openapi.json) over the embedded registry, with fault injection for tests."
    ),
)
console = Console(stderr=True)


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
    latency_ms: Annotated[int, typer.Option(min=0, help="Fault: milliseconds added to every request.")] = 0,
    error_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Fault: share of requests answered 503 at once.")
    ] = 0.0,
    timeout_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Fault: share of requests that sleep --timeout-sleep-s first.")
    ] = 0.0,
    timeout_sleep_s: Annotated[float, typer.Option(min=0, help="Fault: how long a 'timeout' request sleeps.")] = 30.0,
    drop_after_write_rate: Annotated[
        float,
        typer.Option(min=0, max=1, help="Fault: share of POSTs committed, then answered with a dropped connection."),
    ] = 0.0,
    down: Annotated[bool, typer.Option(help="Fault: answer every request 503.")] = False,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault decisions (reproducible runs).")] = 0,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Serve the SIAK reference registry. Faults can also be changed at run time with PUT /v1/_faults."""
    import uvicorn

    from hub.devtools.seed import prepare_siak_registry
    from hub.devtools.siak.server import create_app
    from hub.devtools.siak.server_faults import Faults
    from hub.logging import setup_logging

    try:
        faults = Faults(
            latency_ms=latency_ms,
            error_rate=error_rate,
            timeout_rate=timeout_rate,
            timeout_sleep_s=timeout_sleep_s,
            drop_after_write_rate=drop_after_write_rate,
            down=down,
            seed=fault_seed,
        )
    except ValidationError as exc:
        console.print(f"[red]invalid fault settings:[/red] {exc}")
        raise typer.Exit(2) from None
    if log_level.upper() not in LOG_LEVELS:
        console.print(f"[red]--log-level[/red] must be one of {', '.join(LOG_LEVELS)}")
        raise typer.Exit(2)
    setup_logging(log_level.upper())  # this server's own level, in place of the hub's
    try:
        created, stored = asyncio.run(prepare_siak_registry(database_url, seed_families))
    except (OSError, asyncpg.PostgresError, HubError) as exc:
        console.print(f"[red]cannot prepare the registry database:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    if created:
        console.print("created the registry database")
    if stored:
        console.print(f"seeded {stored} persons")
    app = create_app(database_url, faults)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=log_level.lower(), timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run()
