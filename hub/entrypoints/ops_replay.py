"""`hub replay` and `hub dlq replay`: re-drive messages through the normal path, safely.

Each message is its own transaction, so a replay can be interrupted at any point and run again:
what was done is found already processed. `--resume RUN` continues a run from its saved positions.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

from hub.adapters.kafka.reader import Record
from hub.bootstrap import OperatorActions, operator_actions
from hub.config import Settings
from hub.entrypoints import render
from hub.entrypoints.ops_common import (
    AsJson,
    err,
    one_hospital,
    operator_identity,
    parse_time,
    run,
    settings,
)
from hub.errors import OperatorError
from hub.service.ports import Delivery
from hub.service.replay import ALREADY, NEW, REJECTED, SKIPPED, UNREADABLE, ReplayFilter
from hub.service.retry import retry_transient

SAVE_EVERY = 200
DryRun = Annotated[bool, typer.Option(help="Report what would happen; write and send nothing.")]


@dataclass
class Selection:
    source: str = "topic"  # topic | dlq | ids
    partitions: list[int] | None = None
    from_offset: int | None = None
    to_offset: int | None = None
    since: str | None = None
    until: str | None = None
    message_ids: list[str] = field(default_factory=list)
    hospital: str | None = None
    code: str | None = None


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
    clock = lambda: datetime.now(UTC)  # noqa: E731
    async with operator_actions(settings) as actions:
        positions: dict[str, int] = {}
        if resume is not None:
            previous = await actions.runs.get(resume)
            if previous is None:
                raise OperatorError(f"no replay run {resume}")
            selection, positions = Selection(**previous["selector"]), previous["positions"]
        run_id = None if dry_run else await actions.runs.begin(operator, selection.__dict__, reason, clock())
        counts: Counter = Counter()
        only = ReplayFilter(selection.hospital, selection.code)
        with ReplayProgress(show_progress) as progress:
            async for total, record in _records(settings, actions, selection, positions):
                delivery = _delivery(record, selection.source)
                outcome = await retry_transient(
                    functools.partial(actions.replay.replay, record.value, delivery, dry_run=dry_run, only=only),
                    initial=settings.retry_initial_seconds,
                    maximum=settings.retry_max_seconds,
                    what="replay",
                )
                counts[outcome.kind] += 1
                positions[str(record.partition)] = record.offset + 1
                if run_id and sum(counts.values()) % SAVE_EVERY == 0:
                    await actions.runs.save(run_id, positions, dict(counts))
                progress.update(sum(counts.values()), total)
        if run_id:
            await actions.runs.finish(run_id, operator, positions, dict(counts), reason, clock())
    return {
        "run": run_id,
        "dry_run": dry_run,
        "source": selection.source,
        "counts": {k: counts.get(k, 0) for k in (ALREADY, NEW, REJECTED, UNREADABLE, SKIPPED)},
    }


def _position(by_hospital: dict[str, tuple[int, int]], message_id: str, hospital: str | None) -> tuple[int, int] | None:
    """Where the message id was read from; several hospitals sent it: --hospital says whose."""
    chosen = one_hospital(message_id, by_hospital, hospital)
    return None if chosen is None else by_hospital[chosen]


async def _records(settings: Settings, actions: OperatorActions, selection: Selection, positions: dict[str, int]):
    topics = settings.topics
    topic = topics.dead_letters if selection.source == "dlq" else topics.notifications
    async with actions.read_topic(topic) as reader:
        if selection.source == "ids":
            found = await actions.view.inbox_positions(selection.message_ids)
            places = [_position(found.get(mid, {}), mid, selection.hospital) for mid in selection.message_ids]
            missing = [mid for mid, at in zip(selection.message_ids, places, strict=True) if at is None]
            if missing:
                raise OperatorError(f"unknown message ids: {', '.join(missing)}")
            for at in places:
                record = await reader.fetch(*at) if at else None
                if record is not None:
                    yield len(selection.message_ids), record
            return
        span = await reader.span(
            partitions=selection.partitions,
            from_offset=selection.from_offset,
            to_offset=selection.to_offset,
            since=parse_time(selection.since),
            until=parse_time(selection.until),
            resume={int(p): o for p, o in positions.items()},
        )
        async for record in reader.read(span):
            yield span.total, record


def _delivery(record: Record, source: str) -> Delivery:
    if source != "dlq":
        return Delivery(record.topic, record.partition, record.offset, record.key)
    h = record.headers
    return Delivery(
        h["dlq-original-topic"], int(h["dlq-original-partition"]), int(h["dlq-original-offset"]), record.key
    )


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
