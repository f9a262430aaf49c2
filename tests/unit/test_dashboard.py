"""The dashboard without services: the day in WIB, what is counted where, the consumer lag's
timeout, failure and reuse, the chart's geometry, the texts made from figures, and the page and the
JSON API rendered from a snapshot in both languages (tests/browser/test_dashboard.py drives the
real thing)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from hub.config import Settings
from hub.console.app import create_console_app
from hub.console.pages.dashboard import backlog_text, hourly_chart, human_age, scale
from hub.service.accounts import SignedIn
from hub.service.dashboard import (
    AnswerCount,
    Backlog,
    Backlogs,
    Breaker,
    CodeCount,
    Dashboard,
    DayCounts,
    day_bounds,
)

WIB_MIDNIGHT = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 2026-12-01 00:00 WIB
REGIONS = {"3578": "KOTA SURABAYA", "3171": "KOTA ADM. JAKARTA SELATAN"}
TOPICS = Settings().topics
RS_A, RS_B = TOPICS.notifications_of("103578001"), TOPICS.notifications_of("103171001")  # two hospitals' topics


class FakeFigures:
    def __init__(self, counts: DayCounts, backlogs: Backlogs, breakers: list[Breaker] | None = None) -> None:
        self.counts, self._backlogs, self._breakers = counts, backlogs, breakers or []
        self.asked: list[tuple[datetime, datetime]] = []

    async def day(self, start: datetime, end: datetime) -> DayCounts:
        self.asked.append((start, end))
        return self.counts

    async def backlogs(self) -> Backlogs:
        return self._backlogs

    async def breakers(self) -> list[Breaker]:
        return self._breakers


class FakeLag:
    def __init__(
        self, lag: dict[tuple[str, int], tuple[int, float]] | None = None, *, fail: Exception | None = None
    ) -> None:
        self.lag, self.fail = lag or {}, fail
        self.samples = self.closed = 0
        self.hang = False
        self.running = 0

    async def sample(self) -> dict[tuple[str, int], tuple[int, float]]:
        self.samples += 1
        self.running += 1
        try:
            assert self.running == 1, "two readings at once"
            await asyncio.sleep(0.01)
            if self.hang:
                await asyncio.sleep(60)
            if self.fail is not None:
                raise self.fail
            return self.lag
        finally:
            self.running -= 1

    async def close(self) -> None:
        self.closed += 1


EMPTY = Backlogs(Backlog(0, None), Backlog(0, None), Backlog(0, None), Backlog(0, None), 0)


def answers(*rows: tuple[str, str, str | None, int, int]) -> tuple[AnswerCount, ...]:
    """(status, hospital, regency, hour, count)."""
    return tuple(AnswerCount(s, h, f"RS {h}" if r else None, r, hour, n) for s, h, r, hour, n in rows)


def dashboard(figures, lag, now: datetime, ticks=None, **options) -> Dashboard:
    return Dashboard(
        figures,
        lag,
        lambda: now,
        REGIONS.get,
        "embedded",
        **({"ticks": ticks} if ticks else {}),
        **options,
    )


# --- the use case ---------------------------------------------------------------------------


def test_today_is_the_day_in_jakarta_whatever_the_utc_date():
    start, end = day_bounds(datetime(2026, 11, 30, 17, 30, tzinfo=UTC))  # 00:30 WIB on 1 December
    assert start == WIB_MIDNIGHT and end - start == timedelta(days=1)
    start, _ = day_bounds(datetime(2026, 11, 30, 16, 59, tzinfo=UTC))  # 23:59 WIB on 30 November
    assert start == WIB_MIDNIGHT - timedelta(days=1)


async def test_registrations_are_counted_per_hour_regency_and_hospital_and_answers_per_status():
    counts = DayCounts(
        answers(
            ("registered", "103578001", "3578", 0, 2),
            ("registered", "103578001", "3578", 9, 3),
            ("registered", "103578002", "3578", 9, 1),
            ("registered", "103171001", "3171", 23, 4),
            ("rejected", "103578001", "3578", 9, 5),
            ("stillbirth-recorded", "103578001", "3578", 9, 1),
            ("rejected", "", None, 2, 1),  # a sender the hub could not read
        ),
        (CodeCount("MOTHER-NOT-FOUND", 4), CodeCount("SENDER-UNKNOWN", 1)),
        2,
    )
    figures = FakeFigures(counts, EMPTY)
    now = WIB_MIDNIGHT + timedelta(hours=9, minutes=15)
    snap = await dashboard(figures, FakeLag({(RS_A, 0): (0, 0.0)}), now).snapshot()

    assert figures.asked == [(WIB_MIDNIGHT, WIB_MIDNIGHT + timedelta(days=1))]
    assert snap.day == date(2026, 12, 1) and snap.current_hour == 9 and snap.time_zone == "Asia/Jakarta"
    assert snap.registered_today == 10
    assert snap.registered_per_hour[0] == 2 and snap.registered_per_hour[9] == 4 and snap.registered_per_hour[23] == 4
    assert sum(snap.registered_per_hour) == 10 and len(snap.registered_per_hour) == 24
    assert [(r.regency, r.name, r.registered) for r in snap.regencies] == [
        ("3578", "KOTA SURABAYA", 6),
        ("3171", "KOTA ADM. JAKARTA SELATAN", 4),
    ]
    assert [(h.hospital_id, h.registered, h.regency_name) for h in snap.hospitals] == [
        ("103578001", 5, "KOTA SURABAYA"),
        ("103171001", 4, "KOTA ADM. JAKARTA SELATAN"),
        ("103578002", 1, "KOTA SURABAYA"),
    ]
    assert snap.answers["registered"] == 10 and snap.answers["rejected"] == 6
    assert snap.answers["stillbirth-recorded"] == 1 and snap.answers["duplicate"] == 0  # every status shown
    assert snap.rejections == counts.rejections and snap.dead_letters == 2


async def test_the_lag_is_read_once_at_a_time_and_reused_for_a_few_seconds():
    lag = FakeLag({(RS_B, 1): (3, 12.5), (RS_A, 0): (0, 0.0), (RS_B, 0): (4, 30.0)})
    now = [100.0]
    board = dashboard(FakeFigures(DayCounts((), (), 0), EMPTY), lag, WIB_MIDNIGHT, ticks=lambda: now[0])
    first, second = await asyncio.gather(board.consumer_lag(), board.consumer_lag())
    assert lag.samples == 1 and first is second
    assert [(p.topic, p.partition) for p in first.partitions] == sorted([(RS_A, 0), (RS_B, 0), (RS_B, 1)])
    assert first.available and first.total_records == 7 and first.max_seconds == 30.0
    now[0] += 6
    await board.consumer_lag()
    assert lag.samples == 2


async def test_a_broker_that_fails_or_does_not_answer_makes_the_lag_unavailable_not_the_page():
    failing = FakeLag(fail=RuntimeError("KafkaConnectionError"))
    board = dashboard(FakeFigures(DayCounts((), (), 0), EMPTY), failing, WIB_MIDNIGHT, lag_cache_seconds=0)
    snap = await board.snapshot()
    assert not snap.lag.available and snap.lag.error == "RuntimeError" and snap.lag.partitions == ()
    assert failing.closed == 1  # the next reading connects afresh

    hanging = FakeLag({(RS_A, 0): (1, 1.0)})
    hanging.hang = True
    board = dashboard(FakeFigures(DayCounts((), (), 0), EMPTY), hanging, WIB_MIDNIGHT, lag_timeout=0.05)
    lag = await asyncio.wait_for(board.consumer_lag(), 2)
    assert not lag.available and lag.error == "TimeoutError" and hanging.closed == 1


# --- the chart and the texts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("most", "expected"),
    [(0, (1, 1)), (1, (1, 1)), (3, (3, 1)), (5, (5, 1)), (7, (8, 2)), (23, (25, 5)), (480, (500, 100))],
)
def test_the_axis_ends_on_a_round_number_with_at_most_five_steps(most, expected):
    assert scale(most) == expected


def test_bars_are_as_tall_as_their_counts_and_the_current_hour_is_marked():
    per_hour = [0] * 24
    per_hour[3], per_hour[9] = 2, 4
    chart = hourly_chart(per_hour, 9)
    bars = {b.hour: b for b in chart.bars}
    assert len(chart.bars) == 24 and chart.total == 6 and chart.most == 4
    assert bars[9].height == pytest.approx(2 * bars[3].height) and bars[0].height == 0
    assert bars[9].y + bars[9].height == pytest.approx(chart.bottom)  # standing on the baseline
    assert bars[9].current and not bars[3].current
    assert [t.value for t in chart.ticks] == [0, 1, 2, 3, 4]
    assert all(chart.left <= b.x and b.x + b.width <= chart.right for b in chart.bars)
    assert bars[9].y == pytest.approx(chart.top)  # the tallest bar reaches the top tick


def test_ages_read_in_the_largest_whole_unit_in_both_languages():
    assert human_age(20, "id") == "kurang dari semenit" and human_age(None, "en") == "under a minute"
    assert human_age(60, "en") == "1 minute" and human_age(150, "en") == "2 minutes"
    assert human_age(2 * 3600 + 59 * 60, "id") == "2 jam" and human_age(3600, "en") == "1 hour"
    assert human_age(3 * 86400 + 5, "id") == "3 hari" and human_age(86400, "en") == "1 day"
    assert backlog_text("reviews", Backlog(3, 7300), "id") == "3 kasus, tertua 2 jam"
    assert backlog_text("reviews", Backlog(1, 7300), "en") == "1 case, oldest 2 hours"
    assert backlog_text("outbox", Backlog(0, None), "id") == "Kosong"


# --- the page and the API from a snapshot ---------------------------------------------------


class FakeAccounts:
    async def session(self, token: str, *, touch: bool = True) -> SignedIn | None:
        if token != "officer-token":
            return None
        return SignedIn("officer", "Uji Petugas", "officer", "csrf", b"", datetime.now(UTC) + timedelta(hours=1))


@pytest.fixture
async def console():
    counts = DayCounts(
        answers(("registered", "103578001", "3578", 9, 3), ("rejected", "103578001", "3578", 9, 1)),
        (CodeCount("MOTHER-NOT-FOUND", 1),),
        0,
    )
    backlogs = Backlogs(Backlog(3, 7300), Backlog(0, None), Backlog(2, 65), Backlog(0, None), 0)
    breakers = [Breaker("host:1", "open", 5, WIB_MIDNIGHT), Breaker("host:2", "half-open", 5, WIB_MIDNIGHT)]
    board = dashboard(
        FakeFigures(counts, backlogs, breakers),
        FakeLag({(RS_A, 0): (2, 90.0), (RS_B, 0): (0, 0.0)}),
        WIB_MIDNIGHT + timedelta(hours=9),
    )
    desk = SimpleNamespace(accounts=FakeAccounts(), dashboard=board, settings=Settings())
    transport = httpx.ASGITransport(app=create_console_app(desk))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
        client.cookies.set("hub_console", "officer-token")
        yield client


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_the_page_shows_the_figures_in_either_language(console, lang):
    console.cookies.set("hub_lang", lang)
    page = (await console.get("/")).text
    assert re.search(r'id="registered-today">3<', page)
    assert re.search(r'<rect class="bar"[^>]*data-hour="9" data-count="3" data-current="true"', page)
    assert 'data-code="MOTHER-NOT-FOUND"' in page
    assert ("3 kasus, tertua 2 jam" if lang == "id" else "3 cases, oldest 2 hours") in page
    assert ("2 tugas, tertua 1 menit" if lang == "id" else "2 jobs, oldest 1 minute") in page
    assert 'class="badge bad"' in page and 'class="badge warn"' in page
    assert re.search(r'id="lag-total" data-records="2"', page)
    hospital_a = "103578001"  # one row per hospital (RS_A is its topic), its partitions summed
    assert re.search(rf'data-hospital="{re.escape(hospital_a)}" data-partitions="1" data-records="2"', page)
    assert "Asia/Jakarta" in page and " style=" not in page and "<script>" not in page
    assert not re.search(r"\b(dashboard|common)\.[a-z_.-]+\b", page.replace("/static/", ""))  # no key shown raw


async def test_the_api_gives_the_same_figures(console):
    body = (await console.get("/api/v1/dashboard")).json()
    assert body["registered_today"] == 3 and body["registered_per_hour"][9] == 3
    assert body["day"] == "2026-12-01" and body["time_zone"] == "Asia/Jakarta"
    assert body["rejections_today"] == [{"code": "MOTHER-NOT-FOUND", "messages": 1}]
    assert body["backlogs"]["reviews"] == {"count": 3, "oldest_seconds": 7300.0}
    assert body["consumer_lag"]["total_records"] == 2 and body["consumer_lag"]["available"] is True
    assert [(p["topic"], p["partition"], p["records"]) for p in body["consumer_lag"]["partitions"]] == sorted(
        [(RS_A, 0, 2), (RS_B, 0, 0)]
    )
    assert [b["state"] for b in body["breakers"]] == ["open", "half-open"]
    assert body["per_regency"] == [{"regency": "3578", "name": "KOTA SURABAYA", "registered": 3}]


async def test_without_a_session_the_api_answers_401(console):
    console.cookies.clear()
    answer = await console.get("/api/v1/dashboard")
    assert answer.status_code == 401
