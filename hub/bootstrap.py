"""Wiring: build the hub's parts from the settings. The only place that knows every adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from hub.adapters.audit_anchoring import AuditAnchoring, AuditReport
from hub.adapters.audit_anchors import AnchorKeyError
from hub.adapters.kafka.admin import broker_admin
from hub.adapters.kafka.lag import ConsumerLag
from hub.adapters.kafka.reader import TopicReader
from hub.adapters.kafka.security import access
from hub.adapters.passwords import Argon2Passwords
from hub.adapters.postgres.audit import PostgresAuditLog, rewrite_privileges
from hub.adapters.postgres.dashboard import PostgresDashboard
from hub.adapters.postgres.database import borrowed, connection, create_pool, migrate
from hub.adapters.postgres.operations import PostgresReplayRuns
from hub.adapters.postgres.operator_views import PostgresOperationsView
from hub.adapters.postgres.registry import EmbeddedRegistry
from hub.adapters.postgres.retention import purge_expired
from hub.adapters.postgres.sagas import record_breaker
from hub.adapters.postgres.schema import pending_migrations
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.adapters.regions import kecamatan_known, region_name
from hub.adapters.service_tls import client_ssl_context, require_https
from hub.adapters.siak.breaker import CircuitBreaker
from hub.adapters.siak.client import SiakClient
from hub.adapters.siak.health import siak_reachable
from hub.adapters.siak.registry import SiakHttpRegistry
from hub.config import RegistryKind, Settings, SignerKind
from hub.documents.trust import TrustList
from hub.errors import ConfigurationError, OperatorError, StoreUnavailable
from hub.observability import metrics
from hub.service import topic_layout
from hub.service.accounts import Accounts, SessionPolicy
from hub.service.dashboard import Dashboard
from hub.service.document_desk import DocumentDesk
from hub.service.documents_content import Issuer
from hub.service.hospitals import ClientProfile, HospitalDesk, HubPrincipals, grant_hub_acls
from hub.service.pipeline import IntakeLimits, Pipeline
from hub.service.ports import AuditEntry, DocumentSigner
from hub.service.proposals import ProposalDesk
from hub.service.register_birth import Inspector, RegisterBirths
from hub.service.registry_sagas import RegistrySagaWorker
from hub.service.replay import ReplayMessages
from hub.service.replay_runs import ReplayJobs, ReplayRuns
from hub.service.review import ReviewDecisions
from hub.service.trust import SenderTrust

log = logging.getLogger("hub.bootstrap")
UnitOfWorkFactory = Callable[[], PostgresUnitOfWork]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def open_pool(settings: Settings) -> asyncpg.Pool:
    return await create_pool(settings.dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)


async def prepare_database(settings: Settings) -> list[str]:
    """Apply pending migrations as the owner role and grant the runtime role what it needs (and
    no more): `hub migrate`, `hub seed` and the start of `hub run`. Returns the migrations applied."""
    async with connection(settings.dsn) as runtime:
        role = await runtime.fetchval("SELECT current_user")
        async with connection(settings.owner_dsn) as owner:
            try:
                applied = await migrate(owner, runtime_role=role)
            except asyncpg.InsufficientPrivilegeError as exc:
                raise ConfigurationError(
                    f"cannot apply the migrations: {exc} (set HUB_DATABASE_OWNER_URL to the role that owns the schema)"
                ) from None
        if powers := await rewrite_privileges(runtime):
            log.warning(
                "the runtime role may rewrite the audit log (%s): run the hub as a role that does not own the "
                "schema, with HUB_DATABASE_OWNER_URL for the owner (README: the audit log and its database roles) role=%s",
                "/".join(powers),
                role,
            )
    return applied


def audit_anchoring(settings: Settings, pool: asyncpg.Pool) -> AuditAnchoring:
    return AuditAnchoring(pool, settings.audit_key_file, settings.audit_anchor_file, utc_now)


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool for one command, closed when it is done. Nothing is migrated here."""
    pool = await open_pool(settings)
    try:
        yield pool
    finally:
        await pool.close()


def issuer(settings: Settings) -> Issuer | None:
    """What documents need from the settings; None when documents are switched off."""
    if not settings.documents:
        return None
    return Issuer(region_name, settings.document_official_name, settings.public_base_url)


