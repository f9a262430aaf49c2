"""Replay runs with in-memory ports (a fake topic, run store and read model, the real ReplayMessages):
selections (refused before anything is recorded), counts, progress, the run's record and audit,
resuming (also after a failure), and the console's background jobs, bounded previews, run states,
texts and failure groups."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.errors import OperatorError, StoreUnavailable, TransientError
from hub.intake.signature import HEADER as SIGNATURE_HEADER
from hub.service import replay_runs as module
from hub.service.ports import Delivery
from hub.service.register_birth import RegisterBirths
from hub.service.replay import ReplayMessages
from hub.service.replay_runs import (
    Group,
    PreviewTimedOut,
    ReplayJobs,
    ReplayRuns,
    Selection,
    delivery,
    group_failures,
)
from tests.fakes import FakeState, FakeUnitOfWork
from tests.unit.test_register_births import NOW, PIPELINE, TOPICS, _population, first_birth, raw

HOSPITAL = "100"
NOTIFICATIONS = TOPICS.notifications_of(HOSPITAL)  # hospital 100's own notification topic


def whole_topic(**more: Any) -> Selection:
    """Hospital 100's notification topic: a topic is replayed by naming its hospital."""
    return Selection(hospital=HOSPITAL, **more)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    timestamp_ms: int | None = None
    broker_time: bool = True  # hospitals' topics are stamped by the broker (LogAppendTime)


@dataclass(frozen=True)
class Span:
    ranges: dict[int, tuple[int, int]]

    @property
    def total(self) -> int:
        return sum(end - start for start, end in self.ranges.values())


class FakeTopics:
    """Topics as lists of records per partition; readers count how often they were opened."""

    def __init__(self) -> None:
        self.records: dict[str, dict[int, list[Record]]] = {}
        self.opened: list[str] = []
        self.gate: asyncio.Event | None = None  # set: reading waits for it before each record

    def publish(
        self,
        topic: str,
        value: bytes,
        partition: int = 0,
        headers: dict[str, str] | None = None,
        timestamp_ms: int | None = None,
    ) -> Record:
        log = self.records.setdefault(topic, {}).setdefault(partition, [])
        record = Record(topic, partition, len(log), b"k", value, headers or {}, timestamp_ms)
        log.append(record)
        return record

    def reader(self, topic: str) -> FakeReader:
        self.opened.append(topic)
        return FakeReader(self, topic)


class FakeReader:
    def __init__(self, topics: FakeTopics, topic: str) -> None:
        self._topics, self.topic = topics, topic

    async def __aenter__(self) -> FakeReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def _log(self) -> dict[int, list[Record]]:
        return self._topics.records.get(self.topic, {})

    async def span(self, *, partitions=None, from_offset=None, to_offset=None, since=None, until=None, resume=None):
        found = self._log()
        ranges = {}
        for p in partitions if partitions is not None else sorted(found):
            end = len(found.get(p, []))
            start = max(from_offset or 0, (resume or {}).get(p, 0))
            ranges[p] = (start, end if to_offset is None else min(end, to_offset + 1))
        return Span(ranges)

    async def read(self, span: Span):
        for p, (start, end) in span.ranges.items():
            for record in self._log().get(p, [])[start:end]:
                if self._topics.gate is not None:
                    await self._topics.gate.wait()
                yield record

    async def fetch(self, partition: int, offset: int) -> Record | None:
        log = self._log().get(partition, [])
        return log[offset] if offset < len(log) else None


