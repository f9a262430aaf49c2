"""`hub demo`: synthetic hospitals publish births for seeded mothers; answers are matched and counted live.

Notifications (some twins, stillbirths and deliberate mistakes) go out at a steady rate, each as its
hospital would send it: through that hospital's own Kafka principal, to its own notification topic,
signed with its key (hub/devtools/local_hospitals.py: a seeded hospital gets development credentials
on first use). Each hospital's results topic is read as that hospital, from the end offsets taken
before the first send. Shows ids and counts only, never names or NIKs. Ctrl-C stops it cleanly and
still prints what was counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import random
import signal
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table

from hub.config import Settings
from hub.devtools.local_hospitals import LocalHospital, local_hospital
from hub.devtools.simulation.bundles import BirthSpec, Parent, build_notification, record_key
from hub.devtools.simulation.demo_stats import (
    MISTAKES,
    Tally,
    figures,
    kind_rows,
    read_result,
    utc_offset_hours,
)
from hub.devtools.simulation.population import GIVEN_F, GIVEN_M
from hub.domain.decision import MIN_BIRTH_INTERVAL
from hub.errors import HubError
from hub.intake import vocabulary as v

TWIN_SHARE, STILLBIRTH_SHARE = 0.05, 0.01
ANSWER_TIMEOUT_S = 30.0
_MOTHERS = f"""
SELECT m.nik, m.name, m.birth_date, m.kk_number, f.kecamatan, h.nik AS father_nik, h.name AS father_name,
       EXISTS (SELECT 1 FROM births b WHERE b.mother_nik = m.nik
               AND b.born_at > now() - interval '{MIN_BIRTH_INTERVAL.days + 2} days') AS recent
