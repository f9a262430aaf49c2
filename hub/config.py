"""The hub's configuration: one validated object, read from `HUB_*` environment variables.

With nothing set, the hub runs on the embedded local default: the Kafka broker and PostgreSQL
cluster that `deploy/local/services.sh up` starts under `.local/`. Nothing connects at import time.
"""

from __future__ import annotations

import os
import re
from enum import Enum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DATABASE_URL = "postgresql://hub@127.0.0.1:15432/hub"  # the runtime role of the local cluster
LOCAL_OWNER_URL = "postgresql://hub_owner@127.0.0.1:15432/hub"  # its owner role: migrations only


class RegistryKind(str, Enum):
    EMBEDDED = "embedded"  # the registry lives in the hub's own PostgreSQL schema
    SIAK_HTTP = "siak-http"  # a SIAK-style REST registry: writes become tracked sagas


class SignerKind(str, Enum):
    LOCAL = "local"  # keys in a local directory (the development PKI under .local/pki)
    REMOTE = "remote"  # a remote signing service (a PSrE's HTTP API; contracts/signer-openapi.json)


HOSPITAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")  # a SATUSEHAT organisation id, as topic names allow


class Topics:
    """Topic names, optionally prefixed (tests give each run its own prefix).

    Hospitals have topics of their own, so Kafka's ACLs can say who writes and reads what: a
    hospital writes `birth.notification.v1.<org id>` and reads `birth.result.v1.<org id>`, nothing
    else. `notifications` and `results` name the families; the hub consumes every hospital's
    notification topic by `notification_pattern`."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.notifications = f"{prefix}birth.notification.v1"
        self.dead_letters = f"{prefix}birth.notification.v1.dlq"
        self.results = f"{prefix}birth.result.v1"
        self.births_registered = f"{prefix}civil.birth-registered.v1"
        self.family_cards = f"{prefix}civil.family-card-updated.v1"
        self.documents_issued = f"{prefix}civil.documents-issued.v1"
        self.document_status = f"{prefix}civil.document-status.v1"

    def notifications_of(self, hospital_id: str) -> str:
        """The topic a hospital publishes its notifications to."""
        return f"{self.notifications}.{_checked(hospital_id)}"

    def results_of(self, hospital_id: str) -> str:
        """The topic a hospital reads its results from."""
        return f"{self.results}.{_checked(hospital_id)}"

    @property
    def notification_pattern(self) -> str:
        """Every hospital's notification topic (and not the dead-letter topic), as a regular expression."""
        return rf"^{re.escape(self.notifications)}\.(?!dlq$)[A-Za-z0-9][A-Za-z0-9-]*$"

    def hospital_of(self, topic: str) -> str | None:
        """The hospital whose notification topic `topic` is; None for any other topic."""
        head, dot, tail = topic.rpartition(".")
        if dot and head == self.notifications and is_hospital_id(tail):
            return tail
        return None

    def of_hospital(self, hospital_id: str) -> list[str]:
        return [self.notifications_of(hospital_id), self.results_of(hospital_id)]

    def all(self) -> list[str]:
        """The hub's own topics (each hospital's come with `of_hospital`)."""
        return [
            self.dead_letters,
            self.births_registered,
            self.family_cards,
            self.documents_issued,
            self.document_status,
        ]


def is_hospital_id(value: str | None) -> bool:
    """Whether `value` can name a hospital's topics (and is not the dead-letter topic's suffix)."""
    return value is not None and HOSPITAL_ID.fullmatch(value) is not None and value != "dlq"


