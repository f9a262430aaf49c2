"""Isolated benchmark environments: one seeded template database, a fresh copy per run, own topics.

The population is seeded once per `make bench` into a template database; every run then gets
`CREATE DATABASE ... TEMPLATE` (a file copy, well under a second) and its own topic prefix and
consumer group, so no run sees another's births, offsets or results.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
from aiokafka.admin import AIOKafkaAdminClient

from hub.adapters.kafka.topics import ensure_topics
from hub.bootstrap import open_pool, prepare_database
from hub.config import Settings
from hub.devtools.seed import seed_population
from hub.devtools.simulation.demo import Mother, load_registry

ROOT = Path(__file__).resolve().parent.parent
# The owner role creates, migrates and drops the databases; the hubs run as the runtime role.
ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql://hub_owner@127.0.0.1:15432/hub")
RUNTIME_ROLE = os.environ.get("BENCH_RUNTIME_ROLE", "hub")
BOOTSTRAP = os.environ.get("BENCH_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "3"))


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
            "HUB_LOG_LEVEL": "INFO",  # readiness is the INFO line "hub running"
            "HUB_VERIFY_PORT": "0",  # two hubs of the scale scenario would both want the verification port
            "HUB_CONSOLE_PORT": "0",  # and the console's
        }
        return {**os.environ, **values, **extra}


async def fresh_env(template: Template, tag: str) -> BenchEnv:
    name = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    await _admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template.name}"')
    settings = settings_for(
        name,
        kafka_bootstrap=BOOTSTRAP,
        topic_prefix=f"{name}.",
        consumer_group=f"{name}-hub",
        notification_partitions=PARTITIONS,
    )
    await ensure_topics(settings.kafka_bootstrap, settings.topics, settings.notification_partitions)
    return BenchEnv(name, settings)


async def drop_env(env: BenchEnv) -> None:
    """Drop the database and delete the run's topics, so that repeated benches do not pile up."""
    await _admin_sql(f'DROP DATABASE IF EXISTS "{env.name}" WITH (FORCE)')
    admin = AIOKafkaAdminClient(bootstrap_servers=env.settings.kafka_bootstrap)
    try:
        await admin.start()
        await admin.delete_topics(env.settings.topics.all())
    except Exception:
        pass
    finally:
        await admin.close()


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
