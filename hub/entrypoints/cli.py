"""The `hub` command line (Typer). Each command is thin: take the settings, call into the hub.

The root callback builds the settings once and sets up the hub's logging (personal numbers
masked) for whichever command runs; commands take the settings from the context."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from hub.entrypoints.ops_common import run as run_command
from hub.entrypoints.ops_common import settings, start_invocation
from hub.errors import ConfigurationError
from hub.logging import setup_logging

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help=(
        "Birth-registration hub: hospitals' FHIR birth notifications in (Kafka), akta kelahiran, NIK and "
        "family card out. Configure with HUB_* environment variables (see README); with none set, it uses "
        "the local Kafka and PostgreSQL that `make run` starts."
    ),
)
console = Console(stderr=True)
LOCAL_ACCOUNTS_FILE = Path(".local/console-accounts.txt")


@app.callback()
def _every_command(ctx: typer.Context) -> None:
    # Settings and logging for every command; `--help` is answered before this runs, or runs it
    # without connecting anything.
    start_invocation(ctx)


@app.command()
def run(
    ctx: typer.Context,
    seed_families: Annotated[
        int,
        typer.Option(help="Seed this many synthetic families if the registry is empty (0: never)."),
    ] = 1000,
    local_console_accounts: Annotated[
        bool,
        typer.Option(
            help="Development only (`make run` passes it): if the console has no accounts, make one per role "
            "with generated passwords, written to .local/console-accounts.txt."
        ),
    ] = False,
) -> None:
    """Run the hub in the foreground: consume notifications, register births, publish results. Ctrl-C stops it."""
    from hub.entrypoints.runner import run_hub
    from hub.observability import tracing_setup

    try:
        tracing_setup.configure()  # before any client exists, so the HTTP and database calls are traced
    except ValueError as exc:  # an OTEL_* variable asks for something the hub cannot do
        console.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(2) from None
    prepare = None
    if seed_families:
        from functools import partial

        from hub.devtools.seed import seed_development_registry

        accounts_file = LOCAL_ACCOUNTS_FILE if local_console_accounts else None
        prepare = partial(seed_development_registry, families=seed_families, console_accounts=accounts_file)
    try:
        code = asyncio.run(run_hub(settings(ctx), prepare=prepare))
    except ConfigurationError as exc:  # e.g. migrations to apply, but no role that may apply them
        console.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Apply the database schema migrations that are not applied yet, as the owner role
    (HUB_DATABASE_OWNER_URL), and grant the runtime role (HUB_DATABASE_URL) what it needs: its
    tables, but only reading and appending on the audit log."""
    from hub.bootstrap import prepare_database

    config = settings(ctx)
    applied = run_command(lambda: prepare_database(config))
    console.print(f"applied: {', '.join(applied) if applied else 'nothing, schema is current'}")


@app.command()
def seed(
    ctx: typer.Context,
    families: Annotated[int, typer.Option(min=1, help="How many synthetic families to create.")] = 1000,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same people.")] = 1,
    force: Annotated[bool, typer.Option(help="Add families even if the registry already has some.")] = False,
) -> None:
    """Fill the embedded registry with a synthetic population and the known hospitals."""
    from hub.bootstrap import database, prepare_database
    from hub.devtools.seed import seed_population

    config = settings(ctx)

    async def _go() -> int:
        await prepare_database(config)
        async with database(config) as pool:
            with Progress(console=console) as bar:
                task = bar.add_task("seeding families", total=families)
                return await seed_population(
                    pool,
                    families=families,
                    seed_value=seed_value,
                    only_if_empty=not force,
                    progress=lambda n: bar.advance(task, n),
                )

    stored = asyncio.run(_go())
    console.print(f"stored {stored} persons" if stored else "registry not empty: nothing seeded (use --force)")


@app.command()
def demo(
    ctx: typer.Context,
    births: Annotated[int, typer.Option(min=1, help="How many births to publish.")] = 200,
    rate: Annotated[float, typer.Option(min=0.1, help="Births per second.")] = 20.0,
    invalid_share: Annotated[float, typer.Option(min=0, max=1, help="Share of notifications with a mistake.")] = 0.1,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
) -> None:
    """Play synthetic hospitals publishing births for mothers in the seeded population, with live progress."""
    from hub.devtools.simulation.demo import run_demo

    config = settings(ctx)
    setup_logging("WARNING", config.log_json)  # the live progress display is the output; only problems are logged
    asyncio.run(
        run_demo(config, births=births, rate=rate, invalid_share=invalid_share, seed=seed_value, console=console)
    )