def _checked(hospital_id: str) -> str:
    if not is_hospital_id(hospital_id):
        raise ValueError("a hospital id is 1-64 letters, digits and hyphens")
    return hospital_id


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:19092"
    # Every Kafka connection is TLS + SASL/SCRAM-SHA-512 (hub/adapters/kafka/security.py). Each role has
    # its own principal; a password left unset is read from kafka_secrets_dir/<username>.password, where
    # deploy/local/kafka.sh writes the local broker's (git-ignored, mode 600).
    kafka_ca_file: Path = Path(".local/kafka-security/ca.crt")  # the CA that signed the brokers' certificates
    kafka_secrets_dir: Path = Path(".local/kafka-security/secrets")
    kafka_username: str = "hub"  # the consumer: reads notifications, commits its group's offsets
    kafka_password: SecretStr | None = None
    kafka_relay_username: str = "hub-relay"  # the outbox relay: writes results, civil events, dead letters
    kafka_relay_password: SecretStr | None = None
    kafka_admin_username: str = "hub-admin"  # admin tasks: topics, ACLs, hospitals' credentials
    kafka_admin_password: SecretStr | None = None
    # Hospitals (`hub hospitals`): what onboarding prints for an integrator, and where the local
    # development setup keeps the secrets it generates for a hospital (never in production).
    hospital_bootstrap: str | None = None  # the bootstrap hospitals connect to (unset: kafka_bootstrap)
    hospital_secrets_dir: Path = Path(".local/hospitals")
    hospital_key_overlap_hours: float = Field(24.0, ge=0)  # rotate-key: the old key stays valid this long
    hospital_partitions: int = Field(3, ge=1, le=1000)  # partitions of each hospital's notification topic
    database_url: SecretStr = SecretStr(LOCAL_DATABASE_URL)  # the runtime role: may not rewrite the audit log
    # The role that owns the schema, used only to apply migrations (`hub migrate`, `hub seed`, the
    # start of `hub run`). Unset: the local owner role, or HUB_DATABASE_URL when that is set.
    database_owner_url: SecretStr | None = None
    registry: RegistryKind = RegistryKind.EMBEDDED
    topic_prefix: str = ""
    consumer_group: str = "hub"
    notification_partitions: int = Field(3, ge=1, le=1000)
    create_topics: bool = True
    # Records per consumed batch at most (one offset commit; transactions of register_birth.PART):
    # a backlog drains in large batches, so validation ahead of the writes rarely waits for a fetch.
    consumer_batch: int = Field(500, ge=1, le=5000)
    consumer_batch_wait_ms: int = Field(20, ge=0, le=5000)  # how long to wait for a batch to fill
    strict_nik: bool = True
    max_message_bytes: int = Field(512 * 1024, ge=1024)
    max_json_depth: int = Field(32, ge=8, le=256)
    db_pool_min: int = Field(2, ge=1)
    db_pool_max: int = Field(10, ge=1)
    relay_batch: int = Field(200, ge=1, le=10_000)
    relay_idle_seconds: float = Field(0.5, gt=0)
    retry_initial_seconds: float = Field(0.2, gt=0)
    retry_max_seconds: float = Field(10.0, gt=0)
    # The registry and the signing service are called over mutual TLS (hub/adapters/service_tls.py):
    # the hub presents its client certificate and checks theirs against the CA. The local reference
    # servers' CA and certificates are made on first use under .local/service-tls/.
    siak_url: str = "https://127.0.0.1:18080"
    service_ca_file: Path = Path(".local/service-tls/ca.crt")  # CA of the registry's and the signer's certificates
    service_client_cert: Path = Path(".local/service-tls/hub-client.crt")  # the hub's client certificate
    service_client_key: Path = Path(".local/service-tls/hub-client.key")  # and its private key
    siak_timeout_seconds: float = Field(5.0, gt=0)
    siak_retries: int = Field(2, ge=0, le=10)
    siak_breaker_failures: int = Field(5, ge=1)
    siak_breaker_reset_seconds: float = Field(10.0, gt=0)
    saga_workers: int = Field(4, ge=1, le=64)
    saga_retry_max_seconds: float = Field(30.0, gt=0)
    saga_poll_seconds: float = Field(0.5, gt=0)
    documents: bool = True  # issue the signed akta and KK with every registration
    document_workers: int = Field(2, ge=1, le=32)  # document jobs carried out concurrently per process
    document_processes: int = Field(2, ge=0, le=32)  # processes that render and sign (0: in the hub's own process)
    # Processes that validate notifications (0: the hub's own validator thread). Unset: one per core
    # beside the one the hub's event loop needs, at most two (one on a 2-core machine: 476/s against
    # 336/s in the thread, and 433/s with two; bench/results-2026-12-01-validation-process.md).
    validation_processes: int | None = Field(None, ge=0, le=32)
    document_retry_max_seconds: float = Field(30.0, gt=0)
    document_official_name: str = "Pejabat Contoh (lingkungan pengembangan)"
    signer: SignerKind = SignerKind.LOCAL
    pki_dir: Path = Path(".local/pki")  # the local signer's keys (created on first start)
    signer_url: str = "https://127.0.0.1:18085"
    signer_timeout_seconds: float = Field(5.0, gt=0)
    signer_retries: int = Field(2, ge=0, le=10)
    signer_breaker_failures: int = Field(5, ge=1)
    signer_breaker_reset_seconds: float = Field(10.0, gt=0)
    public_base_url: str = "http://127.0.0.1:18090"  # where verifiers find /status and /keys
    verify_host: str = "127.0.0.1"
    verify_port: int = Field(18090, ge=0, le=65535)  # the public verification service of `hub run` (0: off)
    status_list_ttl_seconds: int = Field(300, ge=1)
    # Personal data kept only to deliver messages (outbox bodies, dead letters, finished sagas, document
    # jobs and decided reviews) is removed this many days after its job was done; `hub run` purges
    # every retention_purge_seconds (0: never; `hub retention purge` on demand).
    retention_days: int = Field(30, ge=1, le=3650)
    retention_purge_seconds: float = Field(3600.0, ge=0)
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so Prometheus and the kubelet reach it
    metrics_port: int = Field(18091, ge=0, le=65535)  # /metrics, /healthz, /readyz of `hub run` (0: off)
    metrics_sample_seconds: float = Field(5.0, gt=0)  # how often backlogs and consumer lag are sampled
    siak_health_path: str = "/v1/health"  # the registry's health endpoint (contracts/siak-openapi.json), for readiness
    audit_key_file: Path = Path(".local/audit/anchor.key")  # seals the audit anchors; created on first use
    audit_anchor_file: Path = Path(".local/audit/anchors.jsonl")  # where the anchors are appended
    audit_anchor_seconds: float = Field(60.0, ge=0)  # how often `hub run` anchors a changed head (0: never)
    # The back-office console (hub/console): served by `hub run` and by `hub console` (0: not served).
    console_host: str = "127.0.0.1"
    console_port: int = Field(18092, ge=0, le=65535)
    console_idle_minutes: float = Field(30.0, gt=0)  # a session ends after this long without a request
    console_session_hours: float = Field(10.0, gt=0)  # and at the latest this long after sign-in
    console_secure_cookie: bool = True  # browsers keep Secure cookies for http://127.0.0.1 and localhost too
    log_level: str = "INFO"
    log_json: bool = False

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
        return upper

    @property
    def validation_workers(self) -> int:
        """`validation_processes`, or when unset what the machine has cores for."""
        if self.validation_processes is not None:
            return self.validation_processes
        return max(0, min(2, (os.cpu_count() or 1) - 1))

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    @property
    def dsn(self) -> str:
        return self.database_url.get_secret_value()

    @property
    def owner_dsn(self) -> str:
        """Where migrations run. A deployment that sets only HUB_DATABASE_URL migrates with that
        role: fine for the hub processes of a production deployment, which have nothing to migrate
        (its `hub migrate` gets both URLs), and for a single-role installation, whose role then
        owns the audit log (the hub warns; `hub audit verify` still detects a rewrite)."""
        if self.database_owner_url is not None:
            return self.database_owner_url.get_secret_value()
        return self.dsn if "database_url" in self.model_fields_set else LOCAL_OWNER_URL
