"""What `hub siak serve` and `hub signer serve` share: the fault options of a reference server and
its own log level. The reference servers themselves live in hub/devtools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
