"""`hub documents ...`: verify, look up, reprint, correct and revoke the signed documents; the
signing keys of the local signer; the public verification service."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from hub.config import Settings
from hub.entrypoints.ops_common import JSON, OPERATOR, database, err, operator_name, run

documents_app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "The signed akta kelahiran and family cards: verify one (offline, from its QR payload, a photo of it or "
    "the PDF), show a document's versions, reprint, correct (pembetulan) and revoke; the signing keys."))
keys_app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "The local signer's keys under HUB_PKI_DIR (default .local/pki): a development CA and the signing key."))
documents_app.add_typer(keys_app, name="keys")
out = Console()


def _settings() -> Settings:
    from hub.entrypoints.cli import _settings as settings

    return settings()


def _desk(settings: Settings, pool):
    from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
    from hub.bootstrap import utc_now
    from hub.service.document_desk import DocumentDesk

    return DocumentDesk(lambda: PostgresUnitOfWork(pool), settings.topics, utc_now)


@documents_app.command()
def verify(
    what: str = typer.Argument(..., help="The QR payload (DK1:...), or a file: a photo/scan of the QR (PNG, JPEG) or the PDF."),
    keys: str = typer.Option(None, help="Published keys: a file or URL (default: <HUB_PUBLIC_BASE_URL>/keys, "
                                        "else the local signer's keys)."),
    status_list: Path = typer.Option(None, help="A status list saved earlier (offline); default: fetch the URI in the QR."),
    offline: bool = typer.Option(False, help="Do not fetch anything: signature and validity only, status unknown "
                                             "unless --status-list is given."),
    as_json: bool = JSON,
) -> None:
    """Check a document: is the QR signed by a published key valid when it was issued, what does it
    vouch for, and is the document active, superseded or revoked. Exit code 0 valid and active, 1 otherwise."""
    from hub.service.verification import load_trust, read_payloads, verify_offline

    settings = _settings()
    try:
        payloads = read_payloads(what)
    except ValueError as exc:
        err.print(f"[red]cannot read:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        trust = load_trust(keys, f"{settings.public_base_url.rstrip('/')}/keys", settings.pki_dir, offline=offline)
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
def show(number: str = typer.Argument(..., help="An akta number, a KK number or a document id."), as_json: bool = JSON) -> None:
    """Every version of a document: id, version, status, issue time, signing key, what it replaced."""
    settings = _settings()

    async def work():
        async with database(settings) as pool:
            return await _desk(settings, pool).find(number)

    found = run(work)
    if not found:
        err.print("no document found")
        raise typer.Exit(1)
    rows = [{"document_id": d.ref.document_id, "kind": d.ref.kind.value, "number": d.ref.number, "version": d.ref.version,
             "status": d.ref.status.value, "issued_at": d.ref.issued_at.isoformat(timespec="seconds"), "key_id": d.key_id,
             "reason": d.reason, "supersedes": d.supersedes, "status_reason": d.status_reason,
             "status_list": f"{d.ref.slot.regency}/{d.ref.slot.year}#{d.ref.slot.index}"} for d in found]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("version", "status", "issued at", "document id", "reason", "key", "status list")
    for row in rows:
        table.add_row(str(row["version"]), row["status"], row["issued_at"], row["document_id"], row["reason"],
                      row["key_id"], row["status_list"])
    out.print(table)


@documents_app.command()
def get(document_id: str = typer.Argument(..., help="The document id (printed under the QR code)."),
        output: Path = typer.Option(..., "--output", "-o", help="Where to write the PDF ('-' for standard output).")) -> None:
    """Reprint: write a document's signed PDF exactly as issued (byte-identical to the first copy)."""
    settings = _settings()

    async def work():
        async with database(settings) as pool:
            return await _desk(settings, pool).get(document_id)

    found = run(work)
    if str(output) == "-":
        sys.stdout.buffer.write(found.pdf)
    else:
        output.write_bytes(found.pdf)
        err.print(f"wrote {output} ({len(found.pdf)} bytes, version {found.ref.version}, {found.ref.status.value})")


@documents_app.command()
def correct(
    akta_number: str = typer.Argument(..., help="The akta number of the birth to correct."),
    reason: str = typer.Option(..., help="Why (e.g. the request's reference). Audited; no personal data please."),
    child_name: str = typer.Option(None, help="The child's corrected name."),
    mother_name: str = typer.Option(None, help="The mother's corrected name."),
    father_name: str = typer.Option(None, help="The father's corrected name."),
    place_of_birth: str = typer.Option(None, help="The corrected place of birth."),
    operator: str = OPERATOR,
) -> None:
    """Pembetulan: reissue the akta and the family card with corrected data as new versions; the old
    ones become superseded and the hospital receives the new documents as a further result."""
    from hub.domain.documents import Correction

    settings = _settings()
    correction = Correction(reason=reason, child_name=child_name, mother_name=mother_name, father_name=father_name,
                            place_of_birth=place_of_birth)

    async def work():
        async with database(settings) as pool:
            return await _desk(settings, pool).correct(akta_number, correction, operator_name(operator))

    reissued = run(work)
    err.print(f"correction recorded: {len(reissued)} document(s) will be reissued by the running hub "
              f"(fields: {', '.join(sorted(correction.fields()))})")


