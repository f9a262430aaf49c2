"""`hub audit`: the operators' audit log, is it intact, and anchoring it outside the database."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.adapters.audit_anchoring import MOST_FINDINGS, AuditReport, Finding
from hub.adapters.audit_anchors import AnchorKeyError
from hub.bootstrap import operations
from hub.entrypoints import render
from hub.entrypoints.ops_common import AsJson, run, settings
from hub.errors import OperatorError

SHOWN = 20  # findings printed as text
audit_app = typer.Typer(
    help="The operators' audit log: every action, hash-chained and anchored outside the database.",
    no_args_is_help=True,
)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Check the hash chain and every anchor of this database; exit 1 if the log was tampered with.

    Each anchor in HUB_AUDIT_ANCHOR_FILE must carry a valid seal, and its row must still be there
    with the anchored hash. The report names the rows and anchor lines concerned (never a row's
    contents) if anything was changed, removed, truncated or re-hashed."""
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            try:
                return await ops.audit.verify()
            except AnchorKeyError as exc:
                raise OperatorError(f"cannot check the anchors: {exc}") from None

    report = run(go)
    if as_json:
        render.print_json(_report_json(report))
    else:
        _print_report(report)
    if not report.intact:
        raise typer.Exit(1)


def _report_json(report: AuditReport) -> dict:
    newest = report.newest_anchor
    return {
        "intact": report.intact,
        "rows": report.rows,
        "head": None if report.head is None else {"row": report.head[0], "hash": report.head[1]},
        "anchors": {
            "file": report.anchor_file,
            "checked": report.anchors_checked,
            "newest": None if newest is None else {"row": newest.row, "hash": newest.hash, "at": newest.at},
        },
        "findings": [{"row": f.row, "anchor_line": f.line, "problem": f.problem} for f in report.findings],
        "unlisted_findings": report.unlisted,
        "notes": report.notes,
        "broken_at": report.findings[0].row if report.findings else None,  # kept for earlier scripts
        "problem": report.findings[0].problem if report.findings else None,
    }


def _print_report(report: AuditReport) -> None:
    newest = report.newest_anchor
    anchored = "no anchor" if newest is None else f"newest anchor row {newest.row} at {newest.at}"
    summary = f"{report.rows} rows, {report.anchors_checked} anchors checked ({anchored}; {report.anchor_file})"
    if report.intact:
        render.out.print(f"audit log intact: {summary}")
    else:
        render.out.print(f"[red]audit log TAMPERED[/red]: {summary}")
        for finding in report.findings[:SHOWN]:
            render.out.print(f"  {_where(finding)}: {finding.problem}", markup=False)
        if (more := len(report.findings) - SHOWN + report.unlisted) > 0:
            render.out.print(f"  ... and {more} more (--json lists up to {MOST_FINDINGS})")
    for note in report.notes:
        render.out.print(f"note: {note}", markup=False)


def _where(finding: Finding) -> str:
    parts = [] if finding.row is None else [f"row {finding.row}"]
    parts += [] if finding.line is None else [f"(anchor line {finding.line})"]
    return " ".join(parts) or "anchors"


@audit_app.command("anchor")
def audit_anchor(ctx: typer.Context) -> None:
    """Anchor the chain's newest row now, outside the database.

    Operator commands do it as they end and `hub run` every HUB_AUDIT_ANCHOR_SECONDS. The anchor is
    sealed with the key in HUB_AUDIT_KEY_FILE (created if missing; the database never sees it) and
    appended to HUB_AUDIT_ANCHOR_FILE."""
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            try:
                return await ops.audit.anchor()
            except (AnchorKeyError, OSError) as exc:
                raise OperatorError(f"cannot anchor: {exc}") from None

    anchor = run(go)
    if anchor is None:
        render.out.print("nothing to anchor: the log is empty or its newest row is anchored already")
    else:
        render.out.print(f"anchored row {anchor.row} in {config.audit_anchor_file}")


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="Most recent entries to show.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The most recent operator actions."""
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            return await ops.view.audit_entries(limit)

    rows = run(go)
    if as_json:
        render.print_json(rows)
    else:
        render.table(
            "audit log",
            ["id", "at", "actor", "action", "subject", "reason"],
            [[r["id"], r["at"], r["actor"], r["action"], r["subject"], r["reason"]] for r in rows],
        )
