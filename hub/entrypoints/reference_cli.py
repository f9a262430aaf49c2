"""What `hub siak serve` and `hub signer serve` share: the fault options of a reference server, its
own log level, and its mutual TLS. The reference servers themselves live in hub/devtools."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

if TYPE_CHECKING:
    from hub.devtools.siak.server_faults import Faults

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
console = Console(stderr=True)

LatencyMs = Annotated[int, typer.Option(min=0, help="Fault: milliseconds added to every request.")]
ErrorRate = Annotated[float, typer.Option(min=0, max=1, help="Fault: share of requests answered 503 at once.")]
TimeoutRate = Annotated[
    float, typer.Option(min=0, max=1, help="Fault: share of requests that sleep --timeout-sleep-s first.")
]
TimeoutSleep = Annotated[float, typer.Option(min=0, help="Fault: how long a 'timeout' request sleeps.")]
DropAfterWriteRate = Annotated[
    float,
    typer.Option(min=0, max=1, help="Fault: share of POSTs carried out, then answered with a dropped connection."),
]
Down = Annotated[bool, typer.Option(help="Fault: answer every request 503.")]
FaultSeed = Annotated[int, typer.Option(help="Seed of the fault decisions (reproducible runs).")]
LogLevel = Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")]
TlsCert = Annotated[
    Path | None,
    typer.Option(help="The server's TLS certificate (PEM). Default: the local development one, made if missing."),
]
TlsKey = Annotated[Path | None, typer.Option(help="Its private key (PEM). Default: the local development one.")]
ClientCa = Annotated[
    Path | None,
    typer.Option(help="Accept only client certificates this CA issued. Default: HUB_SERVICE_CA_FILE (the local CA)."),
]
ClientName = Annotated[
    list[str] | None,
    typer.Option(
        metavar="<name>",
        help="Accept only client certificates with this common name (repeatable; the hub's local one is `hub`). "
        "Default: any certificate the CA issued.",
    ),
]


def faults(
    latency_ms: int,
    error_rate: float,
    timeout_rate: float,
    timeout_sleep_s: float,
    drop_after_write_rate: float,
    down: bool,
    fault_seed: int,
) -> Faults:
    """The faults the options ask for; exit code 2 with the reason when they cannot work."""
    from hub.devtools.siak.server_faults import Faults

    try:
        return Faults(
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


def server_logging(log_level: str) -> str:
    """Set the server's own log level (in place of the hub's); exit code 2 for an unknown level."""
    from hub.logging import setup_logging

    level = log_level.upper()
    if level not in LOG_LEVELS:
        console.print(f"[red]--log-level[/red] must be one of {', '.join(LOG_LEVELS)}")
        raise typer.Exit(2)
    setup_logging(level)
    return level


def server_tls(cert: Path | None, key: Path | None, ca: Path | None, names: list[str] | None) -> dict[str, Any]:
    """uvicorn's keyword arguments for mutual TLS (a client certificate is required). A file left to
    its default is the local development PKI's, made first when missing (hub/devtools/service_pki.py);
    exit code 2 when a file cannot be used."""
    from hub.adapters.service_tls import server_ssl_kwargs
    from hub.config import Settings
    from hub.devtools.service_pki import ServicePki, ensure_service_pki
    from hub.errors import ConfigurationError

    try:
        if cert is None or key is None or ca is None:
            pki = ServicePki.of(Settings())
            if written := ensure_service_pki(pki):
                console.print(f"made the local development TLS files {', '.join(written)} in {pki.ca_cert.parent}")
            cert, key, ca = cert or pki.server_cert, key or pki.server_key, ca or pki.ca_cert
        return server_ssl_kwargs(cert, key, ca, client_names=names or ())
    except (OSError, ConfigurationError) as exc:
        console.print(f"[red]cannot set up TLS:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None
