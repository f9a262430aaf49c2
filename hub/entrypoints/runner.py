"""Run the hub: consumer, outbox relay and (for an external registry) saga workers in one process.

Stops on SIGINT/SIGTERM after the message in hand, or on an unexpected error (exit code 70): the
message being handled is then rewound and redelivered to the restarted hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError

from hub.adapters.kafka.lag import ConsumerLag
from hub.adapters.kafka.relay import OutboxRelay, idempotent_producer
from hub.adapters.kafka.security import Role, access
from hub.adapters.postgres.backlog import database_ready, sample_backlogs, sample_pool
from hub.adapters.postgres.database import translated
from hub.adapters.postgres.documents import DOCUMENT_CHANNEL
from hub.adapters.postgres.listener import NotifyListener
from hub.adapters.postgres.sagas import SAGA_CHANNEL
from hub.adapters.postgres.store import OUTBOX_CHANNEL
from hub.bootstrap import (
    audit_anchoring,
    consumer_handler,
    document_maker,
    document_signer,
    document_worker,
    open_pool,
    prepare_database,
    prepare_kafka,
    purge_personal_data,
    registry_ready,
    saga_worker,
    units_of_work,
    validation,
)
from hub.config import RegistryKind, Settings
from hub.entrypoints.consumer import build_broker
from hub.errors import BrokerUnavailable
from hub.observability.health import Readiness
from hub.observability.sampler import sample_forever
from hub.service.registry_sagas import RegistrySagaWorker
from hub.service.retry import retry_transient

log = logging.getLogger("hub.run")
EXIT_BUG = 70  # EX_SOFTWARE: the process stopped on an unexpected error
T = TypeVar("T")


async def run_hub(
    settings: Settings,
    *,
    prepare: Callable[[asyncpg.Pool], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """`prepare` runs once the schema is current, before consuming (the CLI seeds a development
    registry with it; the production path knows nothing of synthetic data)."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    bug: list[BaseException] = []

    def on_bug(exc: BaseException) -> None:
        log.critical(
            "unexpected error, stopping; the message will be redelivered error=%s", type(exc).__name__, exc_info=exc
        )
        bug.append(exc)
        stop.set()

    pool = await _retry(settings, lambda: open_pool(settings), "connect-postgres")
    try:
        await _prepare(settings, pool, prepare)
        async with (
            units_of_work(settings, pool, report_breaker=True) as uow,
            _documents(settings) as (signer, maker),
            validation(settings) as inspector,
        ):
            broker = build_broker(settings, consumer_handler(settings, uow, inspector=inspector), on_bug)
            relay = OutboxRelay(
                pool, lambda: idempotent_producer(access(settings, Role.RELAY)), batch=settings.relay_batch
            )
            await _retry(settings, relay.connect, "connect-kafka-producer")
            try:
                await _retry(settings, lambda: _start_consumer(broker), "connect-kafka-consumer")
                log.info(
                    "hub running bootstrap=%s topics=%s group=%s registry=%s",
                    settings.kafka_bootstrap,
                    settings.topics.notification_pattern,
                    settings.consumer_group,
                    settings.registry.value,
                )
                tasks = [_watched(relay_loop(settings, relay, stop), on_bug)]
                if settings.registry is RegistryKind.SIAK_HTTP:
                    worker = saga_worker(settings, uow)
                    tasks += [_watched(saga_loop(settings, worker, stop), on_bug) for _ in range(settings.saga_workers)]
                if settings.metrics_port:
                    lag = ConsumerLag(access(settings), settings.consumer_group, settings.topics.notification_pattern)
                    tasks.append(_watched(_sample(settings, pool, lag, stop), on_bug))
                    readiness = _readiness(settings, pool, relay, broker)
                    tasks.append(_watched(serve_operations(settings, readiness, stop), on_bug))
                if settings.audit_anchor_seconds:  # the audit chain's head, anchored outside the database
                    anchoring = audit_anchoring(settings, pool).keep_anchored(settings.audit_anchor_seconds, stop)
                    tasks.append(_watched(anchoring, on_bug))
                if settings.retention_purge_seconds:  # personal data past its retention period
                    tasks.append(_watched(retention_loop(settings, pool, stop), on_bug))
                if signer is not None:
                    documents = document_worker(settings, uow, signer, maker)
                    tasks += [
                        _watched(document_loop(settings, documents, stop), on_bug)
                        for _ in range(settings.document_workers)
                    ]
                    if settings.verify_port:
                        tasks.append(_watched(serve_verification(settings, pool, signer, stop), on_bug))
                if settings.console_port:
                    tasks.append(_watched(serve_console(settings, stop), on_bug))
                await stop.wait()
                log.info("stopping: finishing the message in hand")
                await broker.stop()
                await _finish(tasks)
            finally:
                await relay.close()
    finally:
        await pool.close()
    return EXIT_BUG if bug else 0


