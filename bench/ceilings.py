"""Ceilings on the same messages and machine: what the hub could reach if one part were all it did.

- transport: a bare aiokafka consumer reads the hospitals' notification topics from the beginning;
- validation: json parse + hub.intake.structure.structural_issues + hub.intake.profile.read_notice,
  in one process, warm (fhir.resources models already built);
- database: EmbeddedRegistry.register_birth through PostgresUnitOfWork, sequential, for the notices
  of the valid singletons and twins (decided beforehand, untimed): the first half one transaction
  per birth, the second in transactions of 20 as the consumer writes them (reserve, prepare, the
  facts and the registration of each; hub/service/register_birth.py PART);
- handler (extra): the hub's own RegisterBirths.handle_batch in process, batches of the consumer's
  size (HUB_CONSUMER_BATCH), sequential, without Kafka or relay: the sender's signature check,
  intake, registry, inbox and outbox, as the consumer runs them (each message delivered as from its
  hospital's topic, with its signature header); and the SQL statements it sent per message,
  counted with asyncpg's query logger on every pooled connection (transaction control included).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from bench.context import Context
from bench.env import BenchEnv, drop_env, fresh_env
from bench.kafka_io import produce_all, raw_consume
from bench.messages import Message
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.adapters.regions import kecamatan_known
from hub.bootstrap import open_pool, registration_handler
from hub.domain.decision import Register, RegistryFacts, decide
from hub.intake.conformance import conformance_issues
from hub.intake.profile import read_notice
from hub.intake.signature import HEADER as SIGNATURE_HEADER
from hub.intake.structure import structural_issues
from hub.intake.text import text_issues
from hub.service.ports import Delivery
from hub.service.register_birth import PART

METRICS = (
    "transport_msgs_per_s",
    "validation_msgs_per_s",
    "database_births_per_s",
    "database_batched_births_per_s",
    "handler_msgs_per_s",
    "handler_statements_per_msg",
    "validation_parse_ms",
    "validation_structure_ms",
    "validation_conformance_ms",
    "validation_profile_ms",
    "database_ms_per_birth",
)
WARM_UP = 30


async def run_ceilings(ctx: Context, messages: list[Message], label: str) -> dict:
    figures: dict = {}
    task = ctx.task(f"{label}: produce", len(messages))
    try:
        env = await fresh_env(ctx.template, label.replace("-", "_"))
        try:
            await produce_all(env.settings, messages, lambda n: ctx.progress.advance(task, n))
            ctx.progress.update(task, description=f"{label}: transport (raw consume)", completed=0)
            transport = await raw_consume(env.settings, len(messages))
            figures.update(transport_msgs_per_s=transport["msgs_per_s"], transport_mib_per_s=transport["mib_per_s"])
        finally:
            await drop_env(env)
        ctx.progress.update(task, description=f"{label}: validation", completed=0)
        figures.update(validation_ceiling(messages, lambda: ctx.progress.advance(task)))
        ctx.progress.update(task, description=f"{label}: database (registry writes)", completed=0)
        figures.update(await _in_env(ctx, label + "-db", lambda env: _database(env, messages, ctx, task)))
        ctx.progress.update(task, description=f"{label}: handler in process", completed=0)
        figures.update(
            await _in_env(ctx, label + "-hd", lambda env: _handler(env, messages, lambda: ctx.progress.advance(task)))
        )
    finally:
        ctx.done(task)
    return figures


async def _in_env(ctx: Context, label: str, body):
    env = await fresh_env(ctx.template, label.replace("-", "_"))
    try:
        return await body(env)
    finally:
        await drop_env(env)


def validation_ceiling(messages: list[Message], tick) -> dict:
    """The validation ceiling (also the reference-validator scenario's hub figure, bench/reference.py)."""
    now = datetime.now(UTC)
    for message in messages[:WARM_UP]:  # the first call of each model builds its validators
        _validate(json.loads(message.value), now)
    spent = [0.0, 0.0, 0.0, 0.0]
    started = time.perf_counter()
    for message in messages:
        t0 = time.perf_counter()
        document = json.loads(message.value)
        t1 = time.perf_counter()
        problems = text_issues(document) or structural_issues(document)
        t2 = time.perf_counter()
        problems = problems or conformance_issues(document)
        t3 = time.perf_counter()
        if not problems:
            read_notice(document, now=now, strict_nik=True, region_known=kecamatan_known)
        t4 = time.perf_counter()
        for stage, (begin, end) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4))):
            spent[stage] += end - begin
        tick()
    seconds, n = time.perf_counter() - started, len(messages)
    return {
        "validation_msgs_per_s": n / seconds,
        "validation_parse_ms": spent[0] / n * 1000,
        "validation_structure_ms": spent[1] / n * 1000,
        "validation_conformance_ms": spent[2] / n * 1000,
        "validation_profile_ms": spent[3] / n * 1000,
    }


