"""Isolated benchmark environments: one seeded template database, a fresh copy per run, own topics.

The population is seeded once per `make bench` into a template database, with the development
signing key of its hospitals registered (hub/devtools/trusted_hospitals.py); every run then gets
`CREATE DATABASE ... TEMPLATE` (a file copy, well under a second) and its own topic prefix and
consumer group, so no run sees another's births, offsets or results.

Kafka is secured (TLS + SCRAM, ACLs): the harness's clients connect as the admin principal, as an
operator's tools do (`kafka_client`). A run's topics (the hub's and every active hospital's) and the
hub principals' ACLs on them are made as `hub run` makes them (hub.bootstrap.prepare_kafka), and
removed with the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from hub.adapters.kafka.security import Role, access
from hub.adapters.postgres.registry import EmbeddedRegistry
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.bootstrap import open_pool, prepare_database, prepare_kafka
from hub.config import Settings
from hub.devtools.seed import seed_population
from hub.devtools.simulation.demo import Mother, load_registry
from hub.devtools.trusted_hospitals import register_keys

ROOT = Path(__file__).resolve().parent.parent
# The owner role creates, migrates and drops the databases; the hubs run as the runtime role.
ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql://hub_owner@127.0.0.1:15432/hub")
RUNTIME_ROLE = os.environ.get("BENCH_RUNTIME_ROLE", "hub")
BOOTSTRAP = os.environ.get("BENCH_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "3"))
log = logging.getLogger("bench.env")


def dsn_for(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


def settings_for(database: str, **values) -> Settings:
    """The runtime role's DSN, and the owner's for migrations (the local cluster trusts loopback)."""
    owner = dsn_for(database)
    scheme, rest = owner.split("://", 1)
    runtime = f"{scheme}://{RUNTIME_ROLE}@{rest.rsplit('@', 1)[-1]}"
    return Settings(database_url=runtime, database_owner_url=owner, **values)


async def _admin_sql(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class Template:
    """The seeded population every run starts from, and the mothers and hospitals in it."""

    name: str
    families: int
    mothers: list[Mother]
    hospitals: list[tuple[str, str]]

    @classmethod
    async def create(cls, families: int, progress: Callable[[int], None]) -> Template:
        name = f"bench_tpl_{uuid.uuid4().hex[:8]}"
        await _admin_sql(f'CREATE DATABASE "{name}"')
        settings = settings_for(name, db_pool_min=1, db_pool_max=2)
        await prepare_database(settings)
        pool = await open_pool(settings)
        try:
            await seed_population(pool, families=families, seed_value=20260, progress=progress)
            await register_keys(lambda: PostgresUnitOfWork(pool, EmbeddedRegistry))  # every copy signs alike
        finally:
            await pool.close()
        mothers, hospitals = await load_registry(dsn_for(name))
        return cls(name, families, [m for m in mothers if not m.recent], hospitals)

    async def drop(self) -> None:
        await _admin_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@dataclass
class BenchEnv:
    name: str
    settings: Settings

    def hub_env(self, **extra: str) -> dict[str, str]:
        """Environment of a `hub run` process on this environment (as users configure it: HUB_*).

        Other HUB_* variables of the caller pass through (e.g. HUB_DB_POOL_MAX, HUB_LOG_LEVEL), so
        settings can be compared; the ones that place the run (database, topics, group) and the log
        level (readiness is read from the log) are ours."""
        values = {
            "HUB_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "HUB_DATABASE_URL": self.settings.dsn,
            "HUB_DATABASE_OWNER_URL": self.settings.owner_dsn,
            "HUB_TOPIC_PREFIX": self.settings.topic_prefix,
            "HUB_CONSUMER_GROUP": self.settings.consumer_group,
            "HUB_NOTIFICATION_PARTITIONS": str(self.settings.notification_partitions),
            "HUB_HOSPITAL_PARTITIONS": str(self.settings.hospital_partitions),
            "HUB_LOG_LEVEL": "INFO",  # readiness is the INFO line "hub running"
            "HUB_VERIFY_PORT": "0",  # two hubs of the scale scenario would both want the verification port
            "HUB_CONSOLE_PORT": "0",  # and the console's
        }
        return {**os.environ, **values, **extra}


def kafka_client(settings: Settings) -> dict[str, Any]:
    """aiokafka keyword arguments of the harness's own clients: the admin principal."""
    return access(settings, Role.ADMIN).aiokafka()