def pipeline(settings: Settings) -> Pipeline:
    limits = IntakeLimits(settings.max_message_bytes, settings.max_json_depth, settings.strict_nik)
    return Pipeline(
        settings.topics,
        limits,
        kecamatan_known,
        defer_registry=settings.registry is RegistryKind.SIAK_HTTP,
        issuer=issuer(settings),
        trust=SenderTrust(settings.topics),  # every record's sender is checked first (hub/service/trust.py)
    )


@contextlib.asynccontextmanager
async def document_signer(settings: Settings) -> AsyncIterator[DocumentSigner]:
    """The configured signer: the local key store (created under `pki_dir` if missing) or the
    remote signing service's client."""
    if settings.signer is SignerKind.LOCAL:
        from hub.adapters.signing.local import LocalSigner
        from hub.adapters.signing.pki import ensure_keys

        if ensure_keys(settings.pki_dir):
            log.info("created a development signing key and CA dir=%s", settings.pki_dir)
        yield LocalSigner(settings.pki_dir)
        return
    from hub.adapters.signing.remote import RemoteSigner

    breaker = CircuitBreaker(
        failure_threshold=settings.signer_breaker_failures,
        reset_after=settings.signer_breaker_reset_seconds,
        on_change=_signer_breaker_changed,
    )
    metrics.breaker_changed("signer", "closed")
    client = RemoteSigner(
        require_https(settings.signer_url, "HUB_SIGNER_URL"),
        timeout=settings.signer_timeout_seconds,
        retries=settings.signer_retries,
        backoff=settings.retry_initial_seconds,
        breaker=breaker,
        ssl_context=client_ssl_context(settings),
    )
    try:
        yield client
    finally:
        await client.close()


def document_worker(
    settings: Settings,
    uow: UnitOfWorkFactory,
    signer: DocumentSigner,
    maker=None,
    clock: Callable[[], datetime] = utc_now,
):
    from hub.service.documents import DocumentWorker

    found = issuer(settings)
    assert found is not None, "document workers run only when documents are on"
    return DocumentWorker(
        uow,
        signer,
        found,
        settings.topics,
        clock,
        retry_initial=settings.retry_initial_seconds,
        retry_max=settings.document_retry_max_seconds,
        maker=maker,
    )


@contextlib.contextmanager
def document_maker(settings: Settings):
    """Where documents are rendered and signed: a pool of `document_processes` processes, each with
    its own signer of the configured kind; None (0 processes): in the hub's own process."""
    if settings.document_processes == 0:
        yield None
        return
    from functools import partial

    from hub.adapters import documents_pool as pool

    if settings.signer is SignerKind.LOCAL:
        factory = partial(pool.local_signer, str(settings.pki_dir))
    else:
        client_ssl_context(settings)  # a missing certificate stops the start, not each document process
        factory = partial(
            pool.remote_signer,
            require_https(settings.signer_url, "HUB_SIGNER_URL"),
            settings.signer_timeout_seconds,
            settings.signer_retries,
            settings.retry_initial_seconds,
            settings.signer_breaker_failures,
            settings.signer_breaker_reset_seconds,
            tls=(str(settings.service_ca_file), str(settings.service_client_cert), str(settings.service_client_key)),
        )
    maker = pool.ProcessPoolMaker(factory, settings.document_processes)
    try:
        yield maker
    finally:
        maker.close()


