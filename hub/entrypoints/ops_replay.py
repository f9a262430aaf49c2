"""`hub replay` and `hub dlq replay`: re-drive messages through the normal path, safely.

Each message is its own transaction, so a replay can be interrupted at any point and run again:
what was done is found already processed. `--resume RUN` continues a run from its saved positions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from hub.adapters.kafka.reader import Record, TopicReader
from hub.adapters.postgres import operations as ops
from hub.adapters.postgres.audit import PostgresAuditLog
from hub.bootstrap import pipeline, units_of_work
from hub.config import Settings
from hub.entrypoints import render
from hub.entrypoints.ops_common import JSON, OPERATOR, database, err, operator_name, parse_time, run
from hub.errors import OperatorError
from hub.service.ports import AuditEntry, Delivery
from hub.service.replay import ALREADY, NEW, REJECTED, SKIPPED, UNREADABLE, ReplayFilter, ReplayMessages
from hub.service.retry import retry_transient

SAVE_EVERY = 200


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


def replay(partition: list[int] = typer.Option(None, help="Only these partitions (repeatable)."),
           from_offset: int | None = typer.Option(None, help="First offset to replay (per partition)."),
           to_offset: int | None = typer.Option(None, help="Last offset to replay, inclusive."),
           since: str | None = typer.Option(None, help="Messages published from this time (ISO 8601)."),
           until: str | None = typer.Option(None, help="Messages published before this time (ISO 8601)."),
           message_id: list[str] = typer.Option(None, help="Only these message ids (repeatable)."),
           dlq: bool = typer.Option(False, help="Replay the dead-letter topic instead of the notification topic."),
           hospital: str | None = typer.Option(None, help="Only notifications from this hospital."),
           error_code: str | None = typer.Option(None, help="Only messages whose last answer had this code (or DLQ reason)."),
           dry_run: bool = typer.Option(False, help="Report what would happen; write and send nothing."),
           resume: int | None = typer.Option(None, help="Continue replay run RUN from where it stopped."),
           reason: str = typer.Option("", help="Why you replay (recorded in the audit log)."),
           operator: str | None = OPERATOR, as_json: bool = JSON) -> None:
    """Re-drive notifications through the normal path. Never registers twice: the report counts
    already processed, newly processed, rejected, unreadable and skipped messages."""
    selection = Selection("dlq" if dlq else "ids" if message_id else "topic", partition or None, from_offset, to_offset,
                          since, until, list(message_id or []), hospital, error_code)
    report = run(lambda: _replay(Settings(), selection, dry_run, resume, operator_name(operator), reason, not as_json))
    _print_report(report, as_json)


def replay_dead_letters(reason_code: str | None = typer.Option(None, "--reason", help="Only dead letters with this reason."),
                        dry_run: bool = typer.Option(False, help="Report what would happen; write and send nothing."),
                        why: str = typer.Option("", help="Why you replay (recorded in the audit log)."),
                        operator: str | None = OPERATOR, as_json: bool = JSON) -> None:
    """Re-drive the dead-letter topic's messages (e.g. after a fix that makes them readable)."""
    selection = Selection("dlq", code=reason_code)
    report = run(lambda: _replay(Settings(), selection, dry_run, None, operator_name(operator), why, not as_json))
    _print_report(report, as_json)


