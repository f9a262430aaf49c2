"""Validation in worker processes (hub/adapters/validation_pool.py): the same judgement as the hub's
own validator thread, and a process that dies costs nothing but time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime

import pytest

from hub.adapters.regions import kecamatan_known
from hub.adapters.validation_pool import ProcessInspector
from hub.config import Topics
from hub.devtools.simulation import examples
from hub.intake.envelope import Envelope
from hub.service.pipeline import IntakeLimits, Pipeline
from hub.service.register_birth import ThreadInspector

pytestmark = pytest.mark.slow
PIPELINE = Pipeline(Topics("t."), IntakeLimits(512 * 1024, 32, True), kecamatan_known)


def _records() -> list[bytes]:
    valid = examples.valid_examples()
    broken = json.loads(json.dumps(valid["valid-singleton"]))
    broken["entry"][5]["resource"]["status"] = "done"  # outside R4's required value set
    return [json.dumps(d).encode() for d in (*valid.values(), broken)]


async def _judged(inspector, records: list[bytes], now: datetime):
    found = []
    for raw in records:
        envelope = PIPELINE.open(raw)
        assert isinstance(envelope, Envelope)
        found.append(await inspector.inspect(raw, envelope, now))
    return found


async def test_processes_judge_as_the_hubs_own_thread():
    now, records = examples.AS_OF, _records()
    inspector = ProcessInspector(PIPELINE, 2)
    try:
        in_processes = await asyncio.gather(*(_judged(inspector, [raw], now) for raw in records))
    finally:
        inspector.close()
    in_thread = await _judged(ThreadInspector(PIPELINE), records, now)
    assert [found for (found,) in in_processes] == in_thread
    assert in_thread[-1].problems and in_thread[-1].problems[0].code.code == "FHIR-CODE-NOT-IN-VALUE-SET"
    assert all(i.profile is not None and i.profile.notice is not None for i in in_thread[:-1])


async def test_a_dead_process_costs_the_record_nothing(caplog):
    now, records = datetime.now(UTC), _records()
    inspector = ProcessInspector(PIPELINE, 1)
    try:
        (first,) = await _judged(inspector, records[:1], now)
        for pid in list(inspector._pool.get()._processes):  # the pool's own record of its processes
            os.kill(pid, signal.SIGKILL)
        (again,) = await _judged(inspector, records[:1], now)
        (later,) = await _judged(inspector, records[1:2], now)  # a fresh pool
    finally:
        inspector.close()
    assert again == first, "validated again in a fresh pool"
    assert later.profile is not None
    assert "a validation process died attempt=1" in caplog.text


def _dies(_code: str) -> bool:
    os._exit(3)  # a validation process that dies on whatever record it reads


async def test_a_record_that_kills_validation_processes_is_answered_not_tried_in_the_hub(caplog):
    deadly = Pipeline(Topics("t."), IntakeLimits(512 * 1024, 32, True), _dies)
    inspector = ProcessInspector(deadly, 1)
    try:
        (found,) = await _judged(inspector, _records()[:1], examples.AS_OF)
    finally:
        inspector.close()
    assert [issue.code.code for issue in found.problems] == ["INTAKE-UNEXPECTED"]
    assert "attempt=2" in caplog.text and "answered unvalidated" in caplog.text


async def test_the_hub_wiring_validates_in_processes_when_asked_and_stops_them():
    from hub.bootstrap import validation
    from hub.config import Settings

    async with validation(Settings(validation_processes=0)) as none:
        assert none is None
    async with validation(Settings(validation_processes=1)) as inspector:
        assert isinstance(inspector, ProcessInspector)
        raw = _records()[0]
        envelope = PIPELINE.open(raw)
        assert isinstance(envelope, Envelope)
        found = await inspector.inspect(raw, envelope, examples.AS_OF)
        assert found.profile is not None and inspector.running
    assert not inspector.running, "the processes stop with the hub"


async def test_a_batch_validated_ahead_in_processes_is_answered_as_in_the_thread():
    """`ahead`: the processes start on the batch's bytes in chunks before the hub opens them; an
    unreadable record across a chunk boundary and an invalid one change nothing in the answers."""
    from dataclasses import replace

    from hub.adapters.validation_pool import CHUNK
    from hub.service.register_birth import PART, RegisterBirths
    from tests.fakes import FakeState, FakeUnitOfWork
    from tests.unit.test_register_births import NOW, TOPICS, _population, at, first_birth, raw

    pipeline = Pipeline(TOPICS, IntakeLimits(512 * 1024, 32, True), kecamatan_known)

    def batch(spec):
        births = [
            replace(spec, message_id=f"5d8c3b0e-7a2f-4c61-9e1d-{n:012d}", encounter_id=f"E{n}")
            for n in range(1, PART + CHUNK)
        ]
        invalid = json.loads(raw(births[3]))
        invalid["entry"][0]["resource"]["eventCoding"]["code"] = "not-a-birth"
        records = [raw(b) for b in births]
        records[3] = json.dumps(invalid).encode()
        records.insert(CHUNK - 1, b"{not json")  # the last record of the first chunk
        return [(record, at(n)) for n, record in enumerate(records)]

    async def handled(inspector):
        state = FakeState()
        spec = first_birth(*_population(state))
        handler = RegisterBirths(lambda: FakeUnitOfWork(state), pipeline, lambda: NOW, inspector)
        results = await handler.handle_batch(batch(spec))
        return [(h.outcome, h.codes) for h in results], sorted((m.topic, m.value) for m in state.outbox)

    inspector = ProcessInspector(pipeline, 1)
    try:
        in_processes = await handled(inspector)
    finally:
        inspector.close()
    in_thread = await handled(ThreadInspector(pipeline))

    assert in_processes == in_thread
    outcomes = [outcome for outcome, _ in in_thread[0]]
    assert outcomes[CHUNK - 1] == "dead-letter" and outcomes[3] == "rejected"
    # One mother: her first newborn registers, the others wait for review as implausibly close.
    assert outcomes[0] == "registered" and outcomes.count("review-pending") == PART + CHUNK - 3
