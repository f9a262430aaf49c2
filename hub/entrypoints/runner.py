"""Run the hub: consumer and outbox relay in one process, until a signal or a bug stops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from hub.adapters.kafka.relay import OutboxRelay, idempotent_producer, wake_on_notify
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.postgres.database import translated
from hub.bootstrap import open_pool, prepare_database, registration_handler, seed_population
from hub.config import Settings
from hub.entrypoints.consumer import build_broker
from hub.service.retry import retry_transient

log = logging.getLogger("hub.run")
EXIT_BUG = 70  # EX_SOFTWARE: the process stopped on an unexpected error


async def run_hub(settings: Settings, *, seed_families: int = 0, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    backoff = {"initial": settings.retry_initial_seconds, "maximum": settings.retry_max_seconds}
    pool = await retry_transient(lambda: open_pool(settings), what="connect-postgres", **backoff)
    bug: list[BaseException] = []
    try:
        await retry_transient(lambda: prepare_database(pool), what="migrate", **backoff)
        if seed_families:
            stored = await seed_population(pool, families=seed_families)
            if stored:
                log.info("seeded synthetic population persons=%d families=%d", stored, seed_families)
        if settings.create_topics:
            await retry_transient(lambda: ensure_topics(settings.kafka_bootstrap, settings.topics,
                                                        settings.notification_partitions), what="topics", **backoff)
        handler = registration_handler(settings, pool)

        def on_bug(exc: BaseException) -> None:
            log.critical("unexpected error, stopping; the message will be redelivered error=%s", type(exc).__name__,
                         exc_info=exc)
            bug.append(exc)
            stop.set()

        broker = build_broker(settings, handler, on_bug)
        producer = idempotent_producer(settings.kafka_bootstrap)
        await retry_transient(producer.start, what="connect-kafka-producer", **backoff)
        try:
            await broker.start()
            log.info("hub running bootstrap=%s topic=%s group=%s", settings.kafka_bootstrap,
                     settings.topics.notifications, settings.consumer_group)
            relay = asyncio.create_task(relay_loop(settings, OutboxRelay(pool, producer, batch=settings.relay_batch), stop))
            relay.add_done_callback(lambda task: task.cancelled() or task.exception() is None or on_bug(task.exception()))
            await stop.wait()
            log.info("stopping: finishing the message in hand")
            await broker.stop()
            await _finish(relay)
        finally:
            await producer.stop()
    finally:
        await pool.close()
    return EXIT_BUG if bug else 0


async def relay_loop(settings: Settings, relay: OutboxRelay, stop: asyncio.Event) -> None:
    """Publish outbox rows as they commit; woken by NOTIFY, polling as a safety net."""
    wake = asyncio.Event()
    backoff = {"initial": settings.retry_initial_seconds, "maximum": settings.retry_max_seconds}
    listener = await retry_transient(lambda: _listen(settings.dsn, wake), what="relay-listen", **backoff)
    try:
        while True:
            wake.clear()
            published = await retry_transient(relay.publish_pending, what="relay", **backoff)
            if stop.is_set() and published == 0:
                return
            if published < settings.relay_batch:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), settings.relay_idle_seconds)
    finally:
        await listener.close()


async def _listen(dsn: str, wake: asyncio.Event):
    with translated():
        return await wake_on_notify(dsn, wake)


async def _finish(relay: asyncio.Task) -> None:
    """Let the relay publish what the last transactions committed, then stop it."""
    try:
        await asyncio.wait_for(relay, timeout=10)
    except asyncio.TimeoutError:
        log.warning("relay did not drain in time; unsent rows stay in the outbox for the next start")


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
