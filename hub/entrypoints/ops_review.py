"""`hub review` (the cases the hub could not decide alone) and `hub dlq` (what could not be processed)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated

import typer

from hub.bootstrap import operations, operator_actions
from hub.config import Settings
from hub.entrypoints import render
from hub.entrypoints.ops_common import (
    AsJson,
    HospitalOption,
    operator_identity,
    parse_time,
    run,
    settings,
)
from hub.errors import OperatorError
from hub.service.replay_runs import one_hospital

review_app = typer.Typer(help="Notifications waiting for a Dukcapil officer's decision.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters (unreadable messages) and rejected notifications.", no_args_is_help=True)
Note = Annotated[str, typer.Option(help="Why (recorded in the audit log).")]


@review_app.command("list")
def review_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, approved, rejected or all.")] = "open",
    as_json: AsJson = False,
) -> None:
    """Review cases with their reasons, oldest first."""
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            return await ops.view.review_cases(None if status == "all" else status)

    cases = run(go)
    if as_json:
        render.print_json(cases)
        return
    render.table(
        f"review cases ({status})",
        ["message id", "hospital", "reasons", "status", "opened", "decided by"],
        [
            [c["message_id"], c["hospital_id"], c["reasons"], c["status"], c["opened_at"], c["decided_by"]]
            for c in cases
        ],
    )


@review_app.command("show")
def review_show(ctx: typer.Context, message_id: str, hospital: HospitalOption = None, as_json: AsJson = False) -> None:
    """One case: its reasons and the notification's essentials (personal data masked)."""
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            chosen = one_hospital(message_id, await ops.view.review_hospitals(message_id), hospital)
            case = None if chosen is None else await ops.view.review_case(chosen, message_id)
            if case is None:
                raise OperatorError(f"no review case for message {message_id}")
            return case

    case = run(go)
    summary = {
        "message_id": case.message_id,
        "hospital_id": case.hospital_id,
        "reasons": list(case.reasons),
        "status": case.status,
        "opened_at": case.opened_at,
        "decided_at": case.decided_at,
        "decided_by": case.decided_by,
        "note": case.note,
        "notification": _essentials(case.document),
    }
    shown = render.masked(summary)
    if as_json:
        render.print_json(shown)
    else:
        render.table(
            f"review {message_id}",
            ["field", "value"],
            [
                [k, json.dumps(render.plain(v), ensure_ascii=False) if isinstance(v, dict) else v]
                for k, v in shown.items()
            ],
        )


def _essentials(document: bytes | None) -> dict:
    if document is None:
        return {"removed": "the retention period after the decision has passed"}
    bundle = json.loads(document)
    kinds = Counter(e.get("resource", {}).get("resourceType") for e in bundle.get("entry", []))
    return {"entries": dict(kinds), "bytes": len(document)}


def _decide(config: Settings, message_id: str, hospital: str | None, note: str, approve: bool, as_json: bool) -> None:
    async def go():
        async with operator_actions(config) as actions:
            chosen = one_hospital(message_id, await actions.view.review_hospitals(message_id), hospital)
            if chosen is None:
                raise OperatorError(f"no review case for message {message_id}")
            action = actions.reviews.approve if approve else actions.reviews.reject
            return await action(chosen, message_id, operator_identity(), note)

    handled = run(go)
    if as_json:
        render.print_json({"message_id": message_id, "outcome": handled.outcome, "codes": list(handled.codes)})
    else:
        render.out.print(
            f"{message_id}: {handled.outcome} ({', '.join(handled.codes) or 'no codes'}); "
            "the hospital's second result is queued"
        )


@review_app.command("approve")
def review_approve(
    ctx: typer.Context, message_id: str, note: Note, hospital: HospitalOption = None, as_json: AsJson = False
) -> None:
    """Approve: register the birth through the normal path and send the hospital its second result.
    The officer recorded is the operating system account running the command."""
    _decide(settings(ctx), message_id, hospital, note, True, as_json)


@review_app.command("reject")
def review_reject(
    ctx: typer.Context, message_id: str, note: Note, hospital: HospitalOption = None, as_json: AsJson = False
) -> None:
    """Reject: the hospital's second result is fatal-error REVIEW-REJECTED. The officer recorded is
    the operating system account running the command."""
    _decide(settings(ctx), message_id, hospital, note, False, as_json)


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    reason: Annotated[str | None, typer.Option(help="Only this dead-letter reason or rejection code.")] = None,
    hospital: Annotated[str | None, typer.Option(help="Only rejections of this hospital.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Until this time (ISO 8601).")] = None,
    as_json: AsJson = False,
) -> None:
    """Dead letters and rejected notifications, grouped by reason."""
    start, end = parse_time(since), parse_time(until)
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            letters = [] if hospital else await ops.view.dead_letters(reason=reason, since=start, until=end)
            rejected = await ops.view.rejections(code=reason, hospital=hospital, since=start, until=end)
            return letters, rejected

    letters, rejected = run(go)
    groups = Counter(letter["reason"] for letter in letters)
    groups.update(code for row in rejected for code in row["codes"])
    if as_json:
        render.print_json({"by_reason": dict(groups.most_common()), "dead_letters": letters, "rejected": rejected})
        return
    render.table("by reason", ["reason", "count"], [[code, n] for code, n in groups.most_common()])
    render.table(
        f"dead letters ({len(letters)})",
        ["where", "reason", "detail", "recorded"],
        [[f"{d['topic']}:{d['partition']}:{d['offset']}", d["reason"], d["detail"], d["recorded_at"]] for d in letters],
    )
    render.table(
        f"rejected notifications ({len(rejected)})",
        ["message id", "hospital", "codes", "when"],
        [[r["message_id"], r["hospital_id"], r["codes"], r["updated_at"]] for r in rejected],
    )


@dlq_app.command("show")
def dlq_show(
    ctx: typer.Context,
    where: Annotated[str, typer.Argument(help="topic:partition:offset of the dead letter (see `hub dlq list`).")],
    as_json: AsJson = False,
) -> None:
    """One dead letter: reason, detail and where it came from (its bytes stay on the DLQ topic)."""
    topic, partition, offset = _coordinates(where)
    config = settings(ctx)

    async def go():
        async with operations(config) as ops:
            letter = await ops.view.dead_letter(topic, partition, offset)
            if letter is None:
                raise OperatorError(f"no dead letter at {where}")
            return letter

    letter = run(go)
    if as_json:
        render.print_json(letter)
    else:
        render.table(f"dead letter {where}", ["field", "value"], [[k, v] for k, v in letter.items()])


def _coordinates(where: str) -> tuple[str, int, int]:
    try:
        topic, partition, offset = where.rsplit(":", 2)
        return topic, int(partition), int(offset)
    except ValueError:
        raise typer.BadParameter("expected topic:partition:offset") from None