FROM persons m JOIN families f ON f.kk_number = m.kk_number
JOIN persons h ON h.kk_number = m.kk_number AND h.relationship = 'KEPALA KELUARGA'
WHERE m.relationship = 'ISTRI' AND m.alive ORDER BY m.nik"""
_HOSPITALS = "SELECT org_id, regency FROM hospitals WHERE active ORDER BY org_id"


@dataclass(frozen=True)
class Mother:
    parent: Parent
    father: Parent
    kecamatan: str
    recent: bool  # a birth within the duplicate window already: a new one goes to review


async def load_registry(dsn: str) -> tuple[list[Mother], list[tuple[str, str]]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows, hospitals = await conn.fetch(_MOTHERS), await conn.fetch(_HOSPITALS)
    finally:
        await conn.close()
    mothers = [
        Mother(
            Parent(row["nik"], row["name"], row["birth_date"], row["kk_number"]),
            Parent(row["father_nik"], row["father_name"]),
            row["kecamatan"],
            row["recent"],
        )
        for row in rows
    ]
    return mothers, [(h["org_id"], h["regency"]) for h in hospitals]


def plan_notifications(
    rng: random.Random,
    mothers: list[Mother],
    hospitals: list[tuple[str, str]],
    count: int,
    invalid_share: float,
    now: datetime,
) -> list[tuple[str, BirthSpec]]:
    """`count` notifications as (kind, spec); mothers without a recent birth first, each once if possible."""
    fresh, recent = [m for m in mothers if not m.recent], [m for m in mothers if m.recent]
    rng.shuffle(fresh)
    rng.shuffle(recent)
    order, adults = fresh + recent, sorted({n for m in mothers for n in (m.parent.nik, m.father.nik)})
    planned: list[tuple[str, BirthSpec]] = []
    for delivery in itertools.count():
        if len(planned) >= count:
            break
        mother = order[delivery % len(order)]
        repeat = mother.recent or delivery >= len(order)  # her earlier birth is still in the duplicate window
        twins = count - len(planned) >= 2 and rng.random() < TWIN_SHARE
        planned += _delivery(rng, mother, hospitals, adults, twins, repeat, now)
    return [_maybe_mistake(rng, kind, spec, invalid_share) for kind, spec in planned]


def _delivery(
    rng: random.Random,
    mother: Mother,
    hospitals: list[tuple[str, str]],
    adults: list[str],
    twins: bool,
    repeat: bool,
    now: datetime,
) -> list[tuple[str, BirthSpec]]:
    local = [h for h in hospitals if h[1] == mother.kecamatan[:4]]
    hospital_id, regency = rng.choice(local or hospitals)
    zone = timezone(timedelta(hours=utc_offset_hours(regency)))
    born = (now.astimezone(zone) - timedelta(seconds=rng.uniform(3600, 48 * 3600))).replace(microsecond=0)
    parents = (mother.parent.nik, mother.father.nik)
    witnesses = tuple(n for n in rng.sample(adults, min(4, len(adults))) if n not in parents)[:2]
    base = BirthSpec(
        hospital_id=hospital_id,
        encounter_id=f"DEMO-{uuid.uuid4()}",
        mother=mother.parent,
        father=mother.father,
        child_name="",
        sex="female",
        born_at=born,
        reporter_nik=mother.father.nik,
        witness_niks=witnesses,
        hospital_name=f"RS Sintetis {regency}",
        weight_g=rng.randint(2600, 4100),
        length_cm=round(rng.uniform(46, 53), 1),
        gestational_weeks=float(rng.randint(37, 41)),
    )
    if twins:
        return [
            (
                "repeat-mother" if repeat else "twin",
                _child(
                    rng,
                    replace(
                        base,
                        message_id=str(uuid.uuid4()),
                        birth_order=order,
                        plurality=2,
                        born_at=born + timedelta(minutes=7 * (order - 1)),
                        weight_g=rng.randint(1900, 2800),
                        gestational_weeks=36.0,
                    ),
                ),
            )
            for order in (1, 2)
        ]
    if rng.random() < STILLBIRTH_SHARE:
        return [
            (
                "stillbirth",
                _child(
                    rng,
                    replace(
                        base,
                        stillborn=True,
                        weight_g=rng.randint(900, 2500),
                        gestational_weeks=float(rng.randint(28, 38)),
                    ),
                ),
            )
        ]
    return [("repeat-mother" if repeat else "valid", _child(rng, base))]


def _child(rng: random.Random, spec: BirthSpec) -> BirthSpec:
    sex = rng.choice(("male", "female"))
    surname = spec.father.name.split()[-1] if spec.father else "Putra"
    return replace(spec, sex=sex, child_name=f"{rng.choice(GIVEN_M if sex == 'male' else GIVEN_F)} {surname}")


def _maybe_mistake(rng: random.Random, kind: str, spec: BirthSpec, share: float) -> tuple[str, BirthSpec]:
    if rng.random() >= share:
        return kind, spec
    mistake = rng.choice(MISTAKES)
    if mistake == "placeholder-name":
        return mistake, replace(spec, child_name=f"Bayi Ny. {spec.mother.name.split()[0]}")
    if mistake == "weight-in-kg":
        return mistake, spec  # applied to the document: see notification()
    assert spec.mother.kk_number is not None  # load_registry's mothers all belong to a family card
    # Recorded on 1 January 2000: older than any seeded or issued card, so this KK exists nowhere.
    unknown = f"{spec.mother.kk_number[:6]}010100{rng.randint(1, 9999):04d}"
    return mistake, replace(spec, mother=replace(spec.mother, kk_number=unknown))


def notification(kind: str, spec: BirthSpec) -> dict:
    """The FHIR Bundle for a planned notification; a weight-in-kg mistake says 3.2 kg where 3200 g belongs."""
    document = build_notification(spec)
    for entry in document["entry"] if kind == "weight-in-kg" else ():
        resource = entry["resource"]
        if resource["resourceType"] == "Observation" and resource["code"]["coding"][0]["code"] == v.BIRTH_WEIGHT:
            resource["valueQuantity"].update(value=round(spec.weight_g / 1000, 2), unit="kg", code="kg")
    return document


@dataclass
class Sender:
    """One hospital of the demo, connected as its own Kafka principal: it writes its notification
    topic and reads its results topic, and Kafka refuses it any other hospital's."""

    hospital: LocalHospital
    notifications: str
    results: str
    producer: AIOKafkaProducer
    consumer: AIOKafkaConsumer


