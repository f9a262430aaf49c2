"""`hub replay` and `hub dlq replay`: re-drive messages through the normal path, safely.

Each message is its own transaction, so a replay can be interrupted at any point and run again:
what was done is found already processed. `--resume RUN` continues a run from its saved positions
(also a run the console started). The run itself is hub.service.replay_runs, which the console's
dead-letter page calls too; this module adds the options, the progress bar and the report table.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from hub.bootstrap import operator_actions, replay_runs
from hub.config import Settings
from hub.entrypoints import render
from hub.entrypoints.ops_common import AsJson, err, operator_identity, parse_time, run, settings
from hub.service.replay import ALREADY, NEW, REJECTED, SKIPPED, UNREADABLE
from hub.service.replay_runs import Selection

DryRun = Annotated[bool, typer.Option(help="Report what would happen; write and send nothing.")]


def replay(
    ctx: typer.Context,
    partition: Annotated[list[int] | None, typer.Option(help="Only these partitions (repeatable).")] = None,
    from_offset: Annotated[int | None, typer.Option(help="First offset to replay (per partition).")] = None,
    to_offset: Annotated[int | None, typer.Option(help="Last offset to replay, inclusive.")] = None,
    since: Annotated[str | None, typer.Option(help="Messages published from this time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Messages published before this time (ISO 8601).")] = None,
    message_id: Annotated[list[str] | None, typer.Option(help="Only these message ids (repeatable).")] = None,
    dlq: Annotated[bool, typer.Option(help="Replay the dead-letter topic instead of the notification topic.")] = False,
    hospital: Annotated[
        str | None,
        typer.Option(help="Only notifications from this hospital (with --message-id: the hospital that sent them)."),
    ] = None,
    error_code: Annotated[
        str | None, typer.Option(help="Only messages whose last answer had this code (or DLQ reason).")
    ] = None,
    dry_run: DryRun = False,
    resume: Annotated[int | None, typer.Option(help="Continue replay run RUN from where it stopped.")] = None,
    reason: Annotated[str, typer.Option(help="Why you replay (recorded in the audit log).")] = "",
    as_json: AsJson = False,
) -> None:
    """Re-drive notifications through the normal path. Never registers twice: the report counts
    already processed, newly processed, rejected, unreadable and skipped messages."""
    selection = Selection(
        "dlq" if dlq else "ids" if message_id else "topic",
        partition or None,
        from_offset,
        to_offset,
        since,
        until,
        list(message_id or []),
        hospital,
        error_code,
    )
    config = settings(ctx)
    report = run(lambda: _replay(config, selection, dry_run, resume, operator_identity(), reason, not as_json))
    _print_report(report, as_json)


def replay_dead_letters(
    ctx: typer.Context,
    reason_code: Annotated[str | None, typer.Option("--reason", help="Only dead letters with this reason.")] = None,
    dry_run: DryRun = False,
    why: Annotated[str, typer.Option(help="Why you replay (recorded in the audit log).")] = "",
    as_json: AsJson = False,
) -> None:
    """Re-drive the dead-letter topic's messages (e.g. after a fix that makes them readable)."""
    selection = Selection("dlq", code=reason_code)
    config = settings(ctx)
    report = run(lambda: _replay(config, selection, dry_run, None, operator_identity(), why, not as_json))
    _print_report(report, as_json)


async def _replay(
    settings: Settings,
    selection: Selection,
    dry_run: bool,
    resume: int | None,
    operator: str,
    reason: str,
    show_progress: bool,
) -> dict:
    async with operator_actions(settings) as actions:
        runs = replay_runs(settings, actions, parse_time=parse_time)
        run = await runs.start(selection, dry_run=dry_run, operator=operator, reason=reason, resume=resume)
        with ReplayProgress(show_progress) as progress:
            report = await runs.go(run, lambda done, total, _counts: progress.update(done, total))
    return report.as_dict()


class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed or 0:.0f} msg/s")


class ReplayProgress:
    """A progress bar with rate and ETA on stderr, for people; silent for --json."""

    def __init__(self, show: bool) -> None:
        self._bar = Progress(
            TextColumn("replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeRemainingColumn(),
            console=err,
            disable=not show,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> ReplayProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self, done: int, total: int) -> None:
        if self._task is None:
            self._task = self._bar.add_task("replay", total=total)
        self._bar.update(self._task, completed=done, total=total)


def _print_report(report: dict, as_json: bool) -> None:
    if as_json:
        render.print_json(report)
        return
    title = f"replay {'(dry run: nothing written)' if report['dry_run'] else 'run ' + str(report['run'])} of {report['source']}"
    render.table(
        title,
        ["already processed", "newly processed", "rejected", "unreadable", "skipped"],
        [[report["counts"][k] for k in (ALREADY, NEW, REJECTED, UNREADABLE, SKIPPED)]],
    )