class FakeRuns:
    """replay_runs rows; begin and finish audited as PostgresReplayRuns does."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.audit: list[tuple[str, str, str, str]] = []  # (operator, action, subject, reason)
        self.saves: list[dict] = []

    async def get(self, run_id: int) -> dict[str, Any] | None:
        return self.rows.get(run_id)

    async def begin(self, operator: str, selection: dict, reason: str, at: datetime) -> int:
        run_id = len(self.rows) + 1
        self.rows[run_id] = {
            "id": run_id,
            "operator": operator,
            "selector": dict(selection),
            "dry_run": False,
            "positions": {},
            "counts": {},
            "started_at": at,
            "finished_at": None,
        }
        self.audit.append((operator, "replay.start", f"replay-run:{run_id}", reason))
        return run_id

    async def save(self, run_id: int, positions: dict, counts: dict) -> None:
        self.saves.append(dict(positions))
        self.rows[run_id].update(positions=dict(positions), counts=dict(counts))

    async def finish(
        self, run_id: int, operator: str, positions: dict, counts: dict, reason: str, at: datetime
    ) -> None:
        self.rows[run_id].update(positions=dict(positions), counts=dict(counts), finished_at=at)
        self.audit.append((operator, "replay.finish", f"replay-run:{run_id}", reason))


class FakeView:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def inbox_positions(self, message_ids: list[str]) -> dict[str, dict[str, tuple[str, int, int]]]:
        found: dict[str, dict[str, tuple[str, int, int]]] = {}
        for record in self.state.inbox.values():
            if record.message_id in message_ids:
                found.setdefault(record.message_id, {})[record.hospital_id or ""] = (
                    record.delivery.topic,
                    record.delivery.partition,
                    record.delivery.offset,
                )
        return found

    async def rejections(self, *, code, hospital, since, until) -> list[dict[str, Any]]:
        return [
            {
                "message_id": r.message_id,
                "hospital_id": r.hospital_id or "",
                "codes": list(r.codes),
                "topic": r.delivery.topic,
                "partition": r.delivery.partition,
                "offset": r.delivery.offset,
                "updated_at": NOW,
            }
            for r in self.state.inbox.values()
            if r.status == "rejected" and (code is None or code in r.codes) and hospital in (None, r.hospital_id)
        ]


@dataclass
class World:
    state: FakeState
    topics: FakeTopics
    runs: FakeRuns
    consumer: RegisterBirths
    replays: ReplayRuns
    mother_nik: str
    spec: Any

    async def consume(self, value: bytes, partition: int = 0, hospital: str = HOSPITAL, **delivered: Any) -> Record:
        """Publish on `hospital`'s notification topic and let the hub's consumer handle it, as the
        running hub would; `delivered`: the Delivery's timestamp_ms and signature."""
        record = self.topics.publish(TOPICS.notifications_of(hospital), value, partition)
        await self.consumer.handle(
            value, Delivery(record.topic, record.partition, record.offset, record.key, **delivered)
        )
        return record

    def registrations(self) -> int:
        return len(self.state.births)


@pytest.fixture
def world() -> World:
    state = FakeState()
    mother, father = _population(state)
    uow = lambda: FakeUnitOfWork(state)  # noqa: E731
    topics, runs = FakeTopics(), FakeRuns()
    replays = ReplayRuns(
        ReplayMessages(uow, PIPELINE, lambda: NOW),
        runs,
        FakeView(state),
        topics.reader,
        TOPICS,
        retry_initial=0.001,
        retry_max=0.002,
        clock=lambda: NOW,
    )
    consumer = RegisterBirths(uow, PIPELINE, lambda: NOW)
    return World(state, topics, runs, consumer, replays, mother.nik, first_birth(mother, father))


async def _rejected_for_a_missing_mother(world: World) -> Callable[[], None]:
    """The spec's mother is not in the registry yet: MOTHER-NOT-FOUND. Returns the registry's fix."""
    mother = world.state.persons.pop(world.mother_nik)
    await world.consume(raw(world.spec))
    (found,) = world.state.inbox.values()
    assert (found.status, "MOTHER-NOT-FOUND" in found.codes) == ("rejected", True)
    return lambda: world.state.persons.__setitem__(mother.nik, mother)


