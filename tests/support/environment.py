"""An isolated hub environment per test session: its own database and its own topic prefix."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import asyncpg

from hub.adapters.postgres.database import migrate
from hub.config import Settings

ADMIN_DSN = os.environ.get("HUB_TEST_ADMIN_DSN", "postgresql://hub@127.0.0.1:15432/hub")
BOOTSTRAP = os.environ.get("HUB_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


@dataclass
class Environment:
    name: str
    settings: Settings
    extra: dict[str, str] = field(default_factory=dict)  # more HUB_* variables for processes
    siak: object = None  # the reference SIAK server, when the registry is siak-http

    def env(self, **extra: str) -> dict[str, str]:
        """Environment variables that make a `hub` process use this environment."""
        values = {
            "HUB_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "HUB_DATABASE_URL": self.settings.dsn,
            "HUB_TOPIC_PREFIX": self.settings.topic_prefix,
            "HUB_CONSUMER_GROUP": self.settings.consumer_group,
            "HUB_RETRY_MAX_SECONDS": "2",
            "HUB_VERIFY_PORT": "0",  # a module that needs the verification service gives it a free port
            "HUB_METRICS_PORT": "0",  # likewise the metrics and health endpoints
        }
        return {**os.environ, **values, **self.extra, **extra}


def _dsn_for(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


async def create_environment(tag: str) -> Environment:
    name = f"t_{tag}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    settings = Settings(
        kafka_bootstrap=BOOTSTRAP,
        database_url=_dsn_for(name),
        topic_prefix=f"{name}.",
        consumer_group=f"{name}-hub",
        retry_max_seconds=2.0,
        relay_idle_seconds=0.2,
        documents=False,
    )  # in-process use cases answer at once; hub processes issue documents
    conn = await asyncpg.connect(settings.dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return Environment(name, settings)


async def drop_environment(environment: Environment) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{environment.name}" WITH (FORCE)')
    finally:
        await admin.close()