def _sender(settings: Settings, hospital: LocalHospital) -> Sender:
    common = {**hospital.kafka(settings), "client_id": f"hub-demo-{hospital.org_id}"}
    # No consumer group: a hospital's principal may read its results topic without one (Read on it).
    return Sender(
        hospital,
        settings.topics.notifications_of(hospital.org_id),
        settings.topics.results_of(hospital.org_id),
        AIOKafkaProducer(**common, enable_idempotence=True, acks="all", linger_ms=5),
        AIOKafkaConsumer(**common, group_id=None, enable_auto_commit=False, auto_offset_reset="latest"),
    )


async def _start_at_end(sender: Sender) -> None:
    """Assign every partition of the results topic at its current end: older answers are not ours."""
    # The producer fetches a topic's metadata on demand; an unsubscribed consumer would not.
    partitions = [
        TopicPartition(sender.results, p) for p in sorted(await sender.producer.partitions_for(sender.results))
    ]
    sender.consumer.assign(partitions)
    for partition, offset in (await sender.consumer.end_offsets(partitions)).items():
        sender.consumer.seek(partition, offset)


async def _publish(
    senders: dict[str, Sender], planned: list[tuple[str, BirthSpec]], rate: float, tally: Tally
) -> float:
    """Send at `rate` per second, each notification as its hospital, signed; returns the monotonic
    time of the last send."""
    start, acks = time.monotonic(), []
    for index, (kind, spec) in enumerate(planned):
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        value = json.dumps(notification(kind, spec), ensure_ascii=False).encode()
        sender = senders[spec.hospital_id]
        headers = [("content-type", b"application/fhir+json"), *sender.hospital.headers(value)]
        tally.sent(spec.message_id, time.monotonic(), kind)
        ack = await sender.producer.send(sender.notifications, value, key=record_key(spec.mother), headers=headers)
        ack.add_done_callback(functools.partial(_count_failed_send, tally, spec.message_id))
        acks.append(ack)
    await asyncio.gather(*acks, return_exceptions=True)
    return time.monotonic()


def _count_failed_send(tally: Tally, message_id: str, ack: asyncio.Future) -> None:
    if not ack.cancelled() and ack.exception() is not None:
        tally.send_failed(message_id)


async def _listen(consumers: list[AIOKafkaConsumer], tally: Tally) -> None:
    await asyncio.gather(*(_listen_one(consumer, tally) for consumer in consumers))


async def _listen_one(consumer: AIOKafkaConsumer, tally: Tally) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=200)
        received = time.monotonic()
        for records in batches.values():
            for record in records:
                with contextlib.suppress(ValueError):
                    found = read_result(json.loads(record.value))
                    if found is not None:
                        tally.answer(found, received)


def _table(title: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table:
    table = Table(*headers, title=title, box=box.SIMPLE_HEAD)
    for column in table.columns[1:]:
        column.justify = "right"
    for row in rows:
        table.add_row(*row)
    return table


def _figures(tally: Tally, elapsed: float, title: str = "hub demo: live") -> Table:
    return _table(title, ("measure", "value"), figures(tally, elapsed))


async def _watch(
    live: Live, tally: Tally, sender: asyncio.Task, listener: asyncio.Task, stop: asyncio.Event, started: float
) -> str:
    while not stop.is_set():
        live.update(_figures(tally, time.monotonic() - started))
        if listener.done():
            listener.result()  # the consumer failed: raise its error
        if sender.done() and (tally.complete or time.monotonic() - sender.result() > ANSWER_TIMEOUT_S):
            return "complete" if tally.complete else "timeout"
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)
    return "interrupted"


def _summary(console: Console, tally: Tally, elapsed: float, ending: str) -> None:
    console.print(_figures(tally, elapsed, "hub demo: summary"))
    headers = ("kind sent (expected answer)", "reg", "dup", "still", "rev", "rej", "none")
    console.print(_table("outcome by kind of notification sent", headers, kind_rows(tally)))
    for status, title in (("rejected", "top rejection codes"), ("review-pending", "review reasons")):
        if tally.top_codes(status):
            console.print(f"{title}: " + ", ".join(f"{code} x{n}" for code, n in tally.top_codes(status)))
    for line in tally.warnings(ending, ANSWER_TIMEOUT_S):
        console.print(f"[yellow]{line}[/yellow]")


