"""Use case: replay runs, for `hub replay`, `hub dlq replay` and the console's dead-letter page.

A run selects messages (a stretch of the notification topic, the dead-letter topic, message ids,
or the notifications whose last answer was a rejection), re-drives each one through
`ReplayMessages` in its own transaction (transient failures are retried, never given up), and
counts the outcomes: already processed, newly processed, rejected, unreadable, skipped. The
selection is checked (source, times, where the message ids were read) before anything is recorded:
a refused run leaves no row and no audit entry. A real run is a `replay_runs` row: starting and
finishing it are audited with the operator and the reason, and its positions are saved every
SAVE_EVERY messages (and when it stops early, interrupted or failed), so that
`hub replay --resume RUN` continues it, also one the console started before it was restarted. A dry
run writes nothing and has no row.

`ReplayJobs` runs the console's replays as background tasks of its process and keeps their
progress in memory; what a restart loses is still in the run's row. Its preview (a dry run inside
the HTTP request) is bounded: PREVIEW_SECONDS.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from hub.config import Topics
from hub.errors import OperatorError, TransientError
from hub.intake.signature import HEADER as SIGNATURE_HEADER
from hub.service.ports import Delivery
from hub.service.replay import ALREADY, NEW, REJECTED, SKIPPED, UNREADABLE, ReplayFilter, ReplayMessages
from hub.service.retry import retry_transient

log = logging.getLogger("hub.replay")
SAVE_EVERY = 200
KINDS: tuple[str, ...] = (ALREADY, NEW, REJECTED, UNREADABLE, SKIPPED)
SOURCES = ("topic", "dlq", "ids", "rejected")
PREVIEW_SECONDS = 60.0


@dataclass
class Selection:
    """What a run replays; stored with the run (as its `selector`) for --resume.

    source: "topic" (`hospital`'s notification topic, optionally by partitions, offsets or time),
    "dlq" (the dead-letter topic), "ids" (these message ids, read where the hub first read them) or
    "rejected" (the notifications whose last answer was a rejection, optionally with this code or
    hospital). `code` also filters the other sources (a DLQ reason is its code), and `hospital`
    those but "topic", whose records are all its hospital's."""

    source: str = "topic"
    partitions: list[int] | None = None
    from_offset: int | None = None
    to_offset: int | None = None
    since: str | None = None
    until: str | None = None
    message_ids: list[str] = field(default_factory=list)
    hospital: str | None = None
    code: str | None = None


# --- what a run needs (hub.bootstrap wires the adapters in) -------------------------------------


class TopicRecord(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def timestamp_ms(self) -> int | None:
        """The record's Kafka timestamp: the signature check judges a replayed record at it..."""
        ...

    @property
    def broker_time(self) -> bool:
        """...when the broker stamped it (LogAppendTime), not the producer."""
        ...


class TopicSpan(Protocol):
    @property
    def total(self) -> int: ...


class TopicReading(Protocol):
    """A bounded reader of one topic, outside any consumer group (hub.adapters.kafka.reader)."""

    async def __aenter__(self) -> TopicReading: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def span(
        self,
        *,
        partitions: list[int] | None = None,
        from_offset: int | None = None,
        to_offset: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        resume: dict[int, int] | None = None,
    ) -> TopicSpan: ...
    def read(self, span: Any) -> AsyncIterator[TopicRecord]: ...
    async def fetch(self, partition: int, offset: int) -> TopicRecord | None: ...


class RunStore(Protocol):
    """Replay runs' rows; begin and finish are audited with the run (hub.adapters.postgres.operations)."""

    async def get(self, run_id: int) -> dict[str, Any] | None: ...
    async def begin(self, operator: str, selection: dict, reason: str, at: datetime) -> int: ...
    async def save(self, run_id: int, positions: dict, counts: dict) -> None: ...
    async def finish(
        self, run_id: int, operator: str, positions: dict, counts: dict, reason: str, at: datetime
    ) -> None: ...


class InboxLookup(Protocol):
    """The read model's part a run uses (hub.adapters.postgres.operator_views)."""

    async def inbox_positions(self, message_ids: list[str]) -> dict[str, dict[str, tuple[str, int, int]]]: ...
    async def rejections(
        self, *, code: str | None, hospital: str | None, since: datetime | None, until: datetime | None
    ) -> list[dict[str, Any]]: ...


Progress = Callable[[int, int, Mapping[str, int]], object]
"""Called after each message: (done, total, counts so far)."""


def iso_time(text: str | None) -> datetime | None:
    """ISO 8601; a value without an offset is read as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise OperatorError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RunReport:
    run: int | None  # None: a dry run
    dry_run: bool
    source: str
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run, "dry_run": self.dry_run, "source": self.source, "counts": dict(self.counts)}


@dataclass
class Run:
    """A run ready to go: its row (None for a dry run), what it replays and where it stands;
    `places`: where the selected message ids were read (source "ids", resolved before the row)."""

    id: int | None
    selection: Selection
    positions: dict[str, int]
    dry_run: bool
    operator: str
    reason: str
    places: list[tuple[str, int, int]] | None = None


class PreviewTimedOut(TransientError):
    """A preview (dry run) did not end in time: a dependency is not answering. Nothing was written."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the preview took longer than {seconds:g} s: the database or Kafka is not answering; "
            "nothing was written, try again later"
        )
        self.seconds = seconds


def zero_counts() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


class ReplayRuns:
    def __init__(
        self,
        replay: ReplayMessages,
        runs: RunStore,
        view: InboxLookup,
        read_topic: Callable[[str], TopicReading],
        topics: Topics,
        *,
        retry_initial: float,
        retry_max: float,
        clock: Callable[[], datetime],
        parse_time: Callable[[str | None], datetime | None] | None = None,
    ) -> None:
        """`parse_time` reads a selection's since/until (default: ISO 8601, refused as an OperatorError)."""
        self._replay, self._runs, self._view, self._read_topic = replay, runs, view, read_topic
        self._topics, self._clock, self._parse_time = topics, clock, parse_time or iso_time
        self._retry_initial, self._retry_max = retry_initial, retry_max

    async def start(
        self, selection: Selection, *, dry_run: bool, operator: str, reason: str, resume: int | None = None
    ) -> Run:
        """Begin a run (a real one is recorded and audited now), or take up run `resume` where it
        stopped: its selection and saved positions. The selection is checked first (its source and
        times, where its message ids were read): a refused one (OperatorError) records nothing."""
        positions: dict[str, int] = {}
        if resume is not None:
            previous = await self._runs.get(resume)
            if previous is None:
                raise OperatorError(f"no replay run {resume}")
            selection, positions = Selection(**previous["selector"]), previous["positions"]
        if selection.source not in SOURCES:
            raise OperatorError(f"source must be one of {', '.join(SOURCES)}")
        for moment in (selection.since, selection.until):
            self._parse_time(moment)
        if selection.source == "topic":
            self._hospital_topic(selection)
        places = await self._ids_places(selection) if selection.source == "ids" else None
        run_id = None if dry_run else await self._runs.begin(operator, selection.__dict__, reason, self._clock())
        return Run(run_id, selection, positions, dry_run, operator, reason, places)

    async def go(self, run: Run, progress: Progress | None = None) -> RunReport:
        """Replay every selected message; the run is finished (and audited) when all are done. A run
        that stops early (cancelled, or failed with any error) saves the positions reached, for
        --resume, and the error goes on: its row stays unfinished."""
        counts: Counter[str] = Counter()
        # A topic run's hospital names the topic, and all it holds is that hospital's (the trust check
        # sees to it), its unreadable records too: filtering by it again would only skip those.
        chosen = None if run.selection.source == "topic" else run.selection.hospital
        only = ReplayFilter(chosen, run.selection.code)
        try:
            async for total, record in self._records(run.selection, run.positions, run.places):
                try:
                    where = delivery(record, run.selection.source)
                except OperatorError as exc:  # not a dead letter the hub wrote: nothing to re-drive
                    log.warning("replay cannot re-drive a record error=%s", exc)
                    kind = _foreign_kind(record, only)
                else:
                    outcome = await retry_transient(
                        functools.partial(self._replay.replay, record.value, where, dry_run=run.dry_run, only=only),
                        initial=self._retry_initial,
                        maximum=self._retry_max,
                        what="replay",
                    )
                    kind = outcome.kind
                counts[kind] += 1
                run.positions[str(record.partition)] = record.offset + 1
                done = sum(counts.values())
                if run.id and done % SAVE_EVERY == 0:
                    await self._runs.save(run.id, run.positions, dict(counts))
                if progress is not None:
                    progress(done, total, _full(counts))
        except BaseException:  # cancelled or failed: keep what was done, then let it go on
            if run.id:
                try:
                    await asyncio.shield(self._runs.save(run.id, run.positions, dict(counts)))
                except Exception:
                    log.exception("replay run could not save its positions run=%d", run.id)
            raise
        if run.id:
            await self._runs.finish(run.id, run.operator, run.positions, dict(counts), run.reason, self._clock())
        return RunReport(run.id, run.dry_run, run.selection.source, _full(counts))

    async def replay(
        self,
        selection: Selection,
        *,
        dry_run: bool,
        operator: str,
        reason: str,
        resume: int | None = None,
        progress: Progress | None = None,
    ) -> RunReport:
        run = await self.start(selection, dry_run=dry_run, operator=operator, reason=reason, resume=resume)
        return await self.go(run, progress)

    async def saved(self, run_id: int) -> dict[str, Any] | None:
        """A run's row: selector, positions, counts, operator, started_at, finished_at."""
        return await self._runs.get(run_id)

    async def _records(
        self, selection: Selection, positions: dict[str, int], places: list[tuple[str, int, int]] | None
    ) -> AsyncIterator[tuple[int, TopicRecord]]:
        if selection.source in ("ids", "rejected"):
            if places is None:
                places = await self._places(selection)
            for topic in dict.fromkeys(t for t, _, _ in places):  # each hospital's topic, in order of first use
                async with self._read_topic(topic) as reader:
                    for _, partition, offset in (at for at in places if at[0] == topic):
                        record = await reader.fetch(partition, offset)
                        if record is not None:
                            yield len(places), record
            return
        topic = self._topics.dead_letters if selection.source == "dlq" else self._hospital_topic(selection)
        async with self._read_topic(topic) as reader:
            span = await reader.span(
                partitions=selection.partitions,
                from_offset=selection.from_offset,
                to_offset=selection.to_offset,
                since=self._parse_time(selection.since),
                until=self._parse_time(selection.until),
                resume={int(p): o for p, o in positions.items()},
            )
            async for record in reader.read(span):
                yield span.total, record

    def _hospital_topic(self, selection: Selection) -> str:
        """Partitions, offsets and times are a topic's own: replaying by them names the hospital."""
        if not selection.hospital:
            raise OperatorError(
                "each hospital has its own notification topic: say whose to replay (--hospital ORG), "
                "or replay by message id, rejections or the dead-letter topic"
            )
        try:
            return self._topics.notifications_of(selection.hospital)
        except ValueError as exc:
            raise OperatorError(str(exc)) from None

    async def _places(self, selection: Selection) -> list[tuple[str, int, int]]:
        """Where (topic, partition, offset) the hub first read the selected messages."""
        if selection.source == "rejected":
            rows = await self._view.rejections(code=selection.code, hospital=selection.hospital, since=None, until=None)
            return [(row["topic"], row["partition"], row["offset"]) for row in rows]
        return await self._ids_places(selection)

    async def _ids_places(self, selection: Selection) -> list[tuple[str, int, int]]:
        """Where the selected message ids were read; an unknown id, or one several hospitals sent
        without `hospital` saying whose, is refused (OperatorError)."""
        if not selection.message_ids:
            raise OperatorError("no message ids to replay")
        found = await self._view.inbox_positions(selection.message_ids)
        places = [_position(found.get(mid, {}), mid, selection.hospital) for mid in selection.message_ids]
        missing = [mid for mid, at in zip(selection.message_ids, places, strict=True) if at is None]
        if missing:
            raise OperatorError(f"unknown message ids: {', '.join(missing)}")
        return [at for at in places if at is not None]


def _full(counts: Mapping[str, int]) -> dict[str, int]:
    return {kind: counts.get(kind, 0) for kind in KINDS}


def one_hospital(message_id: str, hospitals: Iterable[str], chosen: str | None) -> str | None:
    """Which hospital's message an operator means by `message_id`: message ids are scoped by the
    sending hospital, so an id several hospitals sent needs a hospital (`chosen`); the refusal
    names the hospitals and nothing of their messages. None: no hospital sent it."""
    found = sorted(set(hospitals))
    if chosen is not None:
        return chosen if chosen in found else None
    if len(found) > 1:
        named = ", ".join(repr(h) if h else "'' (no readable sender)" for h in found)
        raise OperatorError(
            f"message id {message_id} was sent by {len(found)} hospitals ({named}): name one with --hospital"
        )
    return found[0] if found else None


def _position(
    by_hospital: dict[str, tuple[str, int, int]], message_id: str, hospital: str | None
) -> tuple[str, int, int] | None:
    """Where the message id was read from; several hospitals sent it: `hospital` says whose."""
    chosen = one_hospital(message_id, by_hospital, hospital)
    return None if chosen is None else by_hospital[chosen]


def delivery(record: TopicRecord, source: str) -> Delivery:
    """The delivery a replayed record stands for: a dead letter's is where it was first read (its
    `dlq-original-*` headers). A dead letter without them (not one the hub wrote) is refused."""
    h = record.headers
    signed = h.get(SIGNATURE_HEADER)
    signature = signed.encode("ascii", errors="replace") if signed is not None else None
    if source != "dlq":
        return Delivery(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            timestamp_ms=record.timestamp_ms,
            signature=signature,
            broker_time=record.broker_time,
        )
    try:
        stamped = h.get("dlq-original-timestamp")
        return Delivery(
            h["dlq-original-topic"],
            int(h["dlq-original-partition"]),
            int(h["dlq-original-offset"]),
            record.key,
            timestamp_ms=int(stamped) if stamped is not None else None,
            signature=signature,
            broker_time=h.get("dlq-original-timestamp-type") == "LogAppendTime",
        )
    except (KeyError, ValueError):
        raise OperatorError(
            f"the dead letter at {record.topic}:{record.partition}:{record.offset} has no readable "
            "dlq-original-topic/-partition/-offset headers: where it was first read is unknown"
        ) from None


def _foreign_kind(record: TopicRecord, only: ReplayFilter) -> str:
    """How a run counts a dead letter it cannot re-drive: unreadable, or skipped by the filter as a
    dead letter would be (no sender, so never a hospital's; its reason is the `dlq-reason` header)."""
    if only.hospital_id or (only.code and only.code != record.headers.get("dlq-reason")):
        return SKIPPED
    return UNREADABLE


# --- what the console shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A number of failures with one reason (a DLQ reason or a rejection code) and hospital."""

    reason: str
    hospital_id: str | None  # None: dead letters (their sender could not be read)
    count: int
    newest: datetime | None


def newest_first(groups: list[Group]) -> list[Group]:
    """The groups with the newest failure first (ties: by reason and hospital)."""
    ordered = sorted(groups, key=lambda g: (g.reason, g.hospital_id or ""))
    return sorted(ordered, key=lambda g: g.newest.timestamp() if g.newest else float("-inf"), reverse=True)


def group_failures(dead_letters: list[dict[str, Any]], rejections: list[dict[str, Any]]) -> list[Group]:
    """Dead letters by reason and rejected notifications by code and hospital (a rejection with
    several codes counts under each), the groups with the newest failure first."""
    found: dict[tuple[str, str | None], tuple[int, datetime | None]] = {}

    def add(reason: str, hospital: str | None, at: datetime | None) -> None:
        count, newest = found.get((reason, hospital), (0, None))
        found[(reason, hospital)] = (count + 1, at if newest is None or (at is not None and at > newest) else newest)

    for letter in dead_letters:
        add(letter["reason"], None, letter.get("recorded_at"))
    for row in rejections:
        for code in row["codes"] or ():
            add(code, row["hospital_id"], row.get("updated_at"))
    return newest_first([Group(reason, hospital, n, newest) for (reason, hospital), (n, newest) in found.items()])


@dataclass
class JobState:
    """A run as the console shows it: progress while it runs, the counts when it is done."""

    run_id: int
    operator: str
    selection: Selection
    started_at: datetime | None
    done: int = 0
    total: int = 0
    counts: dict[str, int] = field(default_factory=zero_counts)
    finished: bool = False
    finished_at: datetime | None = None
    error: str | None = None
    here: bool = True  # running (or ran) in this process; False: known only from its saved row


class ReplayJobs:
    """The console's replays: started as background tasks of this process, their progress kept in
    memory (the last KEEP runs); a run started elsewhere or before a restart is read from its row."""

    KEEP = 50

    def __init__(
        self, runs: ReplayRuns, clock: Callable[[], datetime], *, preview_seconds: float = PREVIEW_SECONDS
    ) -> None:
        self._runs, self._clock, self.preview_seconds = runs, clock, preview_seconds
        self._jobs: dict[int, JobState] = {}
        self._tasks: dict[int, asyncio.Task] = {}

    async def preview(self, selection: Selection, operator: str) -> RunReport:
        """A dry run: what the replay would do; nothing is written, nothing is sent. It runs while
        the operator waits, so it is bounded: after `preview_seconds` it stops (PreviewTimedOut)
        rather than wait out an outage of the database or Kafka."""
        try:
            return await asyncio.wait_for(
                self._runs.replay(selection, dry_run=True, operator=operator, reason=""), self.preview_seconds
            )
        except TimeoutError:
            log.warning("replay preview took too long seconds=%g", self.preview_seconds)
            raise PreviewTimedOut(self.preview_seconds) from None

    async def launch(self, selection: Selection, operator: str, reason: str) -> JobState:
        """Begin the run (recorded and audited before this returns) and replay in the background. A
        refused selection (unknown message ids, ...) raises here, before anything is recorded."""
        if not reason.strip():
            raise OperatorError("a reason is required")
        run = await self._runs.start(selection, dry_run=False, operator=operator, reason=reason.strip())
        assert run.id is not None
        job = JobState(run.id, operator, run.selection, self._clock())
        self._jobs[run.id] = job
        task = asyncio.get_running_loop().create_task(self._drive(job, run), name=f"replay-run-{run.id}")
        self._tasks[run.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.run_id, None))
        self._forget_old()
        return job

    async def _drive(self, job: JobState, run: Run) -> None:
        def progress(done: int, total: int, counts: Mapping[str, int]) -> None:
            job.done, job.total, job.counts = done, total, dict(counts)

        try:
            report = await self._runs.go(run, progress)
            job.counts = report.counts
            job.total = max(job.total, job.done)
            log.info("replay run finished run=%d counts=%s", job.run_id, report.counts)
        except asyncio.CancelledError:
            job.error = "interrupted"
            raise
        except OperatorError as exc:
            job.error = str(exc)
            log.warning("replay run refused run=%d error=%s", job.run_id, exc)
        except Exception as exc:
            job.error = type(exc).__name__
            log.exception("replay run failed run=%d", job.run_id)
        finally:
            job.finished, job.finished_at = True, self._clock()

    async def state(self, run_id: int) -> JobState | None:
        """The run's progress here, or what its row says; None: no such run. A run known only from
        its row is finished when the row says so (finished_at); until then it is running elsewhere
        (the CLI) or was interrupted, and its counts are the last saved."""
        if run_id in self._jobs:
            return self._jobs[run_id]
        row = await self._runs.saved(run_id)
        if row is None or row.get("dry_run"):
            return None
        counts = {kind: int(row["counts"].get(kind, 0)) for kind in KINDS}
        done = sum(counts.values())
        return JobState(
            run_id,
            row["operator"],
            Selection(**row["selector"]),
            row.get("started_at"),
            done=done,
            total=done,
            counts=counts,
            finished=row.get("finished_at") is not None,
            finished_at=row.get("finished_at"),
            here=False,
        )

    async def close(self) -> None:
        """Interrupt the runs still going (their positions are saved: `hub replay --resume RUN`)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget_old(self) -> None:
        finished = [run_id for run_id, job in self._jobs.items() if job.finished]
        for run_id in finished[: max(0, len(self._jobs) - self.KEEP)]:
            del self._jobs[run_id]