async def _prepare(settings: Settings, pool, prepare) -> None:
    """Migrations wait for a database that is down, starting, read-only or full, like all else."""
    await _retry(settings, lambda: _store(prepare_database(settings)), "migrate")
    if prepare is not None:
        await prepare(pool)
    if settings.create_topics:
        await _retry(settings, lambda: prepare_kafka(settings, pool), "topics")


async def retention_loop(settings: Settings, pool, stop: asyncio.Event) -> None:
    """Purge what the retention period releases, at start and every HUB_RETENTION_PURGE_SECONDS."""
    actor = f"hub run@{socket.gethostname()}"
    while not stop.is_set():
        counts = await _retry(settings, lambda: purge_personal_data(settings, pool, actor), "retention")
        if any(counts.values()):
            log.info("retention purge removed=%d days=%d", sum(counts.values()), settings.retention_days)
        await _wait(stop, settings.retention_purge_seconds)


async def _start_consumer(broker) -> None:
    """Start the subscriber; a broker that vanished since the topics were made is waited for, and so
    is an ACL not in force yet (one just granted takes a moment to reach the brokers; a missing one
    keeps the hub waiting, and saying so, until an operator grants it)."""
    try:
        await broker.start()
    except KafkaConnectionError as exc:
        await broker.stop()
        raise BrokerUnavailable(f"cannot start the consumer: {exc}") from exc
    except (GroupAuthorizationFailedError, TopicAuthorizationFailedError) as exc:
        await broker.stop()
        raise BrokerUnavailable(f"the consumer's principal is not authorised (yet): {type(exc).__name__}") from exc


async def relay_loop(settings: Settings, relay: OutboxRelay, stop: asyncio.Event) -> None:
    """Publish outbox rows as they commit; woken by NOTIFY, polling as a safety net. Drains on stop."""
    async with NotifyListener(settings.dsn, OUTBOX_CHANNEL) as listener:
        while True:
            await _woken(settings, listener, "relay-listen")
            published = await _retry(settings, relay.publish_pending, "relay")
            if stop.is_set() and published == 0:
                return
            if published < settings.relay_batch:
                await _wait(listener.wake, settings.relay_idle_seconds)


async def saga_loop(settings: Settings, worker: RegistrySagaWorker, stop: asyncio.Event) -> None:
    """Carry out due registry sagas until stopped; woken when the consumer opens one."""
    async with NotifyListener(settings.dsn, SAGA_CHANNEL) as listener:
        while not stop.is_set():
            await _woken(settings, listener, "saga-listen")
            if await _retry(settings, worker.run_one, "saga") is None:
                await _wait(listener.wake, settings.saga_poll_seconds)


async def document_loop(settings: Settings, worker, stop: asyncio.Event) -> None:
    """Issue owed documents until stopped; woken when a registration requests them."""
    async with NotifyListener(settings.dsn, DOCUMENT_CHANNEL) as listener:
        while not stop.is_set():
            await _woken(settings, listener, "documents-listen")
            if await _retry(settings, worker.run_one, "documents") is None:
                await _wait(listener.wake, settings.saga_poll_seconds)


async def serve_verification(settings: Settings, pool, signer, stop: asyncio.Event) -> None:
    """The public verification service (no sign-in) in this process, until stopped."""
    from hub.entrypoints.verify_web import create_verify_app

    app = create_verify_app(pool, signer, settings)
    await _serve_app(app, settings.verify_host, settings.verify_port, stop, "the verification service")


async def serve_console(settings: Settings, stop: asyncio.Event) -> None:
    """The back-office console in this process, on its own pool, until stopped."""
    from hub.bootstrap import back_office
    from hub.console.app import create_console_app

    async with back_office(settings) as desk:
        await _serve_app(create_console_app(desk), settings.console_host, settings.console_port, stop, "the console")


