"""`hub documents ...`: verify, look up, reprint, correct and revoke the signed documents; the
signing keys of the local signer; the public verification service."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.bootstrap import operations, operator_actions, published_keys
from hub.entrypoints.ops_common import (
    AsJson,
    err,
    operator_identity,
    run,
    settings,
)

documents_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=(
        "The signed akta kelahiran and family cards: verify one (offline, from its QR payload, a photo of it or "
        "the PDF), show a document's versions, reprint, correct (pembetulan) and revoke; the signing keys."
    ),
)
keys_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=("The local signer's keys under HUB_PKI_DIR (default .local/pki): a development CA and the signing key."),
)
documents_app.add_typer(keys_app, name="keys")
out = Console()
Reason = Annotated[str, typer.Option(help="Why. Audited.")]


@documents_app.command()
def verify(
    ctx: typer.Context,
    what: Annotated[
        str, typer.Argument(help="The QR payload (DK1:...), or a file: a photo/scan of the QR (PNG, JPEG) or the PDF.")
    ],
    keys: Annotated[
        str | None,
        typer.Option(
            help="Published keys: a file or URL (default: <HUB_PUBLIC_BASE_URL>/keys, else the local signer's keys)."
        ),
    ] = None,
    status_list: Annotated[
        Path | None, typer.Option(help="A status list saved earlier (offline); default: fetch the URI in the QR.")
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            help="Do not fetch anything: signature and validity only, status unknown unless --status-list is given."
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Check a document: is the QR signed by a published key valid when it was issued, what does it
    vouch for, and is the document active, superseded or revoked. Exit code 0 valid and active, 1 otherwise."""
    from hub.service.verification import load_trust, read_payloads, verify_offline

    config = settings(ctx)
    try:
        payloads = read_payloads(what)
    except ValueError as exc:
        err.print(f"[red]cannot read:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        trust = load_trust(
            keys, f"{config.public_base_url.rstrip('/')}/keys", lambda: published_keys(config), offline=offline
        )
    except (ValueError, OSError) as exc:
        err.print(f"[red]no published keys:[/red] {exc}")
        raise typer.Exit(2) from None
    verdicts = [verify_offline(payload, trust, status_file=status_list, offline=offline) for payload in payloads]
    if as_json:
        out.print_json(json.dumps([v.as_json() for v in verdicts]))
    else:
        for verdict in verdicts:
            _print_verdict(verdict)
    raise typer.Exit(0 if verdicts and all(v.accepted for v in verdicts) else 1)


def _print_verdict(verdict) -> None:
    colour = "green" if verdict.accepted else "red"
    out.print(f"[{colour}]{verdict.headline()}[/{colour}]")
    for name, value in verdict.fields():
        out.print(f"  {name:<22} {value}")


