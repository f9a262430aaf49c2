"""An isolated hub environment per test session: its own database and its own topic prefix.

As in production, two database roles: the owner (HUB_TEST_ADMIN_DSN's role) creates the database
and applies the migrations; the hub and the tests' own queries use the runtime role, which may
only read and append to the audit log. The audit anchors (key and file) are the environment's own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hub.adapters.postgres.database import migrate
from hub.config import Settings

ADMIN_DSN = os.environ.get("HUB_TEST_ADMIN_DSN", "postgresql://hub_owner@127.0.0.1:15432/hub")  # the owner role
RUNTIME_ROLE = os.environ.get("HUB_TEST_RUNTIME_ROLE", "hub")
AUDIT_PREFIX = "hub-audit-"
BOOTSTRAP = os.environ.get("HUB_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
REPO = Path(__file__).resolve().parents[2]  # where the settings' relative paths (.local/...) start


@dataclass
class Environment:
    name: str
    settings: Settings
    extra: dict[str, str] = field(default_factory=dict)  # more HUB_* variables for processes
    siak: object = None  # the reference SIAK server, when the registry is siak-http

    def __post_init__(self) -> None:
        if "audit_anchor_file" not in self.settings.model_fields_set:  # never the developer's own anchors
            self.settings = self.settings.model_copy(update=_audit_files(self.name))

    @property
    def owner_dsn(self) -> str:
        """The owner role's DSN of this environment's database (migrations, tampering tests)."""
        if self.settings.database_owner_url is not None:
            return self.settings.owner_dsn
        return as_owner(self.settings.dsn)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment variables that make a `hub` process use this environment."""
        values = {
            "HUB_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "HUB_DATABASE_URL": self.settings.dsn,
            "HUB_DATABASE_OWNER_URL": self.owner_dsn,
            "HUB_AUDIT_KEY_FILE": str(self.settings.audit_key_file),
            "HUB_AUDIT_ANCHOR_FILE": str(self.settings.audit_anchor_file),
            "HUB_TOPIC_PREFIX": self.settings.topic_prefix,
            "HUB_CONSUMER_GROUP": self.settings.consumer_group,
            "HUB_RETRY_MAX_SECONDS": "2",
            "HUB_VERIFY_PORT": "0",  # a module that needs the verification service gives it a free port
            "HUB_METRICS_PORT": "0",  # likewise the metrics and health endpoints
            "HUB_CONSOLE_PORT": "0",  # and the console (tests/browser gives its hub a free port)
            **self._trust_files(),
        }
        return {**os.environ, **values, **self.extra, **extra}

    def _trust_files(self) -> dict[str, str]:
        """Kafka's CA and passwords, the hospitals' secrets and the mutual TLS files for the registry
        and the signer, as absolute paths: a process (or a CLI run) may work in another directory."""
        s = self.settings
        files = {
            "HUB_KAFKA_CA_FILE": s.kafka_ca_file,
            "HUB_KAFKA_SECRETS_DIR": s.kafka_secrets_dir,
            "HUB_HOSPITAL_SECRETS_DIR": s.hospital_secrets_dir,
            "HUB_SERVICE_CA_FILE": s.service_ca_file,
            "HUB_SERVICE_CLIENT_CERT": s.service_client_cert,
            "HUB_SERVICE_CLIENT_KEY": s.service_client_key,
        }
        return {name: str((REPO / path).resolve()) for name, path in files.items()}


def _dsn_for(database: str, role: str | None = None) -> str:
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + "/" + database
    return dsn if role is None else as_role(dsn, role)


def as_role(dsn: str, role: str) -> str:
    """The same DSN for another role (the local cluster trusts loopback: no password)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def as_owner(dsn: str) -> str:
    """The same database as the owner role (what the reference SIAK server, which creates its own
    tables in the test's database, connects as)."""
    return as_role(dsn, urlsplit(ADMIN_DSN).username or "hub_owner")


def _audit_files(name: str) -> dict[str, Path]:
    folder = Path(tempfile.mkdtemp(prefix=f"{AUDIT_PREFIX}{name}-"))
    return {"audit_key_file": folder / "anchor.key", "audit_anchor_file": folder / "anchors.jsonl"}


async def create_environment(tag: str) -> Environment:
    name = f"t_{tag}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    settings = Settings(
        kafka_bootstrap=BOOTSTRAP,
        database_url=_dsn_for(name, RUNTIME_ROLE),
        database_owner_url=_dsn_for(name),
        topic_prefix=f"{name}.",
        consumer_group=f"{name}-hub",
        retry_max_seconds=2.0,
        relay_idle_seconds=0.2,
        documents=False,
    )  # in-process use cases answer at once; hub processes issue documents
    conn = await asyncpg.connect(settings.owner_dsn)
    try:
        await migrate(conn, runtime_role=RUNTIME_ROLE)
    finally:
        await conn.close()
    return Environment(name, settings)


async def drop_environment(environment: Environment) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        for attempt in range(50):
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{environment.name}" WITH (FORCE)')
                break
            except asyncpg.InsufficientPrivilegeError:
                # A backend of the runtime role, whose client (a hub process just stopped) is gone
                # but which has not ended yet: the owner may not end it, and it ends by itself.
                if attempt == 49:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await admin.close()
    if (folder := environment.settings.audit_anchor_file.parent).name.startswith(AUDIT_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
    await _drop_topics(environment.settings)


async def _drop_topics(settings: Settings) -> None:
    """Delete the environment's topics (its own and its hospitals': 30-odd per environment), so a
    whole run does not leave the single local broker with thousands of partitions. A broker that is
    gone (a private one, stopped) has nothing to clean."""
    from aiokafka.admin import AIOKafkaAdminClient

    from hub.adapters.kafka.security import Role, access

    admin = AIOKafkaAdminClient(**access(settings, Role.ADMIN).aiokafka(), request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        mine = [t for t in await admin.list_topics() if settings.topic_prefix and t.startswith(settings.topic_prefix)]
        if mine:
            await admin.delete_topics(mine)
    except Exception:  # noqa: BLE001 - cleaning up is best effort: the test's outcome stands
        pass
    finally:
        await admin.close()
