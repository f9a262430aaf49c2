"""`hub signer ...`: the document-signing service reference server, for development, tests and demos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

signer_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=(
        "The document-signing service over HTTP: a reference server implementing the hub's signing contract "
        "(contracts/signer-openapi.json) over the local key store, with fault injection for tests."
    ),
)
console = Console(stderr=True)


@signer_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 18085,
    keys_dir: Annotated[
        Path, typer.Option(help="The key store: a development CA and signing keys, created if missing.")
    ] = Path(".local/pki"),
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
        typer.Option(
            min=0, max=1, help=("Fault: share of POSTs signed and recorded, then answered with a dropped connection.")
        ),
    ] = 0.0,
    down: Annotated[bool, typer.Option(help="Fault: answer every request 503.")] = False,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault decisions (reproducible runs).")] = 0,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Serve the signing reference server. Faults can also be changed at run time with PUT /v1/_faults."""
    import uvicorn

    from hub.devtools.siak.server_faults import Faults
    from hub.devtools.signer.server import create_app
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
    level = log_level.upper()
    if level not in LOG_LEVELS:
        console.print(f"[red]--log-level[/red] must be one of {', '.join(LOG_LEVELS)}")
        raise typer.Exit(2)
    setup_logging(level)  # this server's own level, in place of the hub's
    app = create_app(_local_signer(keys_dir), faults)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=level.lower(), timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run()


def _local_signer(keys_dir: Path):
    """The local key store under `keys_dir`, its keys created first if missing."""
    from hub.adapters.signing.local import LocalSigner
    from hub.adapters.signing.pki import ensure_keys

    try:
        ensure_keys(keys_dir)
    except OSError as exc:
        console.print(f"[red]cannot prepare the key store in {keys_dir}:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    return LocalSigner(keys_dir)
