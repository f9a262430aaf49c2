"""Use case: the back-office dashboard, one consistent picture of today and of the work waiting.

"Today" is the calendar day in Asia/Jakarta (WIB, UTC+7, no daylight saving), from 00:00 to 24:00
WIB, whatever the server's time zone. Answers are counted from the inbox, the hub's own ledger of
every notification it answered, so the figures are the same with the embedded registry and with
SIAK: a notification counts on the day its current answer was decided (a review decided today, a
registry write confirmed today), and a later document correction does not count it again.

Per regency means the regency of the hospital that sent the notification. The backlogs (review
cases, unpublished outbox rows, document jobs, registry writes) and the registry's circuit
breakers are read as they are now. The consumer lag is read from Kafka, at most every
`lag_cache_seconds` and within `lag_timeout` seconds: a broker that does not answer makes the lag
"unavailable", never the dashboard.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Protocol
from zoneinfo import ZoneInfo

from hub.domain.outcomes import ResultStatus

log = logging.getLogger("hub.dashboard")

TIME_ZONE = "Asia/Jakarta"
ZONE = ZoneInfo(TIME_ZONE)
HOURS = 24


# --- what the read model answers (the port) --------------------------------------------------


@dataclass(frozen=True)
class AnswerCount:
    """Answers of one status from one hospital in one hour of the day (0-23, WIB)."""

    status: str
    hospital_id: str  # '' for a message whose sender could not be read
    hospital_name: str | None  # None: not a known hospital
    regency: str | None  # the hospital's regency (4 digits)
    hour: int
    count: int


@dataclass(frozen=True)
class CodeCount:
    code: str
    count: int


@dataclass(frozen=True)
class DayCounts:
    answers: tuple[AnswerCount, ...]
    rejections: tuple[CodeCount, ...]  # codes of today's rejections: messages per code, most first
    dead_letters: int  # unreadable deliveries kept on the DLQ today


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest_seconds: float | None  # the age of the oldest waiting item; None when nothing waits


@dataclass(frozen=True)
class Backlogs:
    reviews: Backlog  # open review cases
    outbox: Backlog  # results and events not yet published
    documents: Backlog  # document jobs not yet done
    registry: Backlog  # registry writes waiting or retrying (SIAK)
    registry_failed: int  # registry writes that failed for good


@dataclass(frozen=True)
class Breaker:
    process: str
    state: str  # closed | half-open | open
    failures: int
    changed_at: datetime


class DashboardFigures(Protocol):
    """The dashboard's read model."""

    async def day(self, start: datetime, end: datetime) -> DayCounts:
        """Answers decided in [start, end), by status, hospital and hour since `start`."""
        ...

    async def backlogs(self) -> Backlogs: ...

    async def breakers(self) -> list[Breaker]: ...


class LagSampler(Protocol):
    """The consumer group's lag on the hospitals' notification topics: {(topic, partition): (records, seconds)}."""

    async def sample(self) -> dict[tuple[str, int], tuple[int, float]]: ...

    async def close(self) -> None: ...


# --- what the dashboard shows -----------------------------------------------------------------


@dataclass(frozen=True)
class RegencyCount:
    regency: str
    name: str | None
    registered: int


@dataclass(frozen=True)
class HospitalCount:
    hospital_id: str
    name: str | None
    regency: str | None
    regency_name: str | None
    registered: int


@dataclass(frozen=True)
class PartitionLag:
    topic: str  # a hospital's notification topic
    partition: int
    records: int
    seconds: float


@dataclass(frozen=True)
class Lag:
    available: bool
    partitions: tuple[PartitionLag, ...]
    error: str | None = None  # the kind of failure when unavailable (no details)

    @property
    def total_records(self) -> int:
        return sum(p.records for p in self.partitions)

    @property
    def max_seconds(self) -> float:
        return max((p.seconds for p in self.partitions), default=0.0)


