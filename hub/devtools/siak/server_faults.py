"""Fault injection and counters for the SIAK reference server (never part of a real registry).

The faults let tests and demos see how the hub behaves when the civil registry is slow, failing,
hanging or losing answers. They are set at start (`hub siak serve --error-rate ...`) and replaced at
run time with `PUT /v1/_faults`. Decisions come from a `random.Random(seed)`, reseeded on every
change, so a run with the same faults and the same requests injects the same faults.

Per request, in this order: `latency_ms` is added; `down` answers 503; with probability
`error_rate` the request is answered 503 before anything is done; with probability `timeout_rate`
the server sleeps `timeout_sleep_s` first (the request is still carried out afterwards, as a slow
registry would: a client that timed out must retry with the same Idempotency-Key); with
probability `drop_after_write_rate` a POST is carried out and committed, then the connection is
closed after the status line, so the client sees a broken response, never an answer.

The reference-server endpoints under /v1/_ (faults, stats) are exempt from every fault.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from dataclasses import dataclass, field

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from hub.devtools.siak.server_problems import Refusal
from hub.observability.web import OPS_PATHS

CONTROL_PREFIX = "/v1/_"
INJECTED = "INJECTED-FAULT"
_WRITES = ("POST",)


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Faults:
    """Faults the reference server injects. All off by default."""

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Added to every request.")
    error_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of requests answered 503 before anything is done."
    )
    timeout_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of requests that sleep timeout_sleep_s first."
    )
    timeout_sleep_s: float = Field(default=30.0, ge=0, le=3600, description="How long a 'timeout' request sleeps.")
    drop_after_write_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of POSTs committed, then answered with a dropped connection."
    )
    down: bool = Field(default=False, description="Every request is answered 503.")
    seed: int = Field(default=0, description="Seed of the random decisions; reseeded whenever the faults change.")


@dataclass
class Stats:
    """What this server process did: new registrations (not replays), requests and injected faults."""

    births_registered: int = 0
    stillbirths: int = 0
    replays: int = 0
    requests: int = 0
    faults_injected: Counter = field(default_factory=Counter)

    def as_json(self) -> dict:
        return {
            "births_registered": self.births_registered,
            "stillbirths": self.stillbirths,
            "replays": self.replays,
            "requests": self.requests,
            "faults_injected": dict(sorted(self.faults_injected.items())),
        }


class DroppedConnection(Exception):
    """Raised after the status line of a response that the drop fault loses on purpose."""


@dataclass(frozen=True)
class _Plan:
    refusal: Refusal | None = None
    sleep_s: float = 0.0
    drop: bool = False


class FaultInjector:
    """The current faults and their random generator; `plan` decides one request's faults."""

    def __init__(self, faults: Faults) -> None:
        self.replace(faults)

    def replace(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)

    def plan(self, method: str, stats: Stats) -> _Plan:
        f = self.faults
        error, timeout, drop = self._random.random(), self._random.random(), self._random.random()
        if f.down:
            stats.faults_injected["down"] += 1
            return _Plan(Refusal(503, INJECTED, "the registry is down (injected fault: down)"))
        if error < f.error_rate:
            stats.faults_injected["error"] += 1
            return _Plan(Refusal(503, INJECTED, "injected fault: error_rate"))
        sleep_s = f.timeout_sleep_s if timeout < f.timeout_rate else 0.0
        if sleep_s:
            stats.faults_injected["timeout"] += 1
        return _Plan(sleep_s=sleep_s, drop=method in _WRITES and drop < f.drop_after_write_rate)


class FaultMiddleware:
    """ASGI middleware applying the injector's plan around every request outside /v1/_."""

    def __init__(self, app, injector: FaultInjector, stats: Stats) -> None:
        self.app, self.injector, self.stats = app, injector, stats

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPS_PATHS:
            await self.app(scope, receive, send)
            return
        self.stats.requests += 1
        if scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        plan = self.injector.plan(scope["method"], self.stats)
        if self.injector.faults.latency_ms:
            self.stats.faults_injected["latency"] += 1
            await asyncio.sleep(self.injector.faults.latency_ms / 1000)
        if plan.refusal is not None:
            await plan.refusal.response(headers={"Retry-After": "1"})(scope, receive, send)
            return
        if plan.sleep_s:
            receive = await _read_ahead(receive)  # so the request is carried out even if the client left
            await asyncio.sleep(plan.sleep_s)
        await self.app(scope, receive, self._dropping(send) if plan.drop else send)

    def _dropping(self, send):
        async def dropping_send(message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                await send(message)
                self.stats.faults_injected["drop_after_write"] += 1
                raise DroppedConnection("injected fault: drop_after_write")
            await send(message)

        return dropping_send


async def _read_ahead(receive):
    """Read the whole request body now; the returned `receive` hands it out again, then the live events."""
    early = []
    while True:
        message = await receive()
        early.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay():
        return early.pop(0) if early else await receive()

    return replay


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def quiet_dropped_connections() -> None:
    """Uvicorn logs the exception that closes a dropped connection as an error: it is on purpose."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
        logger.addFilter(_HideDroppedConnections())