async def test_a_fixed_rejection_is_newly_processed_once_and_the_run_is_recorded_and_audited(world):
    fix = await _rejected_for_a_missing_mother(world)
    fix()
    seen: list[tuple[int, int, dict]] = []
    selection = Selection("rejected", code="MOTHER-NOT-FOUND")

    report = await world.replays.replay(
        selection, dry_run=False, operator="ana (console)", reason="mother added", progress=lambda *a: seen.append(a)
    )

    assert report.as_dict() == {
        "run": 1,
        "dry_run": False,
        "source": "rejected",
        "counts": {"already-processed": 0, "newly-processed": 1, "rejected": 0, "unreadable": 0, "skipped": 0},
    }
    assert world.registrations() == 1 and seen == [(1, 1, report.counts)]
    assert world.runs.audit == [
        ("ana (console)", "replay.start", "replay-run:1", "mother added"),
        ("ana (console)", "replay.finish", "replay-run:1", "mother added"),
    ]
    row = world.runs.rows[1]
    assert row["selector"]["source"] == "rejected" and row["finished_at"] == NOW
    assert Selection(**row["selector"]) == selection, "the CLI's --resume rebuilds the selection from the row"

    again = await world.replays.replay(selection, dry_run=False, operator="ana (console)", reason="twice")
    assert sum(again.counts.values()) == 0, "no longer rejected: nothing selected"
    by_id = await world.replays.replay(
        Selection("ids", message_ids=[world.spec.message_id]), dry_run=False, operator="ana", reason="again"
    )
    assert by_id.counts["already-processed"] == 1 and world.registrations() == 1


async def test_a_dry_run_has_no_run_and_writes_nothing(world):
    fix = await _rejected_for_a_missing_mother(world)
    fix()
    outbox, commits = list(world.state.outbox), world.state.commits
    report = await world.replays.replay(Selection("rejected"), dry_run=True, operator="ana", reason="")
    assert (report.run, report.counts["newly-processed"]) == (None, 1)
    assert (world.state.outbox, world.state.commits, world.registrations()) == (outbox, commits, 0)
    assert world.runs.rows == {} and world.runs.audit == []


async def test_a_rejection_that_still_holds_counts_as_rejected(world):
    await _rejected_for_a_missing_mother(world)
    report = await world.replays.replay(Selection("rejected"), dry_run=False, operator="ana", reason="try")
    assert report.counts["rejected"] == 1 and world.registrations() == 0


async def test_the_topic_source_counts_every_kind_and_saves_its_positions(world, monkeypatch):
    monkeypatch.setattr(module, "SAVE_EVERY", 2)
    await world.consume(raw(world.spec))  # registered
    await world.consume(b"{not json", partition=1)  # a dead letter
    other = replace(world.spec, message_id=str(uuid.uuid4()), encounter_id="E2", hospital_id="999")
    world.topics.publish(NOTIFICATIONS, raw(other))  # never seen; naming an unknown sender, it is rejected
    elsewhere = replace(world.spec, message_id=str(uuid.uuid4()), encounter_id="E3")
    world.topics.publish(TOPICS.notifications_of("200"), raw(elsewhere))  # another hospital's topic: not read
    report = await world.replays.replay(whole_topic(), dry_run=False, operator="ana", reason="all")
    assert report.counts == {
        "already-processed": 1,
        "newly-processed": 0,
        "rejected": 1,
        "unreadable": 1,
        "skipped": 0,
    }
    assert world.runs.saves == [{"0": 2}], "saved after every SAVE_EVERY messages"
    assert world.runs.rows[1]["positions"] == {"0": 2, "1": 1}
    assert world.topics.opened == [NOTIFICATIONS], "only the named hospital's topic is read"

    (code,) = next(r.codes for r in world.state.inbox.values() if r.message_id == other.message_id)
    filtered = await world.replays.replay(whole_topic(code=code), dry_run=True, operator="ana", reason="")
    assert (filtered.counts["skipped"], filtered.counts["rejected"]) == (2, 1), "still rejected: evaluated again"


