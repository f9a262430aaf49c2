"""What the commands share: the invocation's settings and logging (set up once, by the root
callback), the operator's identity, time parsing, and how hub errors end a command."""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from hub.config import Settings
from hub.errors import HubError, OperatorError, TransientError
from hub.logging import setup_logging

T = TypeVar("T")
err = Console(stderr=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
HospitalOption = Annotated[
    str | None,
    typer.Option(
        "--hospital",
        help="The sending hospital's organisation id, when several hospitals sent this message id "
        "('' for a message whose sender could not be read).",
    ),
]


@dataclass(frozen=True)
class Invocation:
    """`ctx.obj` of every command: the settings, or why they are invalid (reported by the commands
    that need them, so that `--help` and the commands that need none still work)."""

    found: Settings | None
    problem: str | None = None


def start_invocation(ctx: typer.Context) -> None:
    """Build the settings and set up the hub's (masked) logging for the command being invoked. The
    previous logging set-up comes back when the command ends (matters when invoked in-process)."""
    ctx.obj = _invocation()
    found = ctx.obj.found
    restore = _logging_snapshot()
    if found is None:
        setup_logging()
    else:
        setup_logging(found.log_level, found.log_json)
    ctx.call_on_close(restore)


def settings(ctx: typer.Context) -> Settings:
    """The invocation's settings; exit 2 with the reason if the configuration is invalid."""
    invocation = ctx.find_object(Invocation) or _invocation()  # None: a sub-app invoked without `hub`'s callback
    if invocation.found is None:
        err.print(f"[red]invalid configuration:[/red] {invocation.problem}")
        raise typer.Exit(2)
    return invocation.found


def _invocation() -> Invocation:
    try:
        return Invocation(Settings())
    except ValidationError as exc:
        return Invocation(None, _without_input(exc))
    except ValueError as exc:
        return Invocation(None, str(exc))


def _without_input(exc: ValidationError) -> str:
    """Pydantic echoes the offending input by default; a secret must not reach the terminal."""
    return "; ".join(
        f"HUB_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False, include_context=False)
    )


def _logging_snapshot() -> Callable[[], None]:
    root = logging.getLogger()
    handlers, levels = root.handlers[:], {name: logger.level for name, logger in _loggers()}
    root_level = root.level

    def restore() -> None:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, logger in _loggers():
            logger.setLevel(levels.get(name, logging.NOTSET))

    return restore


def _loggers() -> list[tuple[str, logging.Logger]]:
    return [
        (name, logger)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    ]


_NO_LOGIN_UID = 0xFFFFFFFF  # /proc/self/loginuid of a process outside any login session


def operator_identity() -> str:
    """Who runs this command, as the operating system knows it: the account of the process at this
    host, e.g. `budi@ops-1`; after sudo or su, also the account that logged in, which the kernel
    keeps (`budi as hub@ops-1`). Never a flag or an environment variable: those can name anyone.
    Once the console exists, its signed-in user is the identity there."""
    account = _account(os.geteuid())
    login = _login_uid()
    who = account if login in (None, os.geteuid()) else f"{_account(login)} as {account}"
    return f"{who}@{socket.gethostname()}"


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a container user without a passwd entry
        return f"uid-{uid}"


def _login_uid() -> int | None:
    try:
        with open("/proc/self/loginuid") as found:
            uid = int(found.read().strip())
    except (OSError, ValueError):
        return None
    return None if uid == _NO_LOGIN_UID else uid


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601; a value without an offset is read as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-23T08:00+07:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
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