async def serve_console_until_stopped(settings: Settings) -> None:
    """`hub console`: the console alone, until Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    _stop_on_signals(stop)
    await serve_console(settings, stop)


async def serve_operations(settings: Settings, readiness: Readiness, stop: asyncio.Event) -> None:
    """/metrics, /healthz and /readyz for Prometheus and the orchestrator, until stopped."""
    from hub.observability.web import create_ops_app

    await _serve_app(
        create_ops_app(readiness), settings.metrics_host, settings.metrics_port, stop, "the metrics service"
    )


def _readiness(settings: Settings, pool, relay: OutboxRelay, broker) -> Readiness:
    """Ready: the database takes writes, the broker answers, the registry is reachable and the
    consumer holds partitions (a hub beyond the partition count waits as a standby: not ready).
    Before any hospital is onboarded there is no topic to consume: ready, and idle."""

    async def consumer() -> str:
        consumers = [s.consumer for s in broker.subscribers if getattr(s, "consumer", None) is not None]
        assigned = sorted((tp.topic, tp.partition) for c in consumers for tp in c.assignment())
        if not assigned:
            if consumers and not any(c.subscription() for c in consumers):
                return "no hospital topics yet"
            raise RuntimeError("no partitions assigned (joining the group, or more hubs than partitions)")
        hospitals = {settings.topics.hospital_of(topic) for topic, _ in assigned}
        return f"{len(assigned)} partitions of {len(hospitals)} hospitals' topics"

    return Readiness(
        {
            "database": lambda: database_ready(pool),
            "kafka": relay.broker_ready,
            "registry": lambda: registry_ready(settings),
            "consumer": consumer,
        }
    )


async def _sample(settings: Settings, pool, lag: ConsumerLag, stop: asyncio.Event) -> None:
    async def pool_use() -> None:
        sample_pool(pool)

    async def consumer_lag() -> None:
        await lag.sample()

    try:
        await sample_forever(
            {"backlogs": lambda: sample_backlogs(pool), "pool": pool_use, "consumer-lag": consumer_lag},
            settings.metrics_sample_seconds,
            stop,
        )
    finally:
        await lag.close()


async def _serve_app(app, host: str, port: int, stop: asyncio.Event, what: str) -> None:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    )
    serving = asyncio.ensure_future(_serve(server))
    await asyncio.wait([serving, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    if not await serving:
        log.error("%s could not listen on %s:%d (port in use?); the hub runs without it", what, host, port)


async def _serve(server) -> bool:
    """uvicorn exits the process when it cannot bind: keep the hub, report the service as not started."""
    try:
        await server.serve()
    except SystemExit:
        return False
    return server.started


@contextlib.asynccontextmanager
async def _documents(settings: Settings):
    """(signer, maker) when documents are on: the signer names keys, the maker renders and signs."""
    if not settings.documents:
        yield None, None
        return
    async with document_signer(settings) as signer:
        with document_maker(settings) as maker:
            yield signer, maker


def _watched(work: Awaitable[None], on_bug: Callable[[BaseException], None]) -> asyncio.Task:
    task = asyncio.ensure_future(work)

    def done(finished: asyncio.Future[None]) -> None:
        if not finished.cancelled() and (error := finished.exception()) is not None:
            on_bug(error)

    task.add_done_callback(done)
    return task


async def _retry(settings: Settings, operation, what: str):
    return await retry_transient(
        operation, initial=settings.retry_initial_seconds, maximum=settings.retry_max_seconds, what=what
    )


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


async def _store(operation: Awaitable[T]) -> T:
    with translated():
        return await operation


async def _woken(settings: Settings, listener: NotifyListener, what: str) -> None:
    """Before a round of work: forget the last wake-up, and listen again if the database restarted."""
    listener.wake.clear()
    await _retry(settings, listener.ensure, what)


async def _finish(tasks: list[asyncio.Task]) -> None:
    """Let the relay publish what the last transactions committed and the saga workers end their
    current saga; a saga cut off here is simply due again at the next start."""
    try:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    except TimeoutError:
        log.warning("background work did not finish in time; unsent rows and due sagas wait for the next start")


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