@contextlib.asynccontextmanager
async def units_of_work(
    settings: Settings, pool: asyncpg.Pool, *, report_breaker: bool = False
) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work with the configured civil registry (embedded, or SIAK over HTTP).

    `report_breaker`: record this process's circuit breaker for `hub registry` (the running hub
    does; one-off operator commands do not)."""
    if settings.registry is RegistryKind.EMBEDDED:
        yield lambda: PostgresUnitOfWork(pool, EmbeddedRegistry)
        return
    process = f"{socket.gethostname()}:{os.getpid()}"
    if report_breaker:
        await _store_breaker(pool, process, "closed", 0)  # visible to operators from the start
    breaker = _breaker(settings, pool, process if report_breaker else None)
    client = SiakClient(
        require_https(settings.siak_url, "HUB_SIAK_URL"),
        timeout=settings.siak_timeout_seconds,
        retries=settings.siak_retries,
        backoff=settings.retry_initial_seconds,
        breaker=breaker,
        ssl_context=client_ssl_context(settings),
    )
    try:
        yield lambda: PostgresUnitOfWork(pool, lambda _conn: SiakHttpRegistry(client))
    finally:
        await client.close()


def _breaker(settings: Settings, pool: asyncpg.Pool, process: str | None) -> CircuitBreaker:
    pending: set[asyncio.Task] = set()

    metrics.breaker_changed("registry", "closed")

    def changed(state: str, failures: int) -> None:
        log.warning("registry circuit %s failures=%d", state, failures)
        metrics.breaker_changed("registry", state)
        if process is None:
            return
        task = asyncio.get_running_loop().create_task(_store_breaker(pool, process, state, failures))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return CircuitBreaker(
        failure_threshold=settings.siak_breaker_failures,
        reset_after=settings.siak_breaker_reset_seconds,
        on_change=changed,
    )


def _signer_breaker_changed(state: str, failures: int) -> None:
    log.warning("signer circuit %s failures=%d", state, failures)
    metrics.breaker_changed("signer", state)


async def registry_ready(settings: Settings) -> str:
    """The embedded registry is the database itself; SIAK must answer its health endpoint."""
    if settings.registry is RegistryKind.EMBEDDED:
        return "embedded (in the database)"
    return await siak_reachable(
        settings.siak_url, settings.siak_health_path, settings.siak_timeout_seconds, client_ssl_context(settings)
    )


async def _store_breaker(pool: asyncpg.Pool, process: str, state: str, failures: int) -> None:
    """Record the breaker for `hub registry`; with the database away the row waits for the next change."""
    try:
        async with borrowed(pool) as conn:
            await record_breaker(conn, process, state, failures)
    except StoreUnavailable as exc:
        log.warning("registry circuit not recorded state=%s error=%s", state, type(exc.__cause__).__name__)


def registration_handler(
    settings: Settings, pool: asyncpg.Pool, clock: Callable[[], datetime] = utc_now
) -> RegisterBirths:
    """The consumer's use case on the embedded registry (benchmarks and tests use it directly)."""
    return RegisterBirths(lambda: PostgresUnitOfWork(pool, EmbeddedRegistry), pipeline(settings), clock)


def consumer_handler(
    settings: Settings,
    uow: UnitOfWorkFactory,
    clock: Callable[[], datetime] = utc_now,
    inspector: Inspector | None = None,
) -> RegisterBirths:
    return RegisterBirths(uow, pipeline(settings), clock, inspector)


@contextlib.asynccontextmanager
async def validation(settings: Settings) -> AsyncIterator[Inspector | None]:
    """Where the consumer validates notifications: `validation_workers` worker processes, or
    (None, 0 processes) the hub's own validator thread."""
    if settings.validation_workers == 0:
        yield None
        return
    from hub.adapters.validation_pool import ProcessInspector

    inspector = ProcessInspector(pipeline(settings), settings.validation_workers)
    try:
        yield inspector
    finally:
        inspector.close()


def saga_worker(
    settings: Settings, uow: UnitOfWorkFactory, clock: Callable[[], datetime] = utc_now
) -> RegistrySagaWorker:
    return RegistrySagaWorker(
        uow,
        pipeline(settings),
        clock,
        retry_initial=settings.retry_initial_seconds,
        retry_max=settings.saga_retry_max_seconds,
    )


# --- operator commands -------------------------------------------------------------------------
# They never migrate: a schema change is a deliberate step (`hub migrate`, or `hub run` starting a
# new release), not a side effect of looking something up or approving a case, possibly under
# hub processes of the previous release. On a schema that is behind they refuse and say so.


@dataclass(frozen=True)
class Operations:
    """What the read-only operator commands use (status, dlq, review list/show, audit, registry,
    documents show/get)."""

    view: PostgresOperationsView
    documents: DocumentDesk
    audit: AuditAnchoring  # verifies the audit chain; anchors it after `status --show-personal-data`


@dataclass(frozen=True)
class OperatorActions:
    """What the operator commands that change something use: review decisions, replay and its
    runs, document corrections and revocations, and the read model. The audit chain is anchored
    when the command ends (also when it fails: what it committed before counts)."""

    view: PostgresOperationsView
    documents: DocumentDesk
    reviews: ReviewDecisions
    replay: ReplayMessages
    runs: PostgresReplayRuns
    read_topic: Callable[[str], TopicReader]  # a bounded reader of one topic, outside any consumer group


@contextlib.asynccontextmanager
async def operations(settings: Settings) -> AsyncIterator[Operations]:
    async with current_database(settings) as pool:
        documents = DocumentDesk(lambda: PostgresUnitOfWork(pool), settings.topics, utc_now)  # reads: no registry call
        yield Operations(PostgresOperationsView(pool), documents, audit_anchoring(settings, pool))