@documents_app.command()
def revoke(document_id: str = typer.Argument(..., help="The document id to revoke."),
           reason: str = typer.Option(..., help="Why. Audited."), operator: str = OPERATOR) -> None:
    """Revoke one document version: from now on its QR verifies as revoked."""
    settings = _settings()

    async def work():
        async with database(settings) as pool:
            return await _desk(settings, pool).revoke(document_id, reason, operator_name(operator))

    found = run(work)
    err.print(f"revoked {found.ref.kind.value} {found.ref.number} version {found.ref.version}")


@documents_app.command()
def serve(host: str = typer.Option(None, help="Address (default HUB_VERIFY_HOST)."),
          port: int = typer.Option(None, help="Port (default HUB_VERIFY_PORT).")) -> None:
    """Serve the public verification page, the status lists and the published keys (no sign-in).
    `hub run` serves the same in its own process unless HUB_VERIFY_PORT=0."""
    import asyncio

    from hub.bootstrap import document_signer, open_pool
    from hub.entrypoints.runner import serve_verification
    from hub.logging import setup_logging

    settings = _settings()
    setup_logging(settings.log_level, settings.log_json)
    settings = settings.model_copy(update={k: v for k, v in {"verify_host": host, "verify_port": port}.items() if v})

    async def work() -> None:
        pool = await open_pool(settings)
        stop = asyncio.Event()
        try:
            async with document_signer(settings) as signer:
                from hub.entrypoints.runner import _stop_on_signals

                _stop_on_signals(stop)
                await serve_verification(settings, pool, signer, stop)
        finally:
            await pool.close()

    asyncio.run(work())


@keys_app.command("init")
def keys_init() -> None:
    """Create the development CA and a signing key if missing (make run and make test do this)."""
    from hub.adapters.signing.pki import ensure_keys

    settings = _settings()
    created = ensure_keys(settings.pki_dir)
    err.print(f"{'created' if created else 'already present'}: {settings.pki_dir}")


@keys_app.command("rotate")
def keys_rotate(overlap_hours: float = typer.Option(24.0, min=0, help="How long the old key stays valid for verifiers "
                                                                       "of documents it signs until now.")) -> None:
    """Make a new signing key current. The old key signs nothing more; documents it signed stay valid."""
    from hub.adapters.signing.pki import ensure_keys, rotate

    settings = _settings()
    ensure_keys(settings.pki_dir)
    kid = rotate(settings.pki_dir, now=datetime.now(timezone.utc), overlap=timedelta(hours=overlap_hours))
    err.print(f"new signing key {kid} is current; restart the hub to sign with it")


@keys_app.command("list")
def keys_list(as_json: bool = JSON) -> None:
    """The published keys with their validity."""
    from hub.adapters.signing.pki import load_keys
    from hub.documents.trust import TrustList

    settings = _settings()
    trust = TrustList.from_signing_keys(load_keys(settings.pki_dir))
    document = trust.to_json()
    if as_json:
        out.print_json(json.dumps(document))
        return
    table = Table("kid", "not before", "not after")
    for key in document["keys"]:
        table.add_row(key["kid"], str(key.get("not_before")), str(key.get("not_after") or "-"))
    out.print(table)


@keys_app.command("export")
def keys_export(output: Path = typer.Option(..., "--output", "-o", help="Where to write the published keys (JSON).")) -> None:
    """Write the published keys for offline verifiers (`hub documents verify --keys FILE`)."""
    from hub.adapters.signing.pki import load_keys
    from hub.documents.trust import TrustList

    settings = _settings()
    output.write_text(json.dumps(TrustList.from_signing_keys(load_keys(settings.pki_dir)).to_json(), indent=2))
    err.print(f"wrote {output}")


@documents_app.command()
def sample(output: Path = typer.Option(Path("document-samples"), "--output", "-o", help="Directory for the files."),
           png: bool = typer.Option(True, help="Also write a PNG of each first page.")) -> None:
    """Render the templates with synthetic people, unsigned, for a designer editing
    hub/documents/templates/*.yaml: each akta variant and a family card of 12 members."""
    from hub.documents.render import render
    from hub.simulation.document_samples import samples

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