async def test_a_dead_letter_is_replayed_as_its_first_delivery(world):
    record = await world.consume(b"\xff\xfe")
    (letter,) = [m for m in world.state.outbox if m.topic == TOPICS.dead_letters]
    world.topics.publish(TOPICS.dead_letters, letter.value, headers=letter.headers)
    report = await world.replays.replay(Selection("dlq", code="DLQ-NOT-UTF8"), dry_run=False, operator="a", reason="r")
    assert report.counts["unreadable"] == 1 and world.topics.opened[-1] == TOPICS.dead_letters
    assert len(world.state.dead_letters) == 1, "its delivery was recorded: not dead-lettered twice"
    assert world.state.dead_letters[0][0].offset == record.offset
    other = await world.replays.replay(Selection("dlq", code="DLQ-NOT-JSON"), dry_run=True, operator="a", reason="")
    assert other.counts["skipped"] == 1


async def test_unknown_or_ambiguous_message_ids_are_refused(world):
    await world.consume(raw(world.spec))
    with pytest.raises(OperatorError, match="unknown message ids: nope"):
        await world.replays.replay(Selection("ids", message_ids=["nope"]), dry_run=True, operator="a", reason="")
    twin = replace(world.spec, hospital_id="200", encounter_id="E9")  # another hospital, the same message id
    world.state.hospitals["200"] = replace(world.state.hospitals[HOSPITAL], org_id="200")
    await world.consume(raw(twin), hospital="200")
    ids = Selection("ids", message_ids=[world.spec.message_id])
    with pytest.raises(OperatorError, match="sent by 2 hospitals"):
        await world.replays.replay(ids, dry_run=True, operator="a", reason="")
    chosen = await world.replays.replay(replace(ids, hospital="200"), dry_run=True, operator="a", reason="")
    assert sum(chosen.counts.values()) == 1
    assert world.topics.opened == [TOPICS.notifications_of("200")], "read where hospital 200 sent it"


async def test_a_refused_real_run_is_neither_recorded_nor_audited(world):
    """The selection is checked before the run's row and its audit entry: a refusal changes nothing."""
    await world.consume(raw(world.spec))
    twin = replace(world.spec, hospital_id="200", encounter_id="E9")
    world.state.hospitals["200"] = replace(world.state.hospitals[HOSPITAL], org_id="200")
    await world.consume(raw(twin), hospital="200")
    refused = [
        (Selection("ids", message_ids=[world.spec.message_id, "nope"], hospital=HOSPITAL), "unknown message ids: nope"),
        (Selection("ids", message_ids=[world.spec.message_id]), "sent by 2 hospitals"),
        (Selection("ids", message_ids=[world.spec.message_id], hospital="300"), "unknown message ids"),
        (Selection("ids", message_ids=[]), "no message ids"),
        (whole_topic(since="yesterday"), "ISO 8601"),
        (Selection("dlq", until="2026-13-01"), "ISO 8601"),
        (Selection("everything"), "source"),
        (Selection(), r"each hospital has its own notification topic: say whose to replay \(--hospital ORG\)"),
        (Selection(partitions=[0], from_offset=0), "--hospital ORG"),
        (Selection(hospital="no/such topic"), "a hospital id is"),
    ]
    for selection, why in refused:
        with pytest.raises(OperatorError, match=why):
            await world.replays.start(selection, dry_run=False, operator="cli@host", reason="r")
    jobs = ReplayJobs(world.replays, lambda: NOW)
    with pytest.raises(OperatorError, match="unknown message ids: nope"):
        await jobs.launch(Selection("ids", message_ids=["nope"]), "ana (console)", "r")
    with pytest.raises(OperatorError, match="--hospital ORG"):
        await jobs.launch(Selection(), "ana (console)", "r")
    assert world.runs.rows == {} and world.runs.audit == [], "no run row, no replay.start for what never ran"
    assert world.topics.opened == [], "refused before reading anything"

    chosen = Selection("ids", message_ids=[world.spec.message_id], hospital="200")
    report = await world.replays.replay(chosen, dry_run=False, operator="cli@host", reason="r")
    assert report.counts["already-processed"] == 1 and [a[1] for a in world.runs.audit] == [
        "replay.start",
        "replay.finish",
    ]