@contextlib.asynccontextmanager
async def operator_actions(settings: Settings) -> AsyncIterator[OperatorActions]:
    async with current_database(settings) as pool, units_of_work(settings, pool) as uow:
        try:
            yield _operator_actions(settings, pool, uow)
        finally:
            await audit_anchoring(settings, pool).anchor_or_warn()


def _operator_actions(settings: Settings, pool: asyncpg.Pool, uow: UnitOfWorkFactory) -> OperatorActions:
    return OperatorActions(
        PostgresOperationsView(pool),
        DocumentDesk(uow, settings.topics, utc_now),
        ReviewDecisions(uow, pipeline(settings), utc_now),
        ReplayMessages(uow, pipeline(settings), utc_now),
        PostgresReplayRuns(pool),
        lambda topic: TopicReader(access(settings), topic),
    )


def replay_runs(
    settings: Settings, actions: OperatorActions, parse_time: Callable[[str | None], datetime | None] | None = None
) -> ReplayRuns:
    """Replay runs (`hub replay`, the console) on the operator actions' use cases and reader."""
    return ReplayRuns(
        actions.replay,
        actions.runs,
        actions.view,
        actions.read_topic,
        settings.topics,
        retry_initial=settings.retry_initial_seconds,
        retry_max=settings.retry_max_seconds,
        clock=utc_now,
        parse_time=parse_time,
    )


@dataclass(frozen=True)
class BackOffice:
    """What the back-office console uses: the same use cases as the operator commands (review
    decisions, replay, documents, the read model, the audit chain), plus the console's accounts,
    on one long-lived pool. Each console area adds the use cases it calls here."""

    settings: Settings
    actions: OperatorActions  # exactly what the operator commands use
    accounts: Accounts
    audit: AuditAnchoring
    replays: ReplayJobs  # the console's replay runs (hub.service.replay_runs), going in this process
    dashboard: Dashboard  # today's figures, the backlogs, the breakers and the consumer lag
    proposals: ProposalDesk  # corrections officers propose and supervisors decide (applied via actions.documents)


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=settings.console_idle_minutes), lifetime=timedelta(hours=settings.console_session_hours)
    )


async def verify_audit(anchoring: AuditAnchoring) -> AuditReport:
    """`hub audit verify` for the console: the chain and its anchors; a key file that is not a key
    is refused as an OperatorError (the console may not know the adapters' exceptions)."""
    try:
        return await anchoring.verify()
    except AnchorKeyError as exc:
        raise OperatorError(f"cannot check the anchors: {exc}") from None


def _dashboard(settings: Settings, pool: asyncpg.Pool) -> Dashboard:
    """The console's dashboard: its read model on the pool, the consumer group's lag from Kafka."""
    lag = ConsumerLag(access(settings), settings.consumer_group, settings.topics.notification_pattern)
    return Dashboard(PostgresDashboard(pool), lag, utc_now, region_name, settings.registry.value)


@contextlib.asynccontextmanager
async def back_office(settings: Settings) -> AsyncIterator[BackOffice]:
    """The console's services; the audit chain is anchored when it closes."""
    async with current_database(settings) as pool, units_of_work(settings, pool) as uow:
        anchoring = audit_anchoring(settings, pool)
        actions = _operator_actions(settings, pool, uow)
        dashboard = _dashboard(settings, pool)
        replays = ReplayJobs(replay_runs(settings, actions), utc_now)
        try:
            yield BackOffice(
                settings,
                actions,
                Accounts(uow, Argon2Passwords(), utc_now, session_policy(settings)),
                anchoring,
                replays=replays,
                dashboard=dashboard,
                proposals=ProposalDesk(uow, actions.documents, utc_now),
            )
        finally:
            await dashboard.close()
            await replays.close()  # runs still going keep their positions: `hub replay --resume RUN`
            await anchoring.anchor_or_warn()


