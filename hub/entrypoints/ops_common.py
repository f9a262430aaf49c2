"""What the operator commands share: settings, a pool, the operator's identity, time parsing, errors."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import TypeVar

import asyncpg
import typer
from rich.console import Console

from hub.bootstrap import open_pool, prepare_database
from hub.config import Settings
from hub.errors import HubError, OperatorError, TransientError

T = TypeVar("T")
err = Console(stderr=True)

OPERATOR = typer.Option(None, "--operator", help="Who is acting (default: $HUB_OPERATOR, else the login name). Audited.")
JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")


def operator_name(given: str | None) -> str:
    return given or os.environ.get("HUB_OPERATOR") or getpass.getuser()


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601; a value without an offset is read as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-23T08:00+07:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_pool(settings)
    try:
        await prepare_database(pool)
        yield pool
    finally:
        await pool.close()


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run an operator command; hub errors become a one-line message and exit code 1 (2 for refusals)."""
    try:
        return asyncio.run(work())
    except OperatorError as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from None
    except TransientError as exc:
        err.print(f"[red]unavailable:[/red] {exc} (is the service up? `make status`)")
        raise typer.Exit(1) from None
    except HubError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