@app.command()
def example(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option(help="valid, twin, stillbirth, placeholder-name or unknown-mother.")] = "valid",
    with_key: Annotated[
        bool,
        typer.Option(
            help="Print `<key><TAB><json>` for `kcat -K'\\t'` (the key: the regency of the mother's family card)."
        ),
    ] = False,
    hospital: Annotated[
        str | None,
        typer.Option(
            "--hospital",
            metavar="ORG",
            help="The sending hospital's SATUSEHAT organisation id (default: a random active hospital of the registry).",
        ),
    ] = None,
    signed: Annotated[
        bool,
        typer.Option(
            "--signed",
            help="Sign it as its hospital and print `<key><TAB><hub-signature><TAB><json>` (the signature "
            "covers the JSON exactly as printed, without the newline). The hospital's key and Kafka password are read "
            "from HUB_HOSPITAL_SECRETS_DIR/ORG; a seeded hospital without them gets them there first (development).",
        ),
    ] = False,
) -> None:
    """Print a fresh birth notification (FHIR JSON, one line) for a random mother of the seeded registry."""
    import json

    from hub.devtools.simulation.sample import KINDS, sample_notification

    if kind not in KINDS:
        console.print(f"[red]unknown kind {kind!r}[/red]: one of {', '.join(KINDS)}")
        raise typer.Exit(2)
    config = settings(ctx)

    async def go() -> str:
        sample = await sample_notification(config, kind, hospital)
        line = json.dumps(sample.document, separators=(",", ":"))
        if signed:
            from hub.devtools.local_hospitals import local_hospital
            from hub.entrypoints.ops_common import operator_identity

            sender = await local_hospital(config, sample.hospital_id, by=operator_identity())
            return f"{sample.key}\t{sender.signature(line.encode())}\t{line}"
        return f"{sample.key}\t{line}" if with_key else line

    try:
        print(run_command(go))
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


@app.command()
def sign(
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            metavar="PEM",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The hospital's private signing key: an unencrypted PEM EC P-256 (prime256v1) key, "
            "e.g. .local/hospitals/ORG/signing-key.pem.",
        ),
    ],
    kid: Annotated[
        str,
        typer.Option(
            "--kid", help="The key id the hub registered it under (`hub hospitals list`; signing-key.kid beside it)."
        ),
    ],
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The record value to sign, byte for byte (default: standard input): a trailing newline is signed too, "
            "so pipe `printf %s` rather than `echo`.",
        ),
    ] = None,
) -> None:
    """Print the `hub-signature` header value for a record value: for integrators testing their own messages.

    A detached JWS (ES256, RFC 7797) over exactly the bytes read, for the record's `hub-signature` header:

    kcat -P ... -H "hub-signature=$(hub sign --key PEM --kid KID msg.json)" msg.json
    """
    from hub.errors import OperatorError
    from hub.intake import signature

    raw = file.read_bytes() if file is not None else typer.get_binary_stream("stdin").read()
    try:
        value = signature.sign(raw, key.read_bytes(), kid)
    except OperatorError as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from None
    print(value)


@app.command()
def contracts(
    check: Annotated[bool, typer.Option(help="Only compare: exit 1 if contracts/ differs from the code.")] = False,
    directory: Annotated[Path, typer.Option(help="Where the contract files live.")] = Path("contracts"),
) -> None:
    """Generate contracts/ (AsyncAPI, JSON Schemas, error codes, examples) from the code."""
    from hub.devtools.contracts import generate, write

    files = generate()
    if check:
        stale = [
            name
            for name, text in files.items()
            if not (directory / name).exists() or (directory / name).read_text() != text
        ]
        for name in stale:
            console.print(f"[red]out of date:[/red] {directory / name}")
        raise typer.Exit(1 if stale else 0)
    write(files, directory)
    console.print(f"wrote {len(files)} files under {directory}")


def _operations() -> None:
    from hub.entrypoints import (
        ops_audit,
        ops_documents,
        ops_hospitals,
        ops_replay,
        ops_retention,
        ops_review,
        ops_status,
        ops_users,
        siak_cli,
    )

    app.command("status")(ops_status.status)
    app.command("registry")(ops_status.registry)
    app.command("replay")(ops_replay.replay)
    ops_review.dlq_app.command("replay")(ops_replay.replay_dead_letters)
    app.add_typer(ops_review.dlq_app, name="dlq")
    app.add_typer(ops_review.review_app, name="review")
    app.add_typer(ops_audit.audit_app, name="audit")
    app.add_typer(ops_retention.retention_app, name="retention")
    app.add_typer(siak_cli.siak_app, name="siak")
    app.add_typer(ops_documents.documents_app, name="documents")
    app.add_typer(ops_users.users_app, name="users")
    app.add_typer(ops_hospitals.hospitals_app, name="hospitals")
    app.command("console")(ops_users.console)
    _signer_commands()


def _signer_commands() -> None:
    """`hub signer serve`, once the remote signer's reference server exists in this tree."""
    from hub.entrypoints.signer_cli import signer_app

    app.add_typer(signer_app, name="signer")


_operations()


def main() -> None:
    app(prog_name="hub")


if __name__ == "__main__":
    main()