async def test_a_bad_source_or_time_is_refused(world):
    with pytest.raises(OperatorError, match="source"):
        await world.replays.start(Selection("everything"), dry_run=True, operator="a", reason="")
    with pytest.raises(OperatorError, match="ISO 8601"):
        await world.replays.replay(whole_topic(since="yesterday"), dry_run=True, operator="a", reason="")
    with pytest.raises(OperatorError, match="no replay run 7"):
        await world.replays.start(whole_topic(), dry_run=False, operator="a", reason="", resume=7)


async def test_an_interrupted_run_saves_its_positions_and_resumes_from_them(world):
    for n in range(3):
        await world.consume(raw(replace(world.spec, message_id=str(uuid.uuid4()), encounter_id=f"E{n}")))
    world.topics.gate = gate = asyncio.Event()
    done: list[int] = []

    def progress(count: int, total: int, counts) -> None:
        done.append(count)
        if count == 1:
            gate.clear()

    gate.set()
    run = await world.replays.start(whole_topic(), dry_run=False, operator="a", reason="r")
    task = asyncio.create_task(world.replays.go(run, progress))
    while not done:
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert world.runs.rows[1]["positions"] == {"0": 1} and world.runs.rows[1]["finished_at"] is None

    world.topics.gate = None
    resumed = await world.replays.replay(Selection("dlq"), dry_run=False, operator="a", reason="r", resume=1)
    assert resumed.source == "topic" and resumed.counts["already-processed"] == 2, "the first one is not read again"


async def test_a_run_that_fails_saves_its_positions_and_stays_unfinished(world, monkeypatch):
    for n in range(3):
        await world.consume(raw(replace(world.spec, message_id=str(uuid.uuid4()), encounter_id=f"E{n}")))
    real, calls = ReplayMessages.replay, []

    async def broken_on_the_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("a bug")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(ReplayMessages, "replay", broken_on_the_second)
    with pytest.raises(RuntimeError, match="a bug"):
        await world.replays.replay(whole_topic(), dry_run=False, operator="a", reason="r")
    row = world.runs.rows[1]
    assert (row["positions"], row["counts"], row["finished_at"]) == ({"0": 1}, {"already-processed": 1}, None)
    assert [a[1] for a in world.runs.audit] == ["replay.start"], "not finished: `hub replay --resume 1` goes on"

    monkeypatch.setattr(ReplayMessages, "replay", real)
    resumed = await world.replays.replay(whole_topic(), dry_run=False, operator="a", reason="r", resume=1)
    assert resumed.counts["already-processed"] == 2, "the first one is not read again"


@pytest.mark.allow_errors  # the job logs the failure
async def test_a_console_job_that_fails_keeps_its_positions(world, monkeypatch):
    await world.consume(raw(world.spec))

    async def down(self, *args, **kwargs):
        raise ValueError("not transient")

    monkeypatch.setattr(ReplayMessages, "replay", down)
    jobs = ReplayJobs(world.replays, lambda: NOW)
    job = await jobs.launch(whole_topic(), "ana (console)", "r")
    state = await _finished(jobs, job.run_id)
    assert (state.error, world.runs.saves, world.runs.rows[job.run_id]["finished_at"]) == ("ValueError", [{}], None)


def test_a_dead_letter_without_its_original_place_is_refused_not_a_crash():
    bare = Record(TOPICS.dead_letters, 0, 5, b"k", b"x", {})
    with pytest.raises(OperatorError, match=r"dead letter at .*:0:5 has no readable dlq-original"):
        delivery(bare, "dlq")
    odd = replace(
        bare, headers={"dlq-original-topic": "t", "dlq-original-partition": "one", "dlq-original-offset": "1"}
    )
    with pytest.raises(OperatorError):
        delivery(odd, "dlq")
    assert delivery(bare, "topic") == Delivery(TOPICS.dead_letters, 0, 5, b"k")