@contextlib.asynccontextmanager
async def hospital_desk(settings: Settings) -> AsyncIterator[HospitalDesk]:
    """`hub hospitals`: the directory and the audit log, and the broker as the admin principal
    (whose password is read only when a command reaches Kafka). Anchored when it closes."""
    from hub.adapters.kafka.security import MECHANISM, PROTOCOL

    profile = ClientProfile(
        settings.hospital_bootstrap or settings.kafka_bootstrap, settings.kafka_ca_file, PROTOCOL, MECHANISM
    )
    async with current_database(settings) as pool:
        try:
            yield HospitalDesk(
                lambda: PostgresUnitOfWork(pool),
                broker_admin(settings),
                settings.topics,
                utc_now,
                regency_known=lambda code: region_name(code) is not None,
                profile=profile,
                hub=hub_principals(settings),
                secrets_dir=settings.hospital_secrets_dir,
                partitions=settings.hospital_partitions,
            )
        finally:
            await audit_anchoring(settings, pool).anchor_or_warn()


@contextlib.asynccontextmanager
async def accounts(settings: Settings) -> AsyncIterator[Accounts]:
    """`hub users`: the console's accounts (no registry needed)."""
    async with current_database(settings) as pool:
        try:
            yield Accounts(lambda: PostgresUnitOfWork(pool), Argon2Passwords(), utc_now, session_policy(settings))
        finally:
            await audit_anchoring(settings, pool).anchor_or_warn()


async def purge_personal_data(
    settings: Settings, pool: asyncpg.Pool, actor: str, *, dry_run: bool = False
) -> dict[str, int]:
    """Remove the bodies whose retention period has passed; a purge that removed anything is
    audited (counts per table, no data) and anchored. Returns what was (or would be) removed."""
    now = utc_now()
    counts = await purge_expired(pool, now - timedelta(days=settings.retention_days), dry_run=dry_run)
    if not dry_run and any(counts.values()):
        reason = f"retention period of {settings.retention_days} days passed"
        async with borrowed(pool) as conn, conn.transaction():
            await PostgresAuditLog(conn).append(
                AuditEntry(actor, "retention-purge", "personal-data", reason, counts), now
            )
        await audit_anchoring(settings, pool).anchor_or_warn()
    return counts


@contextlib.asynccontextmanager
async def current_database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database whose schema is current (operator commands refuse to run otherwise)."""
    async with database(settings) as pool:
        async with pool.acquire() as conn:
            try:
                pending = await pending_migrations(conn)
            except asyncpg.InsufficientPrivilegeError:
                raise OperatorError(
                    "this database role may not read the schema's state: the runtime role's privileges are "
                    "granted by `hub migrate` (run it with HUB_DATABASE_OWNER_URL)"
                ) from None
        if pending:
            raise OperatorError(
                f"the database schema is behind this hub (not applied: {', '.join(pending)}); "
                "run `hub migrate` first (`hub run` also migrates when it starts)"
            )
        yield pool


def ensure_signing_keys(settings: Settings) -> bool:
    """The local signer's development CA and signing key under `pki_dir`; True if created now."""
    from hub.adapters.signing.pki import ensure_keys

    return ensure_keys(settings.pki_dir)


def rotate_signing_key(settings: Settings, *, now: datetime, overlap: timedelta) -> str:
    """Make a new local signing key current; returns its key id."""
    from hub.adapters.signing.pki import ensure_keys, rotate

    ensure_keys(settings.pki_dir)
    return rotate(settings.pki_dir, now=now, overlap=overlap)


def published_keys(settings: Settings) -> TrustList:
    """The local signer's keys as verifiers get them."""
    from hub.adapters.signing.pki import load_keys

    return TrustList.from_signing_keys(load_keys(settings.pki_dir))


async def prepare_kafka(settings: Settings, pool: asyncpg.Pool) -> list[str]:
    """As the admin principal: the hub's topics and every active hospital's, created when missing,
    and the ACLs of the hub's consumer and relay principals (granting an existing ACL is a no-op).
    `hub run` does it at start when HUB_CREATE_TOPICS is on; a production cluster gets the same from
    deploy/kafka/ (Strimzi KafkaTopic and KafkaUser resources). Returns the topics created."""
    async with PostgresUnitOfWork(pool, EmbeddedRegistry) as uow:
        hospitals = [h.org_id for h in await uow.hospitals.listed() if h.active]
    admin = broker_admin(settings)
    created = await admin.ensure_topics(
        topic_layout.topic_specs(
            settings.topics, hospitals, settings.notification_partitions, settings.hospital_partitions
        )
    )
    await grant_hub_acls(admin, settings.topics, hub_principals(settings))
    return created


def hub_principals(settings: Settings) -> HubPrincipals:
    return HubPrincipals(settings.kafka_username, settings.kafka_relay_username, settings.consumer_group)