@dataclass(frozen=True)
class Snapshot:
    day: date
    day_start: datetime
    taken_at: datetime
    current_hour: int
    registered_per_hour: tuple[int, ...]  # 24 numbers, 00:00-00:59 WIB first
    regencies: tuple[RegencyCount, ...]
    hospitals: tuple[HospitalCount, ...]
    answers: dict[str, int]  # every result status, 0 when none today
    rejections: tuple[CodeCount, ...]
    dead_letters: int
    backlogs: Backlogs
    registry: str  # the registry kind: embedded | siak-http
    breakers: tuple[Breaker, ...]
    lag: Lag

    @property
    def registered_today(self) -> int:
        return sum(self.registered_per_hour)

    @property
    def time_zone(self) -> str:
        return TIME_ZONE


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[00:00, 24:00) WIB of the day `now` falls on."""
    start = datetime.combine(now.astimezone(ZONE).date(), time(0), tzinfo=ZONE)
    return start, start + timedelta(days=1)


def summarise(
    counts: DayCounts, region_name: Callable[[str], str | None]
) -> tuple[tuple[int, ...], tuple[RegencyCount, ...], tuple[HospitalCount, ...], dict[str, int]]:
    """Per hour, per regency and per hospital (registrations), and answers by status."""
    per_hour = [0] * HOURS
    answers = {status.value: 0 for status in ResultStatus}
    hospitals: dict[str, list] = {}
    for a in counts.answers:
        answers[a.status] = answers.get(a.status, 0) + a.count
        if a.status != ResultStatus.REGISTERED:
            continue
        per_hour[min(max(a.hour, 0), HOURS - 1)] += a.count
        found = hospitals.setdefault(a.hospital_id, [a.hospital_name, a.regency, 0])
        found[2] += a.count
    by_hospital = tuple(
        sorted(
            (
                HospitalCount(hid, name, regency, region_name(regency) if regency else None, n)
                for hid, (name, regency, n) in hospitals.items()
            ),
            key=lambda h: (-h.registered, h.hospital_id),
        )
    )
    regencies: dict[str, int] = {}
    for h in by_hospital:
        regencies[h.regency or ""] = regencies.get(h.regency or "", 0) + h.registered
    by_regency = tuple(
        sorted(
            (RegencyCount(code, region_name(code) if code else None, n) for code, n in regencies.items()),
            key=lambda r: (-r.registered, r.regency),
        )
    )
    return tuple(per_hour), by_regency, by_hospital, answers


class Dashboard:
    def __init__(
        self,
        figures: DashboardFigures,
        lag: LagSampler,
        clock: Callable[[], datetime],
        region_name: Callable[[str], str | None],
        registry: str,
        *,
        lag_timeout: float = 5.0,
        lag_cache_seconds: float = 5.0,
        ticks: Callable[[], float] = monotonic,
    ) -> None:
        self._figures, self._lag, self._clock, self._region_name = figures, lag, clock, region_name
        self._registry = registry
        self._lag_timeout, self._lag_cache = lag_timeout, lag_cache_seconds
        self._ticks = ticks
        self._lag_lock = asyncio.Lock()
        self._last_lag: tuple[float, Lag] | None = None

    async def snapshot(self) -> Snapshot:
        now = self._clock()
        start, end = day_bounds(now)
        counts, backlogs, breakers, lag = await asyncio.gather(
            self._figures.day(start, end), self._figures.backlogs(), self._figures.breakers(), self.consumer_lag()
        )
        per_hour, regencies, hospitals, answers = summarise(counts, self._region_name)
        return Snapshot(
            day=start.date(),
            day_start=start,
            taken_at=now,
            current_hour=now.astimezone(ZONE).hour,
            registered_per_hour=per_hour,
            regencies=regencies,
            hospitals=hospitals,
            answers=answers,
            rejections=counts.rejections,
            dead_letters=counts.dead_letters,
            backlogs=backlogs,
            registry=self._registry,
            breakers=tuple(breakers),
            lag=lag,
        )

    async def consumer_lag(self) -> Lag:
        """One reading at a time (the sampler's reader is not shared), reused for a few seconds."""
        async with self._lag_lock:
            if self._last_lag is not None and self._ticks() - self._last_lag[0] < self._lag_cache:
                return self._last_lag[1]
            lag = await self._read_lag()
            self._last_lag = (self._ticks(), lag)
            return lag

    async def _read_lag(self) -> Lag:
        try:
            sampled = await asyncio.wait_for(self._lag.sample(), self._lag_timeout)
        except Exception as exc:  # noqa: BLE001 - a broker that does not answer makes the lag unavailable, not the page
            log.warning("consumer lag unavailable error=%s", type(exc).__name__)
            await self._reset_lag()
            return Lag(False, (), type(exc).__name__)
        return Lag(
            True,
            tuple(
                PartitionLag(topic, p, records, seconds) for (topic, p), (records, seconds) in sorted(sampled.items())
            ),
        )

    async def _reset_lag(self) -> None:
        """Drop the sampler's clients after a failure: the next reading connects afresh."""
        try:
            await asyncio.wait_for(self._lag.close(), self._lag_timeout)
        except Exception as exc:  # noqa: BLE001 - closing a broken client may fail too; it is dropped either way
            log.debug("consumer lag client not closed cleanly error=%s", type(exc).__name__)

    async def close(self) -> None:
        await self._reset_lag()
