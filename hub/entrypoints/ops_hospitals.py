"""`hub hospitals`: onboard the hospitals that send notifications, their Kafka access and signing keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from hub.bootstrap import hospital_desk
from hub.entrypoints import render
from hub.entrypoints.ops_common import AsJson, err, operator_identity, run, settings
from hub.errors import OperatorError
from hub.service.hospitals import HospitalAccess, HospitalStatus, public_key_from

hospitals_app = typer.Typer(
    help="Hospitals that send birth notifications: onboarding, Kafka access (topics, SCRAM user, ACLs) "
    "and signing keys. Every change is audited.",
    no_args_is_help=True,
)
OrgId = Annotated[str, typer.Argument(metavar="ORG", help="The hospital's SATUSEHAT organisation id.")]
Reason = Annotated[str, typer.Option(help="Why (recorded in the audit log).")]
PublicKey = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="The hospital's public signing key: a PEM public key or a JWK (EC P-256, ES256). Without it, a key "
        "pair is generated and the private key is written under HUB_HOSPITAL_SECRETS_DIR/ORG (development).",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
_MAX_KEY_FILE = 16 * 1024


def _public_key(path: Path | None) -> dict | None:
    if path is None:
        return None
    with path.open("rb") as file:
        data = file.read(_MAX_KEY_FILE + 1)  # a larger file is refused as no public key
    try:
        return public_key_from(data)
    except OperatorError as exc:  # refused before anything runs, as `run` ends a refusal
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from None


def _show_access(access: HospitalAccess, kid: str | None = None, private_key: Path | None = None) -> None:
    # Printed once to the terminal of the operator who asked (stdout, for a script to capture); never logged.
    rows = [
        ("bootstrap.servers", access.profile.bootstrap),
        ("security.protocol", access.profile.protocol),
        ("sasl.mechanism", access.profile.mechanism),
        ("username", access.username),
        ("password", f"{access.password.get_secret_value()}   (shown once)"),
        ("CA certificate", str(access.profile.ca_file.resolve())),
        ("publishes to", access.notifications),
        ("reads results from", access.results),
        ("consumer group", f"{access.group} (or {access.group}.<name>)"),
    ]
    if kid:
        rows.append(("signing key id (kid)", kid))
    if private_key:
        rows.append(("private signing key", f"{private_key}  (generated: hand it over, then delete it)"))
    rows.append(("client.properties", str(access.secrets_dir / "client.properties")))
    width = max(len(name) for name, _ in rows)
    typer.echo(f"Kafka client configuration of hospital {access.org_id}:")
    for name, value in rows:
        typer.echo(f"  {name.ljust(width)}  {value}")


@hospitals_app.command("add")
def hospitals_add(
    ctx: typer.Context,
    org_id: OrgId,
    name: Annotated[str, typer.Option("--name", help="The hospital's name.")],
    regency: Annotated[str, typer.Option("--regency", help="Its kabupaten/kota: 4-digit Kemendagri code, e.g. 3273.")],
    public_key: PublicKey = None,
    reason: Reason = "new hospital",
) -> None:
    """Onboard a hospital: register it and its signing key, give it Kafka access, print its client configuration.

    Makes its two topics, its Kafka user (SCRAM-SHA-512, generated password, printed once) and its ACLs.
    """
    config = settings(ctx)
    jwk = _public_key(public_key)

    async def go():
        async with hospital_desk(config) as desk:
            return await desk.add(org_id, name, regency, jwk, operator_identity(), reason)

    done = run(go)
    err.print(f"hospital {org_id} added ({done.hospital.name}, regency {done.hospital.regency})")
    _show_access(done.access, done.kid, done.private_key_file)


@hospitals_app.command("list")
def hospitals_list(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The hospitals, whether they are active, their signing keys and whether their Kafka user exists."""
    config = settings(ctx)

    async def go() -> list[HospitalStatus]:
        async with hospital_desk(config) as desk:
            return await desk.listed()

    found = run(go)
    rows = [_listed(status) for status in found]
    if as_json:
        render.print_json(rows)
        return
    render.table(
        "hospitals",
        ["org id", "name", "regency", "active", "kafka user", "keys (kid: valid from - until, revoked)"],
        [
            [r["org_id"], r["name"], r["regency"], r["active"], _yes_no(r["kafka_user"]), _keys_text(r["keys"])]
            for r in rows
        ],
    )


def _listed(status: HospitalStatus) -> dict:
    h = status.hospital
    keys = [
        {"kid": k.kid, "valid_from": k.valid_from, "valid_until": k.valid_until, "revoked_at": k.revoked_at}
        for k in status.keys
    ]
    return {
        "org_id": h.org_id,
        "name": h.name,
        "regency": h.regency,
        "active": h.active,
        "kafka_user": status.kafka_user,
        "keys": keys,
    }


def _yes_no(value: bool | None) -> str:
    return "unknown (Kafka could not be asked)" if value is None else ("yes" if value else "no")


