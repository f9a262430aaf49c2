"""The console's dashboard (issue #11): today's registrations and answers, the work waiting, the
registry's circuit breakers and the consumer lag.

GET  /                  the dashboard (dashboard.view: every role)
GET  /api/v1/dashboard  the same figures as JSON

"Today" is the calendar day in Asia/Jakarta (WIB); the page says so. The figures come from the
BackOffice's dashboard use case (hub.service.dashboard.Dashboard); the chart of registrations per
hour is an inline SVG drawn here (no script, no inline style: the Content-Security-Policy forbids
both), with a table of the same numbers for screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hub.console import i18n
from hub.console.web import desk, language, render, viewer
from hub.service.accounts import SignedIn
from hub.service.dashboard import HOURS, TIME_ZONE, ZONE, Backlog, Snapshot

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["dashboard"])

BACKLOGS = ("reviews", "outbox", "documents", "registry")
BREAKER_BADGES = {"closed": "ok", "half-open": "warn", "open": "bad"}

i18n.register(
    {
        "dashboard.today": (
            "Hari ini, {day} — hari kalender zona waktu Asia/Jakarta (WIB, UTC+7).",
            "Today, {day} — the calendar day in the Asia/Jakarta time zone (WIB, UTC+7).",
        ),
        "dashboard.taken": ("Diperbarui {time} WIB.", "As of {time} WIB."),
        "dashboard.reload": ("Muat ulang", "Reload"),
        "dashboard.registered_today": ("Kelahiran terdaftar hari ini", "Births registered today"),
        "dashboard.rejected_today": ("Ditolak hari ini", "Rejected today"),
        "dashboard.stillbirths_today": ("Lahir mati dicatat hari ini", "Stillbirths recorded today"),
        "dashboard.dead_letters_today": ("Pesan tak terbaca (DLQ) hari ini", "Unreadable messages (DLQ) today"),
        # the chart
        "dashboard.per_hour": ("Kelahiran terdaftar per jam hari ini", "Births registered per hour today"),
        "dashboard.chart.summary": (
            "Diagram batang: {total} kelahiran terdaftar hari ini, terbanyak {most} dalam satu jam. "
            "Angka yang sama ada di tabel di bawahnya.",
            "Bar chart: {total} births registered today, at most {most} in one hour. "
            "The same numbers are in the table below it.",
        ),
        "dashboard.chart.hour_axis": ("Jam (WIB)", "Hour (WIB)"),
        "dashboard.chart.count_axis": ("Kelahiran", "Births"),
        "dashboard.chart.bar": ("{hour}:00–{hour}:59 WIB: {n}", "{hour}:00–{hour}:59 WIB: {n}"),
        "dashboard.chart.table": ("Tabel kelahiran per jam", "Table of births per hour"),
        "dashboard.hour": ("Jam (WIB)", "Hour (WIB)"),
        "dashboard.count": ("Jumlah", "Count"),
        "dashboard.now": ("sekarang", "now"),
        # per regency and hospital
        "dashboard.per_regency": ("Per kabupaten/kota (lokasi rumah sakit)", "Per regency (of the hospital)"),
        "dashboard.per_hospital": ("Per rumah sakit", "Per hospital"),
        "dashboard.regency": ("Kabupaten/kota", "Regency"),
        "dashboard.hospital": ("Rumah sakit", "Hospital"),
        "dashboard.registered": ("Terdaftar", "Registered"),
        "dashboard.unknown": ("tidak dikenal", "unknown"),
        "dashboard.none_today": ("Belum ada hari ini.", "None yet today."),
        # answers and rejections
        "dashboard.answers": ("Jawaban hari ini menurut hasil", "Today's answers by outcome"),
        "dashboard.answer.registered": ("Terdaftar", "Registered"),
        "dashboard.answer.duplicate": ("Duplikat", "Duplicate"),
        "dashboard.answer.stillbirth-recorded": ("Lahir mati dicatat", "Stillbirth recorded"),
        "dashboard.answer.review-pending": ("Menunggu verifikasi", "Awaiting review"),
        "dashboard.answer.rejected": ("Ditolak", "Rejected"),
        "dashboard.answer.registry-pending": ("Menunggu registri", "Awaiting the registry"),
        "dashboard.rejections": ("Penolakan hari ini menurut kode", "Today's rejections by code"),
        "dashboard.code": ("Kode", "Code"),
        "dashboard.meaning": ("Arti", "Meaning"),
        "dashboard.messages": ("Pesan", "Messages"),
        # backlogs
        "dashboard.backlogs": ("Pekerjaan yang menunggu", "Work waiting"),
        "dashboard.backlog.reviews": ("Antrean verifikasi", "Review queue"),
        "dashboard.backlog.outbox": ("Outbox belum terkirim", "Outbox not yet published"),
        "dashboard.backlog.documents": ("Dokumen belum dibuat", "Documents not yet made"),
        "dashboard.backlog.registry": ("Penulisan ke registri (SIAK)", "Registry writes (SIAK)"),
        "dashboard.backlog.reviews.one": ("{n} kasus, tertua {age}", "{n} case, oldest {age}"),
        "dashboard.backlog.reviews.other": ("{n} kasus, tertua {age}", "{n} cases, oldest {age}"),
        "dashboard.backlog.outbox.one": ("{n} pesan, tertua {age}", "{n} message, oldest {age}"),
        "dashboard.backlog.outbox.other": ("{n} pesan, tertua {age}", "{n} messages, oldest {age}"),
        "dashboard.backlog.documents.one": ("{n} tugas, tertua {age}", "{n} job, oldest {age}"),
        "dashboard.backlog.documents.other": ("{n} tugas, tertua {age}", "{n} jobs, oldest {age}"),
        "dashboard.backlog.registry.one": ("{n} penulisan, tertua {age}", "{n} write, oldest {age}"),
        "dashboard.backlog.registry.other": ("{n} penulisan, tertua {age}", "{n} writes, oldest {age}"),
        "dashboard.backlog.empty": ("Kosong", "Empty"),
        "dashboard.backlog.failed": (
            "{n} penulisan gagal permanen (lihat `hub registry`)",
            "{n} writes failed for good (see `hub registry`)",
        ),
        "dashboard.age.moment": ("kurang dari semenit", "under a minute"),
        "dashboard.age.minute": ("{n} menit", "{n} minute"),
        "dashboard.age.minutes": ("{n} menit", "{n} minutes"),
        "dashboard.age.hour": ("{n} jam", "{n} hour"),
        "dashboard.age.hours": ("{n} jam", "{n} hours"),
        "dashboard.age.day": ("{n} hari", "{n} day"),
        "dashboard.age.days": ("{n} hari", "{n} days"),
        # the registry's circuit breakers
        "dashboard.breakers": ("Pemutus sirkuit registri", "Registry circuit breakers"),
        "dashboard.breakers.embedded": (
            "Registri tertanam (di basis data hub): tidak ada panggilan jaringan, tidak ada pemutus sirkuit.",
            "Embedded registry (in the hub's database): no network calls, no circuit breaker.",
        ),
        "dashboard.breakers.none": (
            "Belum ada proses hub yang melaporkan pemutus sirkuitnya.",
            "No hub process has reported its circuit breaker yet.",
        ),
        "dashboard.breaker.process": ("Proses hub", "Hub process"),
        "dashboard.breaker.state": ("Keadaan", "State"),
        "dashboard.breaker.failures": ("Kegagalan", "Failures"),
        "dashboard.breaker.since": ("Sejak", "Since"),
        "dashboard.breaker.closed": ("tertutup · normal", "closed · normal"),
        "dashboard.breaker.half-open": ("setengah terbuka · mencoba lagi", "half-open · trying again"),
        "dashboard.breaker.open": ("terbuka · registri tidak dipanggil", "open · registry not called"),
        # consumer lag
        "dashboard.lag": ("Lag konsumen", "Consumer lag"),
        "dashboard.lag.intro": (
            "Pemberitahuan di topik rumah sakit ({topic}.<id organisasi>) yang belum diproses grup konsumen {group}.",
            "Notifications on the hospitals' topics ({topic}.<organisation id>) that the consumer group {group} has not processed yet.",
        ),
        "dashboard.lag.unavailable": (
            "Lag konsumen tidak tersedia: Kafka tidak menjawab ({error}). Angka lain di halaman ini tetap berlaku.",
            "The consumer lag is unavailable: Kafka did not answer ({error}). The other figures on this page stand.",
        ),
        "dashboard.lag.topic": ("Topik", "Topic"),
        "dashboard.lag.hospital": ("Rumah sakit", "Hospital"),
        "dashboard.lag.partitions": ("Partisi", "Partitions"),
        "dashboard.lag.partition": ("Partisi", "Partition"),
        "dashboard.lag.records": ("Pesan tertinggal", "Records behind"),
        "dashboard.lag.seconds": ("Tertinggal sejak", "Behind by"),
        "dashboard.lag.total": ("Jumlah", "Total"),
        "dashboard.lag.caught_up": ("terkejar", "caught up"),
    }
)


# --- the chart --------------------------------------------------------------------------------

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 22, 46  # margins: tick labels left, counts above, hours and the title below


@dataclass(frozen=True)
class Bar:
    hour: int
    count: int
    x: float  # the bar's left edge
    y: float  # its top
    width: float
    height: float
    middle: float  # the centre of its slot (labels)
    current: bool


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float  # the plot's right edge
    top: int
    bottom: float  # the plot's baseline
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    total: int
    most: int


def scale(most: int, max_ticks: int = 5) -> tuple[int, int]:
    """(top of the axis, step between ticks): whole numbers, a step of 1, 2 or 5 times a power of ten."""
    if most <= 0:
        return 1, 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(most / step) <= max_ticks:
                return step * math.ceil(most / step), step
        magnitude *= 10


def hourly_chart(per_hour: tuple[int, ...] | list[int], current_hour: int) -> Chart:
    assert len(per_hour) == HOURS
    top_value, step = scale(max(per_hour))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = plot_width / HOURS
    width = slot * 0.7
    bars = []
    for hour, count in enumerate(per_hour):
        height = plot_height * count / top_value
        x = LEFT + hour * slot + (slot - width) / 2
        bars.append(
            Bar(
                hour,
                count,
                x=round(x, 2),
                y=round(baseline - height, 2),
                width=round(width, 2),
                height=round(height, 2),
                middle=round(LEFT + (hour + 0.5) * slot, 2),
                current=hour == current_hour,
            )
        )
    ticks = tuple(Tick(v, round(baseline - plot_height * v / top_value, 2)) for v in range(0, top_value + 1, step))
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, baseline, tuple(bars), ticks, sum(per_hour), max(per_hour))


# --- texts made from figures ------------------------------------------------------------------


def human_age(seconds: float | None, lang: str) -> str:
    """How old, in the largest whole unit: "2 jam", "under a minute"."""
    seconds = max(0.0, seconds or 0.0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return i18n.text(f"dashboard.age.{unit}{'' if n == 1 else 's'}", lang, n=n)
    return i18n.text("dashboard.age.moment", lang)


def backlog_text(kind: str, backlog: Backlog, lang: str) -> str:
    """'3 kasus, tertua 2 jam' (or 'Kosong')."""
    if backlog.count == 0:
        return i18n.text("dashboard.backlog.empty", lang)
    key = f"dashboard.backlog.{kind}.{'one' if backlog.count == 1 else 'other'}"
    return i18n.text(key, lang, n=backlog.count, age=human_age(backlog.oldest_seconds, lang))


def wib(moment: datetime, with_date: bool = True) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def breaker_badge(state: str) -> str:
    return BREAKER_BADGES.get(state, "")


# --- the page ---------------------------------------------------------------------------------


@pages.get("/")
async def home(request: Request, user: Annotated[SignedIn, Depends(viewer("dashboard.view"))]):
    snapshot = await desk(request).dashboard.snapshot()
    lang = language(request)
    settings = desk(request).settings
    return render(
        request,
        "dashboard/index.html",
        s=snapshot,
        chart=hourly_chart(snapshot.registered_per_hour, snapshot.current_hour),
        backlogs=[(kind, getattr(snapshot.backlogs, kind)) for kind in BACKLOGS],
        backlog_text=lambda kind, backlog: backlog_text(kind, backlog, lang),
        age=lambda seconds: human_age(seconds, lang),
        meaning=lambda code: i18n.code_meaning(code, lang),
        wib=wib,
        badge=breaker_badge,
        topic=settings.topics.notifications,
        group=settings.consumer_group,
        lag_rows=lag_by_hospital(snapshot.lag.partitions, settings.topics),
    )


@dataclass(frozen=True)
class HospitalLag:
    hospital_id: str
    partitions: int
    records: int
    seconds: float  # the oldest record behind, over its partitions


def lag_by_hospital(partitions, topics) -> list[HospitalLag]:
    """The lag per hospital (its notification topic's partitions summed): one row per hospital
    reads on a tablet; the API gives every partition."""
    grouped: dict[str, list] = {}
    for p in partitions:
        grouped.setdefault(topics.hospital_of(p.topic) or p.topic, []).append(p)
    return [
        HospitalLag(hospital, len(rows), sum(r.records for r in rows), max((r.seconds for r in rows), default=0.0))
        for hospital, rows in sorted(grouped.items())
    ]


# --- the JSON API -----------------------------------------------------------------------------


class BacklogOut(BaseModel):
    count: int
    oldest_seconds: float | None = Field(description="Age of the oldest waiting item; null when none waits.")


class BacklogsOut(BaseModel):
    reviews: BacklogOut = Field(description="Open review cases.")
    outbox: BacklogOut = Field(description="Results and events not yet published to Kafka.")
    documents: BacklogOut = Field(description="Document jobs (akta, KK) not yet made.")
    registry: BacklogOut = Field(description="Registry (SIAK) writes waiting or retrying.")
    registry_failed: int = Field(description="Registry writes that failed for good.")


class RegencyOut(BaseModel):
    regency: str = Field(description="4-digit regency code of the sending hospital ('' when unknown).")
    name: str | None
    registered: int


class HospitalOut(BaseModel):
    hospital_id: str
    name: str | None
    regency: str | None
    regency_name: str | None
    registered: int


class RejectionOut(BaseModel):
    code: str
    messages: int = Field(description="Notifications rejected today with this code.")


class BreakerOut(BaseModel):
    process: str
    state: str = Field(description="closed | half-open | open")
    failures: int
    changed_at: datetime


class PartitionLagOut(BaseModel):
    topic: str
    partition: int
    records: int
    seconds: float


class LagOut(BaseModel):
    topic: str
    group: str
    available: bool = Field(description="False when Kafka did not answer; `error` then names the failure.")
    error: str | None
    partitions: list[PartitionLagOut]
    total_records: int
    max_seconds: float


class DashboardOut(BaseModel):
    day: date = Field(description="Today: the calendar day in the time zone below.")
    time_zone: str = Field(TIME_ZONE, description="Always Asia/Jakarta (WIB, UTC+7).")
    day_start: datetime
    taken_at: datetime
    registered_today: int
    registered_per_hour: list[int] = Field(description="24 counts: 00:00-00:59 WIB first.")
    per_regency: list[RegencyOut]
    per_hospital: list[HospitalOut]
    answers_today: dict[str, int] = Field(description="Today's answers by result status.")
    rejections_today: list[RejectionOut] = Field(description="Codes of today's rejections, most frequent first.")
    dead_letters_today: int
    backlogs: BacklogsOut
    registry: str = Field(description="The civil registry: embedded | siak-http.")
    breakers: list[BreakerOut] = Field(description="Each hub process's registry circuit breaker (siak-http).")
    consumer_lag: LagOut


def _backlog(b: Backlog) -> BacklogOut:
    return BacklogOut(count=b.count, oldest_seconds=b.oldest_seconds)


def dashboard_out(s: Snapshot, topic: str, group: str) -> DashboardOut:
    return DashboardOut(
        day=s.day,
        time_zone=s.time_zone,
        day_start=s.day_start,
        taken_at=s.taken_at,
        registered_today=s.registered_today,
        registered_per_hour=list(s.registered_per_hour),
        per_regency=[RegencyOut(regency=r.regency, name=r.name, registered=r.registered) for r in s.regencies],
        per_hospital=[
            HospitalOut(
                hospital_id=h.hospital_id,
                name=h.name,
                regency=h.regency,
                regency_name=h.regency_name,
                registered=h.registered,
            )
            for h in s.hospitals
        ],
        answers_today=dict(s.answers),
        rejections_today=[RejectionOut(code=r.code, messages=r.count) for r in s.rejections],
        dead_letters_today=s.dead_letters,
        backlogs=BacklogsOut(
            reviews=_backlog(s.backlogs.reviews),
            outbox=_backlog(s.backlogs.outbox),
            documents=_backlog(s.backlogs.documents),
            registry=_backlog(s.backlogs.registry),
            registry_failed=s.backlogs.registry_failed,
        ),
        registry=s.registry,
        breakers=[
            BreakerOut(process=b.process, state=b.state, failures=b.failures, changed_at=b.changed_at)
            for b in s.breakers
        ],
        consumer_lag=LagOut(
            topic=topic,
            group=group,
            available=s.lag.available,
            error=s.lag.error,
            partitions=[
                PartitionLagOut(topic=p.topic, partition=p.partition, records=p.records, seconds=p.seconds)
                for p in s.lag.partitions
            ],
            total_records=s.lag.total_records,
            max_seconds=s.lag.max_seconds,
        ),
    )


@api.get("/dashboard", response_model=DashboardOut)
async def api_dashboard(request: Request, user: Annotated[SignedIn, Depends(viewer("dashboard.view"))]):
    """Today's registrations (per hour, regency and hospital), answers and rejections; the backlogs
    with the age of their oldest item; the registry's circuit breakers; the consumer lag. "Today" is
    the calendar day in Asia/Jakarta (WIB)."""
    settings = desk(request).settings
    return dashboard_out(
        await desk(request).dashboard.snapshot(), settings.topics.notifications, settings.consumer_group
    )