def _validate(document: dict, now: datetime):
    return (
        None
        if text_issues(document) or structural_issues(document) or conformance_issues(document)
        else read_notice(document, now=now, strict_nik=True, region_known=kecamatan_known)
    )


async def _database(env: BenchEnv, messages: list[Message], ctx: Context, task) -> dict:
    now = datetime.now(UTC)
    pool = await open_pool(env.settings)
    try:
        work = []
        for message in messages:
            if message.kind not in ("valid", "twin"):
                continue
            profile = _validate(json.loads(message.value), now)
            if profile is not None and profile.notice is not None:
                async with PostgresUnitOfWork(pool) as uow:  # read-only: rolled back on leaving
                    decision = decide(profile.notice, await _facts(uow, profile.notice), now)
                if isinstance(decision, Register):
                    work.append((profile.notice, decision))
        half = len(work) // 2  # the first half one per transaction, the second as the consumer writes
        ctx.progress.update(task, total=len(work), completed=0)
        started = time.perf_counter()
        for notice, decision in work[:half]:
            async with PostgresUnitOfWork(pool) as uow:
                await uow.registry.register_birth(notice, decision, now)
                await uow.commit()
            ctx.progress.advance(task)
        single = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(half, len(work), PART):
            part = work[start : start + PART]
            async with PostgresUnitOfWork(pool) as uow:
                await uow.registry.reserve({notice.kk_number for notice, _ in part})
                await uow.registry.prepare([notice for notice, _ in part], now)
                for notice, decision in part:
                    await uow.registry.facts(notice)
                    await uow.registry.register_birth(notice, decision, now)
                await uow.commit()
            ctx.progress.advance(task, len(part))
        batched = time.perf_counter() - started
    finally:
        await pool.close()
    ctx.progress.update(task, total=len(messages))
    return {
        "database_births_per_s": half / single,
        "database_ms_per_birth": single / half * 1000,
        "database_batched_births_per_s": (len(work) - half) / batched,
        "database_births": len(work),
    }


async def _facts(uow, notice) -> RegistryFacts:
    registry = uow.registry
    return RegistryFacts(
        hospital=await uow.hospitals.hospital(notice.hospital_id),
        mother=await registry.person(notice.mother_nik),
        family=await registry.family(notice.kk_number),
        father=await registry.person(notice.father_nik) if notice.father_nik else None,
        same_birth=await registry.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order),
        mothers_births=tuple(await registry.births_of_mother(notice.mother_nik)),
    )


async def _handler(env: BenchEnv, messages: list[Message], tick) -> dict:
    pool = await open_pool(env.settings)
    try:
        handler = registration_handler(env.settings, pool)
        deliveries = [
            Delivery(
                env.settings.topics.notifications_of(message.hospital),
                0,
                offset,
                message.key,
                signature=dict(message.headers).get(SIGNATURE_HEADER),
            )
            for offset, message in enumerate(messages)
        ]
        statements = await _count_statements(pool, env.settings.db_pool_max)
        items = [(message.value, delivery) for message, delivery in zip(messages, deliveries, strict=True)]
        size = env.settings.consumer_batch
        started = time.perf_counter()
        for start in range(0, len(items), size):
            await handler.handle_batch(items[start : start + size])
            for _ in items[start : start + size]:
                tick()
        seconds = time.perf_counter() - started
    finally:
        await pool.close()
    return {
        "handler_msgs_per_s": len(messages) / seconds,
        "handler_statements_per_msg": len(statements) / len(messages),
    }


async def _count_statements(pool, size: int) -> list[str]:
    """Every statement the pool's connections send from now on (loggers outlive a release)."""
    sent: list[str] = []
    held = [await pool.acquire() for _ in range(size)]
    for conn in held:
        conn.add_query_logger(lambda record: sent.append(record.query))
    for conn in held:
        await pool.release(conn)
    return sent