SIGNED = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldi0xMDAiLCJiNjQiOmZhbHNlLCJjcml0IjpbImI2NCJdfQ..c2lnbmF0dXJl"
FIRST_READ_MS = 1_777_700_000_000  # when hospital 100's topic took the record
DEAD_LETTERED_MS = FIRST_READ_MS + 3_600_000  # when the dead-letter topic took its copy, an hour later


def test_a_topic_record_is_judged_by_its_own_time_and_signature():
    """The trust check judges a replayed record at its Kafka timestamp, by its hub-signature header."""
    record = Record(NOTIFICATIONS, 2, 7, b"k", b"{}", {SIGNATURE_HEADER: SIGNED}, FIRST_READ_MS)
    for source in ("topic", "ids", "rejected"):
        found = delivery(record, source)
        assert found == Delivery(NOTIFICATIONS, 2, 7, b"k")
        assert (found.timestamp_ms, found.signature) == (FIRST_READ_MS, SIGNED.encode())
    unsigned = delivery(replace(record, headers={}, timestamp_ms=None), "topic")
    assert (unsigned.timestamp_ms, unsigned.signature) == (None, None), "nothing made up for what is missing"


def test_a_dead_letter_is_judged_by_its_first_delivery_time_and_signature_not_its_own():
    first = {
        "dlq-original-topic": NOTIFICATIONS,
        "dlq-original-partition": "2",
        "dlq-original-offset": "7",
        "dlq-original-timestamp": str(FIRST_READ_MS),
        SIGNATURE_HEADER: SIGNED,
    }
    letter = Record(TOPICS.dead_letters, 0, 3, b"k", b"{}", first, DEAD_LETTERED_MS)
    found = delivery(letter, "dlq")
    assert found == Delivery(NOTIFICATIONS, 2, 7, b"k")
    assert (found.timestamp_ms, found.signature) == (FIRST_READ_MS, SIGNED.encode())
    older = {k: v for k, v in first.items() if k not in ("dlq-original-timestamp", SIGNATURE_HEADER)}
    bare = delivery(replace(letter, headers=older), "dlq")
    assert (bare.timestamp_ms, bare.signature) == (None, None), "never the dead letter's own time or signature"
    with pytest.raises(OperatorError):
        delivery(replace(letter, headers={**first, "dlq-original-timestamp": "noon"}), "dlq")


async def test_the_dead_letters_the_hub_writes_carry_what_a_replay_judges_again(world):
    """Consumed with a timestamp and a signature, dead-lettered, read back from the dead-letter
    topic: the replay's delivery is the first one, with its time and signature."""
    record = await world.consume(b"\xff\xfe", partition=2, timestamp_ms=FIRST_READ_MS, signature=SIGNED.encode())
    (letter,) = [m for m in world.state.outbox if m.topic == TOPICS.dead_letters]
    copy = world.topics.publish(
        TOPICS.dead_letters, letter.value, headers=letter.headers, timestamp_ms=DEAD_LETTERED_MS
    )
    found = delivery(copy, "dlq")
    assert found == Delivery(NOTIFICATIONS, 2, record.offset, b"k")
    assert (found.timestamp_ms, found.signature) == (FIRST_READ_MS, SIGNED.encode())


async def test_rejections_are_read_on_each_hospitals_own_topic(world):
    mother = world.state.persons.pop(world.mother_nik)
    await world.consume(raw(world.spec))
    world.state.hospitals["200"] = replace(world.state.hospitals[HOSPITAL], org_id="200")
    twin = replace(world.spec, hospital_id="200", encounter_id="E9")  # the same message id, from hospital 200
    await world.consume(raw(twin), partition=1, hospital="200")
    assert sorted(r.hospital_id for r in world.state.inbox.values() if r.status == "rejected") == ["100", "200"]
    world.state.persons[mother.nik] = mother
    report = await world.replays.replay(Selection("rejected"), dry_run=True, operator="ana", reason="")
    assert report.counts["newly-processed"] == 2
    assert world.topics.opened == [NOTIFICATIONS, TOPICS.notifications_of("200")], "each topic opened once"


