"""Notifications validated in worker processes: FHIR structure, conformance and the profile rules
use a core of their own instead of sharing the hub's event loop and its GIL.

Each process builds the hub's intake once (the Pipeline's limits, topics and region check, passed
by value: `region_known` must be picklable, a module-level function) and opens every record from
its bytes itself, so what crosses the process boundary is the record's bytes one way and the
`Inspection` (codes, the notice, roles) back: no parsed document is pickled. A batch is sent
as soon as it arrives, before the hub has opened its records (`ahead`), in chunks of `CHUNK`
records, so the processes work while the hub parses the batch and one hand-over carries several
records. Processes start on first use (spawned, not forked: the parent runs threads and an event
loop). If a process dies, the pool starts afresh and the chunk in hand is validated there again;
if that dies too, each of its records is tried alone, and a record that still kills them is
answered INTAKE-UNEXPECTED (a record that kills validators, by memory or otherwise, must not be
tried in the hub's own process, which it would take down with it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from hub.adapters.spawned_pool import SpawnedPool
from hub.config import Topics
from hub.domain import codes
from hub.domain.codes import Issue
from hub.intake.envelope import Envelope
from hub.service.pipeline import Inspection, IntakeLimits, Pipeline

log = logging.getLogger("hub.validation")
_pipeline: Pipeline | None = None
# Records per hand-over to a process: fewer hand-overs (each is a pickle, a pipe write and a
# future on both sides), yet the first part of a batch (register_birth.PART) is ready soon.
CHUNK = 10
UNEXPECTED = Inspection(problems=[Issue(codes.INTAKE_UNEXPECTED)])


class ProcessInspector:
    """`Inspector` (hub/service/register_birth.py) over `processes` worker processes."""

    def __init__(self, pipeline: Pipeline, processes: int) -> None:
        self._pool = SpawnedPool(processes, _initialise, (pipeline.topics, pipeline.limits, pipeline.region_known))

    async def inspect(self, raw: bytes, envelope: Envelope, now: datetime) -> Inspection:
        (found,) = await self._inspected([raw], now, envelope.message_id)
        return found

    def ahead(self, raws: list[bytes], now: datetime) -> ChunkedAhead:
        loop = asyncio.get_running_loop()
        chunks = [raws[start : start + CHUNK] for start in range(0, len(raws), CHUNK)]
        return ChunkedAhead([loop.create_task(self._inspected(chunk, now)) for chunk in chunks])

    async def _inspected(self, raws: list[bytes], now: datetime, message_id: str | None = None) -> list[Inspection]:
        for attempt in (1, 2):
            pool = self._pool.get()
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, _inspect_all, raws, now)
            except BrokenProcessPool:
                self._pool.broken(pool)
                log.warning(
                    "a validation process died attempt=%d records=%d message_id=%s", attempt, len(raws), message_id
                )
        if len(raws) > 1:  # which of them kills the processes: each alone
            return [found for raw in raws for found in await self._inspected([raw], now)]
        # Twice a process died with this record in hand: the record itself may kill them (memory).
        # Never validated in the hub's own process, which it would take down with it: answered.
        log.warning("record answered unvalidated: validation processes died on it message_id=%s", message_id)
        return [UNEXPECTED]

    @property
    def running(self) -> bool:
        return self._pool.running is not None

    def close(self) -> None:
        self._pool.close()


class ChunkedAhead:
    """`Ahead`: one task per chunk of the batch, in the batch's order."""

    def __init__(self, tasks: list[asyncio.Task[list[Inspection]]]) -> None:
        self._tasks = tasks

    async def result(self, index: int) -> Inspection:
        found = await asyncio.shield(self._tasks[index // CHUNK])  # others may wait on the same chunk
        return found[index % CHUNK]

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()


def _initialise(topics: Topics, limits: IntakeLimits, region_known: Callable[[str], bool]) -> None:
    global _pipeline  # noqa: PLW0603 - one intake per pool process, built once
    _pipeline = Pipeline(topics, limits, region_known)


def _inspect_all(raws: list[bytes], now: datetime) -> list[Inspection]:
    assert _pipeline is not None, "the pool's initializer runs first"
    found = []
    for raw in raws:
        envelope = _pipeline.open(raw)
        # An unreadable record is dead-lettered by the hub, which opens it the same way: never asked.
        found.append(_pipeline.inspect(envelope, now) if isinstance(envelope, Envelope) else UNEXPECTED)
    return found