async def _ready(senders: list[Sender], console: Console) -> bool:
    for sender in senders:
        await sender.consumer.start()
        if not {sender.notifications, sender.results} <= await sender.consumer.topics():
            org = sender.hospital.org_id
            console.print(
                f"[yellow]The topics of hospital {org} do not exist yet:[/yellow] start the hub first (`hub run`), "
                f"or `hub hospitals sync {org}`."
            )
            return False
        await sender.producer.start()
        await _start_at_end(sender)
    return True


async def _play(
    senders: dict[str, Sender], planned: list[tuple[str, BirthSpec]], rate: float, console: Console
) -> None:
    """Publish and follow the answers with live progress; Ctrl-C ends it early, the summary still comes."""
    loop, tally, stop = asyncio.get_running_loop(), Tally(), asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    started = time.monotonic()
    tasks = [
        asyncio.create_task(_listen([s.consumer for s in senders.values()], tally)),
        asyncio.create_task(_publish(senders, planned, rate, tally)),
    ]
    try:
        with Live(_figures(tally, 0.0), console=console, refresh_per_second=4, transient=True) as live:
            ending = await _watch(live, tally, tasks[1], tasks[0], stop, started)
            live.update(_figures(tally, time.monotonic() - started))
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    _summary(console, tally, time.monotonic() - started, ending)


async def _hospitals(settings: Settings, org_ids: list[str], console: Console) -> list[LocalHospital] | None:
    """The hospitals' own credentials and keys (made on first use: development), or None when one
    cannot be had (said why)."""
    found = []
    for org_id in org_ids:
        try:
            found.append(await local_hospital(settings, org_id))
        except HubError as exc:
            console.print(f"[red]cannot publish as hospital {org_id}:[/red] {exc}")
            return None
    if made := [h for h in found if h.onboarded]:
        console.print(
            f"{len(made)} hospital(s) got development credentials and signing keys under {settings.hospital_secrets_dir}"
        )
    return found


async def run_demo(
    settings: Settings, *, births: int, rate: float, invalid_share: float, seed: int, console: Console
) -> None:
    try:
        mothers, hospitals = await load_registry(settings.dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        console.print(
            f"[red]cannot read the registry:[/red] {type(exc).__name__}; is PostgreSQL running (`make services`)?"
        )
        return
    if not mothers or not hospitals:
        console.print(
            "[yellow]The registry has no mothers or no active hospitals.[/yellow] "
            "Seed it first: `hub seed` (or `make run`, which seeds an empty registry)."
        )
        return
    planned = plan_notifications(random.Random(seed), mothers, hospitals, births, invalid_share, datetime.now(UTC))
    if repeats := sum(kind == "repeat-mother" for kind, _ in planned):
        console.print(
            f"{repeats} notifications go to mothers with a birth in the last {MIN_BIRTH_INTERVAL.days} days "
            "(not enough fresh mothers): the hub should put those in review."
        )
    acting = await _hospitals(settings, sorted({spec.hospital_id for _, spec in planned}), console)
    if acting is None:
        return
    senders: dict[str, Sender] = {}
    try:
        for hospital in acting:
            senders[hospital.org_id] = _sender(settings, hospital)
        if await _ready(list(senders.values()), console):
            await _play(senders, planned, rate, console)
    except KafkaError as exc:
        console.print(
            f"[red]Kafka error:[/red] {type(exc).__name__}; is the broker at {settings.kafka_bootstrap} running? "
            "(a hospital's Kafka access can be repaired with `hub hospitals sync ORG`)"
        )
    except HubError as exc:  # e.g. no Kafka CA certificate
        console.print(f"[red]cannot connect:[/red] {exc}")
    finally:
        for sender in senders.values():
            await sender.producer.stop()
            await sender.consumer.stop()