def env_settings(name: str, **values) -> Settings:
    """A run's settings: its database, and its own topic prefix and consumer group."""
    return settings_for(
        name,
        kafka_bootstrap=BOOTSTRAP,
        topic_prefix=f"{name}.",
        consumer_group=f"{name}-hub",
        notification_partitions=PARTITIONS,
        hospital_partitions=PARTITIONS,
        **values,
    )


async def fresh_env(template: Template, tag: str) -> BenchEnv:
    """A copy of the template, and the run's topics (the hub's and every active hospital's) with
    the hub principals' ACLs, as `hub run` makes them at start."""
    name = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    await _admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template.name}"')
    env = BenchEnv(name, env_settings(name))
    try:
        pool = await open_pool(env.settings)
        try:
            await prepare_kafka(env.settings, pool)
        finally:
            await pool.close()
    except BaseException:
        await drop_env(env)
        raise
    return env


async def drop_env(env: BenchEnv) -> None:
    """Drop the database; delete the run's topics, the ACLs on them and its consumer group (as the
    admin principal), so that repeated benches do not pile up."""
    await _admin_sql(f'DROP DATABASE IF EXISTS "{env.name}" WITH (FORCE)')
    try:
        await asyncio.to_thread(_drop_kafka, env)
    except KafkaException as exc:  # a leftover is no reason to lose the run's figures
        log.warning("could not remove the Kafka resources of %s: %s", env.name, exc)


def _drop_kafka(env: BenchEnv) -> None:
    """The run's names: topics (and prefixed ACLs) under its prefix `<name>.`, its group `<name>-hub`."""
    admin = AdminClient({**access(env.settings, Role.ADMIN).librdkafka(), "log_level": 2})
    topics = [t for t in admin.list_topics(timeout=15).topics if t.startswith(env.settings.topic_prefix)]
    for future in admin.delete_topics(topics, operation_timeout=15).values() if topics else ():
        future.result()
    anything: Any = None  # a filter's None matches any name, principal and host (the stubs say str)
    every = AclBindingFilter(
        ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything, AclOperation.ANY, AclPermissionType.ANY
    )
    filters = [
        AclBindingFilter(
            b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
        )
        for b in admin.describe_acls(every).result()
        if b.name.startswith(env.settings.topic_prefix) or b.name == env.settings.consumer_group
    ]
    for future in admin.delete_acls(filters).values() if filters else ():
        future.result()
    for future in admin.delete_consumer_groups([env.settings.consumer_group]).values():
        with contextlib.suppress(KafkaException):  # no group: nothing consumed in this run
            future.result()


async def machine_info() -> dict:
    kafka = re.search(r"^KAFKA_VERSION=(\S+)", (ROOT / "deploy/local/kafka.sh").read_text(), re.M)
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        pg = await conn.fetchval("SHOW server_version")
        durability = {k: await conn.fetchval(f"SHOW {k}") for k in ("fsync", "synchronous_commit", "shared_buffers")}
    finally:
        await conn.close()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "hub"], check=False, cwd=ROOT, capture_output=True, text=True
            ).stdout
        )
    except OSError:
        commit, dirty = "unknown", False
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "kafka": kafka.group(1) if kafka else "?",
        "postgresql": pg,
        "postgresql_settings": durability,
        "hub_commit": commit,
        "hub_dirty": dirty,
        "partitions": PARTITIONS,
        "hub_env": {k: v for k, v in os.environ.items() if k.startswith("HUB_")},
    }
