"""The hub's Prometheus metrics: one registry, every metric named here and nowhere else.

Counters and histograms move where the work happens (consumer, relay, workers); gauges that
describe stored state (outbox, review queue, sagas, document jobs, consumer lag) are sampled
periodically by `hub.observability.sampler`, so a scrape never queries the database.

Labels carry outcomes, codes, topics, partitions and states only: never a message id, hospital
name or anything personal (a label per message would also explode the series count). The alert
rules in deploy/prometheus/ and the Grafana dashboard in deploy/grafana/ use these names.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_AGE = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# --- notifications (the consumer) ---------------------------------------------------------------
RECEIVED = Counter("hub_notifications_received", "Notification records read from Kafka.", ["topic"], registry=REGISTRY)
ANSWERED = Counter(
    "hub_notifications_answered",
    "Notifications handled, by outcome: registered, duplicate, stillbirth-recorded, review-pending, "
    "rejected, registry-pending (SIAK saga opened), resent-result, already-processed, dead-letter.",
    ["outcome"],
    registry=REGISTRY,
)
ISSUES = Counter(
    "hub_notification_issues",
    "Error and review codes found in handled notifications (one per code per message).",
    ["outcome", "code"],
    registry=REGISTRY,
)
BY_HOSPITAL = Counter(
    "hub_notifications_by_hospital",
    "Notifications handled per sending hospital (its SATUSEHAT organisation id; at most "
    "HOSPITAL_LABELS distinct ids per process, the rest count as 'other'), for 'a hospital went quiet'.",
    ["hospital"],
    registry=REGISTRY,
)
HOSPITAL_LABELS = 5000
_hospitals_seen: set[str] = set()


def hospital_label(hospital_id: str | None) -> str:
    """A bounded label: a flood of invented sender ids must not create unbounded series."""
    if not hospital_id:
        return "unknown"
    if hospital_id in _hospitals_seen:
        return hospital_id
    if len(_hospitals_seen) < HOSPITAL_LABELS and len(hospital_id) <= 64 and hospital_id.isprintable():
        _hospitals_seen.add(hospital_id)
        return hospital_id
    return "other"


DEAD_LETTERS = Counter(
    "hub_dead_letters", "Messages parked on the dead-letter topic, by reason.", ["reason"], registry=REGISTRY
)
PROCESSING = Histogram(
    "hub_notification_processing_seconds",
    "Time from a batch's arrival to its committed transaction, observed once per message.",
    buckets=_SECONDS,
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "hub_consumer_batch_size",
    "Records per consumed batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
    registry=REGISTRY,
)
END_TO_END_AGE = Histogram(
    "hub_result_age_seconds",
    "Age of a hospital's notification (its Kafka record timestamp) when its result is published.",
    buckets=_AGE,
    registry=REGISTRY,
)

# --- Kafka consumer lag (sampled) ----------------------------------------------------------------
LAG_RECORDS = Gauge(
    "hub_consumer_lag_records",
    "Records on the notification topic not yet committed by the hub's consumer group.",
    ["topic", "partition"],
    registry=REGISTRY,
)
LAG_SECONDS = Gauge(
    "hub_consumer_lag_seconds",
    "Age of the oldest notification not yet committed (0 when the partition is caught up).",
    ["topic", "partition"],
    registry=REGISTRY,
)

# --- outbox relay ---------------------------------------------------------------------------------
PUBLISHED = Counter("hub_outbox_published", "Outbox rows published to Kafka.", ["topic"], registry=REGISTRY)
OUTBOX_BACKLOG = Gauge("hub_outbox_backlog", "Outbox rows not yet published.", registry=REGISTRY)
OUTBOX_OLDEST = Gauge(
    "hub_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when empty).", registry=REGISTRY
)

# --- review queue, registry sagas, documents (sampled) --------------------------------------------
REVIEW_BACKLOG = Gauge("hub_review_backlog", "Review cases waiting for a decision.", registry=REGISTRY)
REVIEW_OLDEST = Gauge(
    "hub_review_oldest_age_seconds", "Age of the oldest open review case (0 when none).", registry=REGISTRY
)
SAGAS = Gauge(
    "hub_registry_sagas",
    "Registry writes to SIAK not yet finished, by state (pending, failed-retrying, failed-permanent).",
    ["state"],
    registry=REGISTRY,
)
SAGA_OLDEST = Gauge(
    "hub_registry_saga_oldest_age_seconds",
    "Age of the oldest registry saga still to be written (pending or failed-retrying; 0 when none).",
    registry=REGISTRY,
)
BREAKER = Gauge(
    "hub_circuit_breaker_state",
    "Circuit breaker of an external dependency: 0 closed, 1 half-open, 2 open.",
    ["dependency"],
    registry=REGISTRY,
)
DOCUMENT_BACKLOG = Gauge("hub_document_jobs_backlog", "Document jobs not yet done.", registry=REGISTRY)
DOCUMENT_OLDEST = Gauge(
    "hub_document_jobs_oldest_age_seconds", "Age of the oldest pending document job (0 when none).", registry=REGISTRY
)
DOCUMENTS_ISSUED = Counter(
    "hub_documents_issued", "Signed documents issued, by kind (akta, kk).", ["kind"], registry=REGISTRY
)
DOCUMENT_SECONDS = Histogram(
    "hub_document_job_seconds",
    "Time to render, sign and store one document job.",
    buckets=_SECONDS,
    registry=REGISTRY,
)

# --- database pool ----------------------------------------------------------------------------------
DB_POOL = Gauge(
    "hub_db_pool_connections",
    "PostgreSQL connections of this process's pool, by state (used, idle, max).",
    ["state"],
    registry=REGISTRY,
)

# --- HTTP servers (the reference SIAK and signer servers, the verification service) ---------------
HTTP_REQUESTS = Counter(
    "hub_http_requests",
    "Requests served, by server, method, route template (never the raw path) and status.",
    ["server", "method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "hub_http_request_seconds",
    "Time to serve a request, by server and route template.",
    ["server", "route"],
    buckets=_SECONDS,
    registry=REGISTRY,
)

SAMPLED = Gauge(
    "hub_metrics_sample_timestamp_seconds",
    "When each sampler probe (backlogs, pool, consumer-lag) last succeeded: a stale value means the "
    "sampled gauges are frozen at their last reading.",
    ["probe"],
    registry=REGISTRY,
)

# --- dependencies (readiness) -------------------------------------------------------------------------
READY = Gauge(
    "hub_dependency_ready",
    "1 when the last readiness check found the dependency usable (database, broker, registry, consumer).",
    ["dependency"],
    registry=REGISTRY,
)

BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}


def breaker_changed(dependency: str, state: str) -> None:
    BREAKER.labels(dependency=dependency).set(BREAKER_STATES.get(state, 2))


def prime(outcomes: list[str], dead_letter_reasons: list[str]) -> None:
    """Creates the known label values at 0, so the first event of each is seen by `increase()`."""
    for outcome in outcomes:
        ANSWERED.labels(outcome)
    for reason in dead_letter_reasons:
        DEAD_LETTERS.labels(reason)
