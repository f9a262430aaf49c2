"""The hub's metrics, health endpoints and logs, read from the real hub process after real traffic.

A mixed batch (registrations, rejections, reviews, a stillbirth, a duplicate, a re-sent id,
unreadable messages and untrusted ones) goes through Kafka; afterwards /metrics must count exactly
what the hospitals received on their results topics (an untrusted record's answer counted as the
dead letter it is), the dead letters by reason, and show the consumer's lag back at 0 with the
outbox drained. The process logs JSON lines (as in production): each carries
its correlation fields, and none holds a NIK, KK number or the name of anyone in the registry.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import asyncpg
import pytest

from tests.e2e.test_mixed_batch import _build_batch, all_answered
from tests.support.hub_process import HubProcess
from tests.support.kafka import collect, publish, status_of
from tests.support.scrape import by_label, eventually, readiness, scrape, value
from tests.support.siak_process import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
REGISTRIES = ("embedded",)


@pytest.fixture(scope="module")
def observed_hub(environment, tmp_path_factory):
    port = free_port()
    hub = HubProcess(
        environment.env(HUB_METRICS_PORT=str(port), HUB_METRICS_SAMPLE_SECONDS="0.5", HUB_LOG_JSON="true"),
        tmp_path_factory.mktemp("hub") / "hub.log",
    )
    hub.start()
    yield hub, f"http://127.0.0.1:{port}"
    hub.stop()


@pytest.fixture(scope="module")
async def traffic(environment, observed_hub):
    settings, topics = environment.settings, environment.settings.topics
    batch = await _build_batch(settings.dsn)
    await publish(settings.kafka_bootstrap, topics.notifications, batch.messages)

    collected = await collect(
        settings.kafka_bootstrap,
        [topics.results, topics.dead_letters],
        until=lambda c: all_answered(batch, topics, c),
        timeout=90,
    )
    return batch, collected


async def test_answers_by_outcome_equal_the_results_the_hospitals_received(environment, observed_hub, traffic):
    _, base = observed_hub
    batch, collected = traffic
    results = collected.results_by_message(environment.settings.topics)
    trusted = {mid: copies for mid, copies in results.items() if mid not in batch.untrusted}
    statuses = Counter(status_of(copies[0].json()) for copies in trusted.values())
    answered = by_label(scrape(base), "hub_notifications_answered_total", "outcome")
    resent = sum(len(copies) - 1 for copies in results.values())
    assert {k: v for k, v in answered.items() if k in statuses} == statuses
    assert answered.get("resent-result") == resent == 1
    # An untrusted record is a dead letter, though its sender's topic owner gets a rejection.
    assert [status_of(results[mid][0].json()) for mid in batch.untrusted] == ["rejected"] * len(batch.untrusted)
    assert answered.get("dead-letter") == batch.dead_letters
    assert sum(answered.values()) == len(batch.messages)


async def test_codes_dead_letters_and_hospitals_are_counted(environment, observed_hub, traffic):
    _, base = observed_hub
    batch, collected = traffic
    samples = scrape(base)
    dead = {reason: n for reason, n in by_label(samples, "hub_dead_letters_total", "reason").items() if n}
    reasons = Counter(r.headers["dlq-reason"] for r in collected.on(environment.settings.topics.dead_letters))
    assert dead == dict(reasons) and sum(dead.values()) == batch.dead_letters
    untrusted = value(samples, "hub_notification_issues_total", outcome="dead-letter", code="SENDER-NOT-SIGNER")
    assert untrusted == dead["SENDER-NOT-SIGNER"] == len(batch.untrusted) == 2
    assert value(samples, "hub_notification_issues_total", outcome="rejected", code="SENDER-UNKNOWN") == 0
    assert (
        value(samples, "hub_notification_issues_total", outcome="review-pending", code="REVIEW-FATHER-NOT-FOUND") == 1
    )
    assert value(samples, "hub_notifications_by_hospital_total", hospital="103578001") >= batch.registered
    assert value(samples, "hub_notifications_received_total", topic=environment.settings.topics.notifications) == len(
        batch.messages
    )
    assert value(samples, "hub_notification_processing_seconds_count") == len(batch.messages)


async def test_lag_returns_to_zero_and_the_outbox_drains(environment, observed_hub, traffic):
    _, base = observed_hub
    answered = time.time()  # the traffic is answered: gauges sampled before now may predate it

    def settled() -> bool:
        samples = scrape(base)
        lag = by_label(samples, "hub_consumer_lag_records", "partition")
        sampled = by_label(samples, "hub_metrics_sample_timestamp_seconds", "probe")
        return (
            all(sampled.get(probe, 0) > answered for probe in ("backlogs", "consumer-lag"))
            and len(lag) == environment.settings.notification_partitions
            and not any(lag.values())
            and not any(by_label(samples, "hub_consumer_lag_seconds", "partition").values())
            and value(samples, "hub_outbox_backlog") == 0
            and value(samples, "hub_document_jobs_backlog") == 0
        )

    assert await eventually(settled, timeout=30), scrape(base)
    samples = scrape(base)
    assert value(samples, "hub_review_backlog") == 2
    assert value(samples, "hub_review_oldest_age_seconds") > 0
    assert value(samples, "hub_db_pool_connections", state="max") == environment.settings.db_pool_max


async def test_ready_with_every_dependency_named(observed_hub, traffic):
    _, base = observed_hub
    status, body = readiness(base)
    assert status == 200 and body["status"] == "ready"
    assert set(body["dependencies"]) == {"database", "kafka", "registry", "consumer"}
    assert all(d["ok"] for d in body["dependencies"].values())
    samples = scrape(base)
    assert by_label(samples, "hub_dependency_ready", "dependency") == dict.fromkeys(body["dependencies"], 1.0)


async def test_logs_are_json_lines_with_fields_and_no_personal_data(environment, observed_hub, traffic):
    hub, _ = observed_hub
    batch, _ = traffic
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        names = {r["name"] for r in await conn.fetch("SELECT name FROM persons")}
    finally:
        await conn.close()
    text = hub.log_text()
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    handled = [e for e in entries if e["msg"].startswith("notification handled")]

    assert len(handled) == len(batch.messages)
    assert all({"partition", "offset", "outcome"} <= set(e) and isinstance(e["offset"], int) for e in handled)
    assert {e["message_id"] for e in handled if "message_id" in e} >= set(batch.expected)
    assert re.search(r"(?<!\d)\d{16}(?!\d)", text) is None
    assert len(names) > 100 and not [name for name in names if name in text]