def _keys_text(keys: list[dict]) -> str:
    def one(k: dict) -> str:
        until = f" - {render.plain(k['valid_until'])}" if k["valid_until"] else ""
        revoked = f", revoked {render.plain(k['revoked_at'])}" if k["revoked_at"] else ""
        return f"{k['kid']}: {render.plain(k['valid_from'])}{until}{revoked}"

    return "\n".join(one(k) for k in keys)


@hospitals_app.command("disable")
def hospitals_disable(ctx: typer.Context, org_id: OrgId, reason: Reason = "") -> None:
    """Disable a hospital: its notifications are refused, its Kafka user and ACLs removed at once.

    It can neither publish nor read from then on. Its topics and their records stay.
    """
    config = settings(ctx)

    async def go() -> int:
        async with hospital_desk(config) as desk:
            return await desk.disable(org_id, operator_identity(), reason)

    removed = run(go)
    err.print(f"hospital {org_id} disabled; its Kafka user and {removed} ACL(s) removed")


@hospitals_app.command("enable")
def hospitals_enable(ctx: typer.Context, org_id: OrgId, reason: Reason = "") -> None:
    """Accept a disabled hospital again, with a new Kafka password (printed once)."""
    config = settings(ctx)

    async def go() -> HospitalAccess:
        async with hospital_desk(config) as desk:
            return await desk.enable(org_id, operator_identity(), reason)

    access = run(go)
    err.print(f"hospital {org_id} enabled")
    _show_access(access)


@hospitals_app.command("rotate-key")
def hospitals_rotate_key(
    ctx: typer.Context,
    org_id: OrgId,
    public_key: PublicKey = None,
    overlap_hours: Annotated[
        float | None,
        typer.Option(
            "--overlap-hours",
            min=0,
            help="How long the hospital's older keys stay valid beside the new one (default "
            "HUB_HOSPITAL_KEY_OVERLAP_HOURS, 24).",
        ),
    ] = None,
    reason: Reason = "key rotation",
) -> None:
    """Register a new signing key, valid from now; the older keys stay valid for the overlap, then expire."""
    config = settings(ctx)
    jwk = _public_key(public_key)
    overlap = timedelta(hours=config.hospital_key_overlap_hours if overlap_hours is None else overlap_hours)

    async def go():
        async with hospital_desk(config) as desk:
            return await desk.rotate_key(org_id, jwk, overlap, operator_identity(), reason)

    rotated = run(go)
    err.print(
        f"hospital {org_id}: new key {rotated.kid}; {rotated.retired} older key(s) valid until "
        f"{render.plain(rotated.old_keys_valid_until)}"
    )
    if rotated.private_key_file:
        typer.echo(f"private signing key: {rotated.private_key_file}  (generated: hand it over, then delete it)")


@hospitals_app.command("revoke-key")
def hospitals_revoke_key(
    ctx: typer.Context,
    kid: Annotated[str, typer.Argument(metavar="KID", help="The key id, as `hub hospitals list` shows it.")],
    reason: Reason = "",
    since: Annotated[
        str | None,
        typer.Option(
            help="Refuse it from this moment (ISO 8601 with an offset), e.g. when it may have leaked: records "
            "signed after it, still unread or kept as dead letters, are refused too. Default: now."
        ),
    ] = None,
) -> None:
    """Revoke a signing key (e.g. a leaked private key): refused from now on, or from --since.

    Notifications the broker received before that moment stay valid when replayed.
    """
    config = settings(ctx)
    try:
        moment = datetime.fromisoformat(since) if since else None
    except ValueError:
        err.print("[red]--since is not an ISO 8601 time[/red] (e.g. 2026-11-30T08:00:00+07:00)")
        raise typer.Exit(2) from None
    if moment is not None and moment.tzinfo is None:
        err.print("[red]--since needs an offset[/red] (e.g. +07:00): a time without one is ambiguous")
        raise typer.Exit(2)

    async def go():
        async with hospital_desk(config) as desk:
            return await desk.revoke_key(kid, operator_identity(), reason, moment)

    key, still_valid = run(go)
    err.print(f"key {kid} of hospital {key.org_id} revoked")
    if not still_valid:
        err.print(
            f"[yellow]hospital {key.org_id} has no valid key left:[/yellow] its notifications are refused until "
            f"`hub hospitals rotate-key {key.org_id}` registers a new one"
        )


@hospitals_app.command("sync")
def hospitals_sync(
    ctx: typer.Context,
    org_id: Annotated[str | None, typer.Argument(metavar="[ORG]", help="Only this hospital (default: all).")] = None,
) -> None:
    """Make Kafka follow the directory (repairs what Kafka missed, or a rebuilt broker).

    Every active hospital gets its topics, its Kafka user (a new password, printed once, when it has
    none) and its ACLs; a disabled one has no user and no ACL. Without ORG, also the hub's own ACLs.
    """
    config = settings(ctx)

    async def go():
        async with hospital_desk(config) as desk:
            return await desk.sync(operator_identity(), org_id)

    report = run(go)
    err.print(
        f"{len(report.active)} active hospital(s) in order, {len(report.cut_off)} disabled one(s) without access; "
        f"{len(report.topics_created)} topic(s) created, {len(report.new_access)} new Kafka user(s)"
    )
    for access in report.new_access:
        _show_access(access)
