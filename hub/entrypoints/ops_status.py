"""`hub status` and `hub registry`: what happened to a notification, and the state of the deferred work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from hub.bootstrap import operations
from hub.entrypoints import render
from hub.entrypoints.ops_common import AsJson, HospitalOption, operator_identity, run, settings
from hub.errors import OperatorError
from hub.service.replay_runs import one_hospital
from hub.service.trail_view import timeline


def status(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A message id, an akta number or a mother's NIK.")],
    show_personal_data: Annotated[
        bool, typer.Option(help="Show NIKs and KK numbers unmasked (needs --reason; audited).")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why personal data is needed (recorded in the audit log).")] = "",
    hospital: HospitalOption = None,
    as_json: AsJson = False,
) -> None:
    """The full trail of a notification: arrival, decisions and codes, registry writes, results and events, operator actions.
    A message id that several hospitals sent needs --hospital."""
    if show_personal_data and not reason.strip():
        raise typer.BadParameter("--show-personal-data needs --reason")
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            ids = _chosen(query, await ops.view.messages_for(query), hospital)
            if not ids:
                raise OperatorError(f"nothing known about {render.masked(query)}")
            trails = await ops.view.trails(ids)
            if show_personal_data:
                await ops.view.note_personal_data_view(operator_identity(), ids, reason, datetime.now(UTC))
                await ops.audit.anchor_or_warn()
            return trails

    trails = run(go)
    shown = trails if show_personal_data else render.masked(trails)
    if as_json:
        render.print_json(shown)
        return
    for trail in shown:
        _print_trail(trail)


def _chosen(query: str, found: list[tuple[str, str]], hospital: str | None) -> list[tuple[str, str]]:
    """The messages to show: a message id sent by several hospitals is refused without --hospital."""
    if any(message_id == query for _, message_id in found):
        chosen = one_hospital(query, [h for h, m in found if m == query], hospital)
        return [] if chosen is None else [(chosen, query)]
    return [(h, m) for h, m in found if hospital is None or h == hospital]


def _print_trail(trail: dict) -> None:
    inbox = trail["inbox"] or {}
    render.out.print(
        f"[bold]message {trail['message_id']}[/bold]  status: [bold]{inbox.get('status', 'not processed')}[/bold]"
        f"  hospital: {trail['hospital_id'] or '-'}  codes: {', '.join(inbox.get('codes') or []) or '-'}"
    )
    rows = [[step.at, step.what, step.where, step.detail] for step in timeline(trail)]
    render.table("trail", ["when", "what", "where", "detail"], rows)


def registry(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Registry sagas by state, each hub process's circuit breaker (external registry only), and the
    document jobs: pending ones (and those failing, with the last error) and done ones."""
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            return await ops.view.registry_overview()

    overview = run(go)
    if as_json:
        render.print_json(overview)
        return
    render.table(
        "registry sagas",
        ["state", "count", "oldest"],
        [[state, v["count"], v["oldest"]] for state, v in sorted(overview["sagas"].items())],
    )
    render.table(
        "circuit breakers",
        ["hub process", "state", "failures", "since"],
        [[b["process"], b["state"], b["failures"], b["changed_at"]] for b in overview["breakers"]],
    )
    render.table(
        "document jobs",
        ["state", "count", "oldest", "retried", "last error"],
        [
            [state, v["count"], v["oldest"], v["failing"], v["last_error"] or "-"]
            for state, v in sorted(overview["document_jobs"].items())
        ],
    )