async def test_a_dead_letter_the_hub_did_not_write_counts_as_unreadable(world):
    world.topics.publish(TOPICS.dead_letters, b"{not json", headers={"dlq-reason": "DLQ-NOT-JSON"})
    report = await world.replays.replay(Selection("dlq"), dry_run=False, operator="a", reason="r")
    assert report.counts["unreadable"] == 1 and world.runs.rows[1]["finished_at"] == NOW
    other = await world.replays.replay(Selection("dlq", code="DLQ-NOT-UTF8"), dry_run=True, operator="a", reason="")
    assert other.counts["skipped"] == 1
    assert world.state.dead_letters == [], "nothing re-dead-lettered"


async def test_transient_failures_are_retried(world, monkeypatch):
    await world.consume(raw(world.spec))
    real, failures = ReplayMessages.replay, [StoreUnavailable("down"), StoreUnavailable("still down")]

    async def flaky(self, *args, **kwargs):
        if failures:
            raise failures.pop()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(ReplayMessages, "replay", flaky)
    report = await world.replays.replay(whole_topic(), dry_run=True, operator="a", reason="")
    assert report.counts["already-processed"] == 1 and failures == []


# --- the console's jobs -------------------------------------------------------------------------


async def _finished(jobs: ReplayJobs, run_id: int):
    for _ in range(500):
        state = await jobs.state(run_id)
        if state is not None and state.finished:
            return state
        await asyncio.sleep(0.001)
    raise AssertionError("the run did not finish")


async def test_a_console_job_runs_in_the_background_and_reports_its_progress(world):
    fix = await _rejected_for_a_missing_mother(world)
    fix()
    jobs = ReplayJobs(world.replays, lambda: NOW)
    preview = await jobs.preview(Selection("rejected"), "ana (console)")
    assert preview.counts["newly-processed"] == 1 and world.registrations() == 0 and world.runs.rows == {}

    with pytest.raises(OperatorError, match="reason"):
        await jobs.launch(Selection("rejected"), "ana (console)", "  ")
    job = await jobs.launch(Selection("rejected"), "ana (console)", " mother added ")
    assert world.runs.audit[0] == ("ana (console)", "replay.start", f"replay-run:{job.run_id}", "mother added")
    state = await _finished(jobs, job.run_id)
    assert (state.done, state.total, state.counts["newly-processed"], state.error, state.here) == (1, 1, 1, None, True)
    assert world.registrations() == 1 and world.runs.audit[-1][1] == "replay.finish"
    assert await jobs.state(99) is None


async def test_a_run_not_going_here_is_read_from_its_row(world):
    await world.consume(raw(world.spec))
    await world.replays.replay(whole_topic(), dry_run=False, operator="cli@host", reason="r")
    jobs = ReplayJobs(world.replays, lambda: NOW)  # a console started after the run
    state = await jobs.state(1)
    assert state is not None and (state.here, state.finished, state.operator, state.done) == (
        False,
        True,
        "cli@host",
        1,
    )
    assert state.finished_at == NOW and state.selection == whole_topic()


async def test_a_run_whose_row_is_unfinished_is_not_reported_finished(world):
    """Running in the CLI, or interrupted (the console restarted): its row has no finished_at."""
    await world.consume(raw(world.spec))
    run = await world.replays.start(whole_topic(), dry_run=False, operator="cli@host", reason="r")
    assert run.id is not None
    await world.runs.save(run.id, {"0": 1}, {"already-processed": 1})
    jobs = ReplayJobs(world.replays, lambda: NOW)
    state = await jobs.state(run.id)
    assert state is not None and (state.here, state.finished, state.finished_at, state.done, state.error) == (
        False,
        False,
        None,
        1,
        None,
    )
    await world.replays.go(run)  # the CLI ends it
    ended = await jobs.state(run.id)
    assert ended is not None and (ended.finished, ended.finished_at) == (True, NOW)