@documents_app.command()
def show(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="An akta number, a KK number or a document id.")],
    as_json: AsJson = False,
) -> None:
    """Every version of a document: id, version, status, issue time, signing key, what it replaced."""
    config = settings(ctx)

    async def work():
        async with operations(config) as ops:
            return await ops.documents.find(number)

    found = run(work)
    if not found:
        err.print("no document found")
        raise typer.Exit(1)
    rows = [
        {
            "document_id": d.ref.document_id,
            "kind": d.ref.kind.value,
            "number": d.ref.number,
            "version": d.ref.version,
            "status": d.ref.status.value,
            "issued_at": d.ref.issued_at.isoformat(timespec="seconds"),
            "key_id": d.key_id,
            "reason": d.reason,
            "supersedes": d.supersedes,
            "status_reason": d.status_reason,
            "status_list": f"{d.ref.slot.regency}/{d.ref.slot.year}#{d.ref.slot.index}",
        }
        for d in found
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("version", "status", "issued at", "document id", "reason", "key", "status list")
    for row in rows:
        table.add_row(
            str(row["version"]),
            row["status"],
            row["issued_at"],
            row["document_id"],
            row["reason"],
            row["key_id"],
            row["status_list"],
        )
    out.print(table)


@documents_app.command()
def get(
    ctx: typer.Context,
    document_id: Annotated[str, typer.Argument(help="The document id (printed under the QR code).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the PDF ('-' for standard output).")],
) -> None:
    """Reprint: write a document's signed PDF exactly as issued (byte-identical to the first copy)."""
    config = settings(ctx)

    async def work():
        async with operations(config) as ops:
            return await ops.documents.get(document_id)

    found = run(work)
    if str(output) == "-":
        sys.stdout.buffer.write(found.pdf)
    else:
        output.write_bytes(found.pdf)
        err.print(f"wrote {output} ({len(found.pdf)} bytes, version {found.ref.version}, {found.ref.status.value})")


@documents_app.command()
def correct(
    ctx: typer.Context,
    akta_number: Annotated[str, typer.Argument(help="The akta number of the birth to correct.")],
    reason: Annotated[str, typer.Option(help="Why (e.g. the request's reference). Audited; no personal data please.")],
    child_name: Annotated[str | None, typer.Option(help="The child's corrected name.")] = None,
    mother_name: Annotated[str | None, typer.Option(help="The mother's corrected name.")] = None,
    father_name: Annotated[str | None, typer.Option(help="The father's corrected name.")] = None,
    place_of_birth: Annotated[str | None, typer.Option(help="The corrected place of birth.")] = None,
) -> None:
    """Pembetulan: reissue the akta and the family card with corrected data as new versions; the old
    ones become superseded and the hospital receives the new documents as a further result."""
    from hub.domain.documents import Correction

    config = settings(ctx)
    correction = Correction(
        reason=reason,
        child_name=child_name,
        mother_name=mother_name,
        father_name=father_name,
        place_of_birth=place_of_birth,
    )

    async def work():
        async with operator_actions(config) as actions:
            return await actions.documents.correct(akta_number, correction, operator_identity())

    reissued = run(work)
    err.print(
        f"correction recorded: {len(reissued)} document(s) will be reissued by the running hub "
        f"(fields: {', '.join(sorted(correction.fields()))})"
    )


@documents_app.command()
def revoke(
    ctx: typer.Context,
    document_id: Annotated[str, typer.Argument(help="The document id to revoke.")],
    reason: Reason,
) -> None:
    """Revoke one document version: from now on its QR verifies as revoked."""
    config = settings(ctx)

    async def work():
        async with operator_actions(config) as actions:
            return await actions.documents.revoke(document_id, reason, operator_identity())

    found = run(work)
    err.print(f"revoked {found.ref.kind.value} {found.ref.number} version {found.ref.version}")


@documents_app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default HUB_VERIFY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default HUB_VERIFY_PORT).")] = None,
) -> None:
    """Serve the public verification page, the status lists and the published keys (no sign-in).
    `hub run` serves the same in its own process unless HUB_VERIFY_PORT=0."""
    import asyncio

    from hub.bootstrap import database, document_signer
    from hub.entrypoints.runner import _stop_on_signals, serve_verification

    config = settings(ctx)
    config = config.model_copy(update={k: v for k, v in {"verify_host": host, "verify_port": port}.items() if v})

    async def work() -> None:
        stop = asyncio.Event()
        async with database(config) as pool, document_signer(config) as signer:
            _stop_on_signals(stop)
            await serve_verification(config, pool, signer, stop)

    asyncio.run(work())


@keys_app.command("init")
def keys_init(ctx: typer.Context) -> None:
    """Create the development CA and a signing key if missing (make run and make test do this)."""
    from hub.bootstrap import ensure_signing_keys

    config = settings(ctx)
    created = ensure_signing_keys(config)
    err.print(f"{'created' if created else 'already present'}: {config.pki_dir}")


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    overlap_hours: Annotated[
        float,
        typer.Option(min=0, help="How long the old key stays valid for verifiers of documents it signs until now."),
    ] = 24.0,
) -> None:
    """Make a new signing key current. The old key signs nothing more; documents it signed stay valid."""
    from hub.bootstrap import rotate_signing_key

    kid = rotate_signing_key(settings(ctx), now=datetime.now(UTC), overlap=timedelta(hours=overlap_hours))
    err.print(f"new signing key {kid} is current; restart the hub to sign with it")


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The published keys with their validity."""

    document = published_keys(settings(ctx)).to_json()
    if as_json:
        out.print_json(json.dumps(document))
        return
    table = Table("kid", "not before", "not after")
    for key in document["keys"]:
        table.add_row(key["kid"], str(key.get("not_before")), str(key.get("not_after") or "-"))
    out.print(table)


@keys_app.command("export")
def keys_export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the published keys (JSON).")],
) -> None:
    """Write the published keys for offline verifiers (`hub documents verify --keys FILE`)."""

    output.write_text(json.dumps(published_keys(settings(ctx)).to_json(), indent=2))
    err.print(f"wrote {output}")


@documents_app.command()
def sample(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the files.")] = Path("document-samples"),
    png: Annotated[bool, typer.Option(help="Also write a PNG of each first page.")] = True,
) -> None:
    """Render the templates with synthetic people, unsigned, for a designer editing
    hub/documents/templates/*.yaml: each akta variant and a family card of 12 members."""
    from hub.devtools.simulation.document_samples import samples
    from hub.documents.render import render

    output.mkdir(parents=True, exist_ok=True)
    for name, (content, ref, payload) in samples().items():
        pdf = render(content, ref, payload)
        (output / f"{name}.pdf").write_bytes(pdf)
        if png:
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(pdf)
            document[0].render(scale=1.25).to_pil().save(output / f"{name}.png")
            document.close()
        err.print(f"wrote {output / name}.pdf")
