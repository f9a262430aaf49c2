"""Periodic sampling of the gauges that describe stored state (backlogs, lag, pool use).

The sampler calls the composition root's probes every few seconds and sets the gauges; a probe
that fails leaves its gauges as they were and is logged once per failure streak, so a database
outage shows in readiness, not as a flood of sampler errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from hub.observability import metrics

log = logging.getLogger("hub.metrics")

Probe = Callable[[], Awaitable[None]]


async def sample_forever(probes: Mapping[str, Probe], every: float, stop: asyncio.Event) -> None:
    failing: set[str] = set()
    while not stop.is_set():
        await sample_once(probes, failing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def sample_once(probes: Mapping[str, Probe], failing: set[str] | None = None) -> None:
    failing = set() if failing is None else failing
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe(), timeout=10)
        except Exception as exc:  # noqa: BLE001 - a dependency is down: readiness reports it; keep sampling the others
            if name not in failing:
                log.warning("metrics probe failed probe=%s error=%s", name, type(exc).__name__)
                failing.add(name)
        else:
            metrics.SAMPLED.labels(probe=name).set_to_current_time()
            if name in failing:
                log.info("metrics probe recovered probe=%s", name)
                failing.discard(name)
