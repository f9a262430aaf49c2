"""Notifications validated in worker processes: FHIR structure, conformance and the profile rules
use a core of their own instead of sharing the hub's event loop and its GIL.

Each process builds the hub's intake once (the Pipeline's limits, topics and region check, passed
by value: `region_known` must be picklable, a module-level function) and opens every record from
its bytes itself, so what crosses the process boundary is the record's bytes one way and the
`Inspection` (codes, the notice, roles) back: no parsed document is pickled. Processes start on
first use (spawned, not forked: the parent runs threads and an event loop). If a process dies,
the pool starts afresh and the record in hand is validated there again; if that one dies too, the
record is answered INTAKE-UNEXPECTED (a record that kills validators, by memory or otherwise,
must not be tried in the hub's own process, which it would take down with it).
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


class ProcessInspector:
    """`Inspector` (hub/service/register_birth.py) over `processes` worker processes."""

    def __init__(self, pipeline: Pipeline, processes: int) -> None:
        self._pool = SpawnedPool(processes, _initialise, (pipeline.topics, pipeline.limits, pipeline.region_known))

    async def inspect(self, raw: bytes, envelope: Envelope, now: datetime) -> Inspection:
        for attempt in (1, 2):
            pool = self._pool.get()
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, _inspect, raw, now)
            except BrokenProcessPool:
                self._pool.broken(pool)
                log.warning("a validation process died attempt=%d message_id=%s", attempt, envelope.message_id)
        # Twice a process died with this record in hand: the record itself may kill them (memory).
        # Never validated in the hub's own process, which it would take down with it: answered.
        log.warning("record answered unvalidated: validation processes died on it message_id=%s", envelope.message_id)
        return Inspection(problems=[Issue(codes.INTAKE_UNEXPECTED)])

    @property
    def running(self) -> bool:
        return self._pool.running is not None

    def close(self) -> None:
        self._pool.close()


def _initialise(topics: Topics, limits: IntakeLimits, region_known: Callable[[str], bool]) -> None:
    global _pipeline  # noqa: PLW0603 - one intake per pool process, built once
    _pipeline = Pipeline(topics, limits, region_known)


def _inspect(raw: bytes, now: datetime) -> Inspection:
    assert _pipeline is not None, "the pool's initializer runs first"
    envelope = _pipeline.open(raw)
    if not isinstance(envelope, Envelope):  # the hub opened it before sending it here: cannot happen
        return Inspection(problems=[Issue(codes.INTAKE_UNEXPECTED)])
    return _pipeline.inspect(envelope, now)
