"""`hub signer ...`: the document-signing service reference server, for development, tests and demos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

signer_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=(
        "The document-signing service over HTTP: a reference server implementing the hub's signing contract "
        "(contracts/signer-openapi.json) over the local key store, with fault injection for tests."
    ),
)


@signer_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 18085,
    keys_dir: Annotated[
        Path, typer.Option(help="The key store: a development CA and signing keys, created if missing.")
    ] = Path(".local/pki"),
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
    """Serve the signing reference server over mutual TLS: only clients with a certificate from the
    client CA are served (the hub's, by default). Faults can also be changed at run time with PUT /v1/_faults."""
    import uvicorn

    from hub.devtools.signer.server import create_app

    injected = faults(latency_ms, error_rate, timeout_rate, timeout_sleep_s, drop_after_write_rate, down, fault_seed)
    level = server_logging(log_level)
    tls = server_tls(tls_cert, tls_key, client_ca, client_name)
    app = create_app(_local_signer(keys_dir), injected)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=level.lower(), timeout_graceful_shutdown=5, **tls
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