async def _replay(settings: Settings, selection: Selection, dry_run: bool, resume: int | None, operator: str,
                  reason: str, show_progress: bool) -> dict:
    clock = lambda: datetime.now(timezone.utc)  # noqa: E731
    async with database(settings) as pool, units_of_work(settings, pool) as uow:
        replayer = ReplayMessages(uow, pipeline(settings), clock)
        positions: dict[str, int] = {}
        if resume is not None:
            async with pool.acquire() as conn:
                previous = await ops.get_run(conn, resume)
            if previous is None:
                raise OperatorError(f"no replay run {resume}")
            selection, positions = Selection(**previous["selector"]), previous["positions"]
        run_id = None if dry_run else await _begin(pool, operator, selection, reason, clock())
        counts: Counter = Counter()
        only = ReplayFilter(selection.hospital, selection.code)
        with ReplayProgress(show_progress) as progress:
            async for total, record in _records(settings, selection, positions, pool):
                delivery = _delivery(record, selection.source)
                outcome = await retry_transient(
                    lambda: replayer.replay(record.value, delivery, dry_run=dry_run, only=only),
                    initial=settings.retry_initial_seconds, maximum=settings.retry_max_seconds, what="replay")
                counts[outcome.kind] += 1
                positions[str(record.partition)] = record.offset + 1
                if run_id and sum(counts.values()) % SAVE_EVERY == 0:
                    async with pool.acquire() as conn:
                        await ops.save_run(conn, run_id, positions, dict(counts), False)
                progress.update(sum(counts.values()), total)
        if run_id:
            await _finish(pool, run_id, operator, positions, counts, reason, clock())
    return {"run": run_id, "dry_run": dry_run, "source": selection.source,
            "counts": {k: counts.get(k, 0) for k in (ALREADY, NEW, REJECTED, UNREADABLE, SKIPPED)}}


async def _records(settings: Settings, selection: Selection, positions: dict[str, int], pool):
    topics = settings.topics
    topic = topics.dead_letters if selection.source == "dlq" else topics.notifications
    async with TopicReader(settings.kafka_bootstrap, topic) as reader:
        if selection.source == "ids":
            async with pool.acquire() as conn:
                found = [await conn.fetchrow('SELECT partition, "offset" FROM inbox WHERE message_id = $1', mid)
                         for mid in selection.message_ids]
            missing = [mid for mid, row in zip(selection.message_ids, found) if row is None]
            if missing:
                raise OperatorError(f"unknown message ids: {', '.join(missing)}")
            for row in found:
                record = await reader.fetch(row["partition"], row["offset"])
                if record is not None:
                    yield len(found), record
            return
        span = await reader.span(partitions=selection.partitions, from_offset=selection.from_offset,
                                 to_offset=selection.to_offset, since=parse_time(selection.since),
                                 until=parse_time(selection.until),
                                 resume={int(p): o for p, o in positions.items()})
        async for record in reader.read(span):
            yield span.total, record


def _delivery(record: Record, source: str) -> Delivery:
    if source != "dlq":
        return Delivery(record.topic, record.partition, record.offset, record.key)
    h = record.headers
    return Delivery(h["dlq-original-topic"], int(h["dlq-original-partition"]), int(h["dlq-original-offset"]), record.key)


async def _begin(pool, operator: str, selection: Selection, reason: str, now: datetime) -> int:
    async with pool.acquire() as conn, conn.transaction():
        run_id = await ops.start_run(conn, operator, selection.__dict__, False)
        await PostgresAuditLog(conn).append(AuditEntry(operator, "replay.start", f"replay-run:{run_id}", reason,
                                                       {"selection": selection.__dict__}), now)
    return run_id


async def _finish(pool, run_id: int, operator: str, positions: dict, counts: Counter, reason: str, now: datetime) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await ops.save_run(conn, run_id, positions, dict(counts), True)
        await PostgresAuditLog(conn).append(AuditEntry(operator, "replay.finish", f"replay-run:{run_id}", reason,
                                                       {"counts": dict(counts)}), now)


class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed or 0:.0f} msg/s")


class ReplayProgress:
    """A progress bar with rate and ETA on stderr, for people; silent for --json."""

    def __init__(self, show: bool) -> None:
        self._bar = Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), _Rate(), TimeRemainingColumn(),
                             console=err, disable=not show)
        self._task = None

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
    render.table(title, ["already processed", "newly processed", "rejected", "unreadable", "skipped"],
                 [[report["counts"][k] for k in (ALREADY, NEW, REJECTED, UNREADABLE, SKIPPED)]])