async def test_closing_the_console_interrupts_its_runs_and_keeps_their_positions(world):
    await world.consume(raw(world.spec))
    world.topics.gate = asyncio.Event()  # never set: the run waits for its first record
    jobs = ReplayJobs(world.replays, lambda: NOW)
    job = await jobs.launch(whole_topic(), "ana (console)", "r")
    await asyncio.sleep(0.01)
    await jobs.close()
    state = await jobs.state(job.run_id)
    assert state is not None and (state.finished, state.error) == (True, "interrupted")
    assert world.runs.rows[job.run_id]["finished_at"] is None, "not finished: `hub replay --resume` continues it"


async def test_a_preview_that_does_not_end_is_stopped_with_a_clear_error(world, monkeypatch):
    """An outage: every attempt fails transiently, and retry_transient never gives up."""
    await world.consume(raw(world.spec))
    attempts: list[int] = []

    async def down(self, *args, **kwargs):
        attempts.append(1)
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(ReplayMessages, "replay", down)
    jobs = ReplayJobs(world.replays, lambda: NOW, preview_seconds=0.05)
    with pytest.raises(PreviewTimedOut, match=r"took longer than 0\.05 s.*nothing was written") as stopped:
        await jobs.preview(whole_topic(), "ana (console)")
    assert isinstance(stopped.value, TransientError) and len(attempts) > 1
    assert world.runs.rows == {} and world.runs.audit == []
    assert ReplayJobs(world.replays, lambda: NOW).preview_seconds == 60

    world.topics.gate = asyncio.Event()  # Kafka not answering: reading never gets its first record
    monkeypatch.undo()
    with pytest.raises(PreviewTimedOut):
        await jobs.preview(whole_topic(), "ana (console)")


def test_the_english_texts_of_the_replay_pages_are_words_not_class_names():
    from hub.console import i18n
    from hub.console.pages import deadletters  # noqa: F401  (registers the texts)

    texts = {
        key: english for key, (_, english) in i18n.known().items() if key.split(".")[0] in ("deadletters", "replay")
    }
    assert texts["deadletters.total_rejections"] == "Rejections"
    assert texts["deadletters.kind.rejection"] == "Rejection"
    assert texts["replay.code"].startswith("Rejection code or dead-letter reason")
    camel = re.compile(r"\b[A-Z][a-z]+[A-Z]\w*")
    assert {key: text for key, text in texts.items() if camel.search(text)} == {}
    elsewhere = i18n.text("replay.elsewhere", "en", run=7)
    assert elsewhere.startswith("Running elsewhere or interrupted") and "hub replay --resume 7" in elsewhere
    assert i18n.text("replay.elsewhere", "id", run=7).startswith("Berjalan di tempat lain atau terhenti")


def test_failures_are_grouped_by_reason_and_hospital_newest_first():
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    letters = [
        {"reason": "DLQ-NOT-JSON", "recorded_at": t0},
        {"reason": "DLQ-NOT-JSON", "recorded_at": t0 + timedelta(hours=3)},
    ]
    rejections = [
        {"hospital_id": "100", "codes": ["MOTHER-NOT-FOUND", "KK-NOT-FOUND"], "updated_at": t0 + timedelta(hours=1)},
        {"hospital_id": "100", "codes": ["MOTHER-NOT-FOUND"], "updated_at": t0 + timedelta(hours=5)},
        {"hospital_id": "200", "codes": ["MOTHER-NOT-FOUND"], "updated_at": t0 + timedelta(hours=2)},
    ]
    assert group_failures(letters, rejections) == [
        Group("MOTHER-NOT-FOUND", "100", 2, t0 + timedelta(hours=5)),
        Group("DLQ-NOT-JSON", None, 2, t0 + timedelta(hours=3)),
        Group("MOTHER-NOT-FOUND", "200", 1, t0 + timedelta(hours=2)),
        Group("KK-NOT-FOUND", "100", 1, t0 + timedelta(hours=1)),
    ]
    assert group_failures([], []) == []
