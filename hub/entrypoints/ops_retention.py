"""`hub retention`: remove personal data the hub kept only to deliver messages, once its time is up."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.adapters.postgres.retention import PURGES
from hub.bootstrap import current_database, purge_personal_data
from hub.entrypoints import render
from hub.entrypoints.ops_common import AsJson, operator_identity, run, settings

retention_app = typer.Typer(
    help="Retention of personal data: message bodies and finished work are removed after HUB_RETENTION_DAYS.",
    no_args_is_help=True,
)


@retention_app.command("purge")
def retention_purge(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be removed; change nothing.")] = False,
    as_json: AsJson = False,
) -> None:
    """Remove the bodies of messages published, sagas written, document jobs done and review cases
    decided more than HUB_RETENTION_DAYS ago (`hub run` does this every HUB_RETENTION_PURGE_SECONDS).
    Rows, ids and times stay, so `hub status` still tells the trail. Audited."""
    config = settings(ctx)

    async def go() -> dict[str, int]:
        async with current_database(config) as pool:
            return await purge_personal_data(config, pool, operator_identity(), dry_run=dry_run)

    counts = run(go)
    if as_json:
        render.print_json({"dry_run": dry_run, "retention_days": config.retention_days, "removed": counts})
        return
    verb = "would remove" if dry_run else "removed"
    render.out.print(f"retention {config.retention_days} days: {verb}")
    for purge in PURGES:
        render.out.print(f"  {counts[purge.table]:>8}  {purge.what} ({purge.table})")
