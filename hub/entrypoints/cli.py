"""The `hub` command line (Typer). Each command is thin: build settings, call into the hub."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress

from hub.config import Settings
from hub.logging import setup_logging

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False, help=(
    "Birth-registration hub: hospitals' FHIR birth notifications in (Kafka), akta kelahiran, NIK and "
    "family card out. Configure with HUB_* environment variables (see README); with none set, it uses "
    "the local Kafka and PostgreSQL that `make run` starts."))
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        console.print(f"[red]invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def run(seed_families: int = typer.Option(1000, help="Seed this many synthetic families if the registry is empty (0: never).")) -> None:
    """Run the hub in the foreground: consume notifications, register births, publish results. Ctrl-C stops it."""
    settings = _settings()
    setup_logging(settings.log_level, settings.log_json)
    from hub.entrypoints.runner import run_hub

    code = asyncio.run(run_hub(settings, seed_families=seed_families))
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply the database schema migrations that are not applied yet."""
    settings = _settings()
    setup_logging(settings.log_level)
    from hub.bootstrap import open_pool, prepare_database

    async def _go() -> list[str]:
        pool = await open_pool(settings)
        try:
            return await prepare_database(pool)
        finally:
            await pool.close()

    applied = asyncio.run(_go())
    console.print(f"applied: {', '.join(applied) if applied else 'nothing, schema is current'}")


@app.command()
def seed(families: int = typer.Option(1000, min=1, help="How many synthetic families to create."),
         seed_value: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same people."),
         force: bool = typer.Option(False, help="Add families even if the registry already has some.")) -> None:
    """Fill the embedded registry with a synthetic population and the known hospitals."""
    settings = _settings()
    setup_logging(settings.log_level)
    from hub.bootstrap import open_pool, prepare_database, seed_population

    async def _go() -> int:
        pool = await open_pool(settings)
        try:
            await prepare_database(pool)
            with Progress(console=console) as bar:
                task = bar.add_task("seeding families", total=families)
                return await seed_population(pool, families=families, seed_value=seed_value,
                                             only_if_empty=not force, progress=lambda n: bar.advance(task, n))
        finally:
            await pool.close()

    stored = asyncio.run(_go())
    console.print(f"stored {stored} persons" if stored else "registry not empty: nothing seeded (use --force)")


@app.command()
def demo(births: int = typer.Option(200, min=1, help="How many births to publish."),
         rate: float = typer.Option(20.0, min=0.1, help="Births per second."),
         invalid_share: float = typer.Option(0.1, min=0, max=1, help="Share of notifications with a mistake."),
         seed_value: int = typer.Option(7, "--seed", help="Random seed.")) -> None:
    """Play synthetic hospitals publishing births for mothers in the seeded population, with live progress."""
    settings = _settings()
    setup_logging("WARNING")
    from hub.simulation.demo import run_demo

    asyncio.run(run_demo(settings, births=births, rate=rate, invalid_share=invalid_share, seed=seed_value, console=console))


@app.command()
def example(kind: str = typer.Option("valid", help="valid, twin, stillbirth, placeholder-name or unknown-mother."),
            with_key: bool = typer.Option(False, help="Print `<mother's NIK><TAB><json>` for `kcat -K'\\t'`.")) -> None:
    """Print a fresh birth notification (FHIR JSON, one line) for a random mother of the seeded registry."""
    import json

    from hub.simulation.sample import KINDS, sample_notification

    if kind not in KINDS:
        console.print(f"[red]unknown kind {kind!r}[/red]: one of {', '.join(KINDS)}")
        raise typer.Exit(2)
    try:
        key, document = asyncio.run(sample_notification(_settings(), kind))
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    line = json.dumps(document, separators=(",", ":"))
    print(f"{key}\t{line}" if with_key else line)


@app.command()
def contracts(check: bool = typer.Option(False, help="Only compare: exit 1 if contracts/ differs from the code."),
              directory: Path = typer.Option(Path("contracts"), help="Where the contract files live.")) -> None:
    """Generate contracts/ (AsyncAPI, JSON Schemas, error codes, examples) from the code."""
    from hub.contracts import generate, write

    files = generate()
    if check:
        stale = [name for name, text in files.items() if not (directory / name).exists() or (directory / name).read_text() != text]
        for name in stale:
            console.print(f"[red]out of date:[/red] {directory / name}")
        raise typer.Exit(1 if stale else 0)
    write(files, directory)
    console.print(f"wrote {len(files)} files under {directory}")


def _operations() -> None:
    from hub.entrypoints import ops_documents, ops_replay, ops_review, ops_status, siak_cli

    app.command("status")(ops_status.status)
    app.command("registry")(ops_status.registry)
    app.command("replay")(ops_replay.replay)
    ops_review.dlq_app.command("replay")(ops_replay.replay_dead_letters)
    app.add_typer(ops_review.dlq_app, name="dlq")
    app.add_typer(ops_review.review_app, name="review")
    app.add_typer(ops_status.audit_app, name="audit")
    app.add_typer(siak_cli.siak_app, name="siak")
    app.add_typer(ops_documents.documents_app, name="documents")
    _signer_commands()


def _signer_commands() -> None:
    """`hub signer serve`, once the remote signer's reference server exists in this tree."""
    from hub.entrypoints.signer_cli import signer_app

    app.add_typer(signer_app, name="signer")


_operations()


def main() -> None:
    app(prog_name="hub")


if __name__ == "__main__":
    sys.exit(main())
