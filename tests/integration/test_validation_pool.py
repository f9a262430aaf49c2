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
