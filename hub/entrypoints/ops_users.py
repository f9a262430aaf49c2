"""`hub users` (the back-office console's accounts) and `hub console` (the console alone)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hub.bootstrap import accounts
from hub.entrypoints import render
from hub.entrypoints.ops_common import AsJson, err, operator_identity, run, settings
from hub.service.accounts import ROLES, new_password

users_app = typer.Typer(
    help="Accounts of the back-office console: officer, supervisor, operator, auditor.", no_args_is_help=True
)
Reason = Annotated[str, typer.Option(help="Why (recorded in the audit log).")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (one line). Without it, one is generated and printed once.",
    ),
]


def _password(from_stdin: bool) -> tuple[str, bool]:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return new_password(), True


def _show_generated(username: str, password: str) -> None:
    # Printed once to the terminal of the operator who asked; never logged.
    typer.echo(f"password for {username} (shown once; hand it over in person): {password}")


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, '.', '_' or '-'.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str, typer.Option("--name", help="The person's name as the console shows it.")],
    reason: Reason = "new account",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a console account."""
    config = settings(ctx)
    password, generated = _password(password_stdin)

    async def go() -> None:
        async with accounts(config) as desk:
            await desk.add(username, name, role, password, operator_identity(), reason)

    run(go)
    err.print(f"console user {username} added ({role})")
    if generated:
        _show_generated(username, password)


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The console's accounts (never their password hashes)."""
    config = settings(ctx)

    async def go():
        async with accounts(config) as desk:
            return await desk.listed()

    found = run(go)
    rows = [
        {
            "username": a.username,
            "name": a.display_name,
            "role": a.role,
            "created_at": a.created_at,
            "password_set_at": a.password_set_at,
            "disabled_at": a.disabled_at,
            "locked_until": a.locked_until,
        }
        for a in found
    ]
    if as_json:
        render.print_json(rows)
        return
    render.table(
        "console users",
        ["username", "name", "role", "created", "disabled"],
        [[r["username"], r["name"], r["role"], r["created_at"], r["disabled_at"] or ""] for r in rows],
    )


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: str, reason: Reason = "") -> None:
    """Disable an account and end its sessions at once."""
    config = settings(ctx)

    async def go() -> int:
        async with accounts(config) as desk:
            return await desk.disable(username, operator_identity(), reason)

    ended = run(go)
    err.print(f"console user {username} disabled; {ended} session(s) ended")


@users_app.command("enable")
def users_enable(ctx: typer.Context, username: str, reason: Reason = "") -> None:
    """Enable a disabled (or locked) account again."""
    config = settings(ctx)

    async def go() -> None:
        async with accounts(config) as desk:
            await desk.enable(username, operator_identity(), reason)

    run(go)
    err.print(f"console user {username} enabled")


@users_app.command("reset")
def users_reset(ctx: typer.Context, username: str, reason: Reason = "", password_stdin: PasswordStdin = False) -> None:
    """Give an account a new password (generated unless --password-stdin), clear a lockout and end its sessions."""
    config = settings(ctx)
    password, generated = _password(password_stdin)

    async def go() -> None:
        async with accounts(config) as desk:
            await desk.reset(username, password, operator_identity(), reason)

    run(go)
    err.print(f"console user {username}: password reset, sessions ended")
    if generated:
        _show_generated(username, password)


def console(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen on this address (default HUB_CONSOLE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen on this port (default HUB_CONSOLE_PORT, 18092).")] = None,
) -> None:
    """Serve the back-office console alone (`hub run` serves it too). Ctrl-C stops it."""
    from hub.entrypoints.runner import serve_console_until_stopped

    config = settings(ctx)
    changes = {k: v for k, v in (("console_host", host), ("console_port", port)) if v is not None}
    config = config.model_copy(update=changes)
    if not config.console_port:
        err.print("[red]refused:[/red] the console port is 0 (off); pass --port")
        raise typer.Exit(2)
    err.print(
        f"console on http://{config.console_host}:{config.console_port}/ (sign in with a `hub users add` account)"
    )
    run(lambda: serve_console_until_stopped(config))
