"""The test hospitals' trust material, and an environment made ready for them.

The seeded hospitals sign with hub/devtools/trusted_hospitals.py's key. `secure_environment`
registers it and, as the admin principal, creates the hub's topics and every active hospital's and
grants the hub's principals their ACLs, as `hub run` does at start.
"""

from __future__ import annotations

from hub.devtools.trusted_hospitals import ACTIVE, SEEDED, kid, register_keys, signature_headers

DEFAULT_HOSPITAL = ACTIVE[0]
__all__ = [
    "ACTIVE",
    "DEFAULT_HOSPITAL",
    "SEEDED",
    "hospitals_with_topics",
    "kid",
    "secure_environment",
    "signature_headers",
]


def hospitals_with_topics() -> frozenset[str]:
    """The hospitals whose topics `secure_environment` creates (the seeded, active ones)."""
    return frozenset(ACTIVE)


async def secure_environment(settings, pool) -> None:
    """Keys registered, topics made, the hub's ACLs granted (module docstring)."""
    from hub.adapters.postgres.registry import EmbeddedRegistry
    from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
    from hub.bootstrap import prepare_kafka

    await register_keys(lambda: PostgresUnitOfWork(pool, EmbeddedRegistry))
    await prepare_kafka(settings, pool)


def delivered(topics, raw: bytes, partition: int, offset: int, key: bytes | None = b"k", hospital: str | None = None):
    """The Delivery of a record as its sender publishes it: on its own notification topic, signed
    (for tests that hand records to the consumer's use case without Kafka). The hospital is the
    bundle's sender when it can be read, else `hospital` or DEFAULT_HOSPITAL."""
    from hub.service.ports import Delivery
    from tests.support.kafka import sender_of

    org = hospital or sender_of(raw) or DEFAULT_HOSPITAL
    ((_, value),) = signature_headers(org, raw)
    return Delivery(topics.notifications_of(org), partition, offset, key, signature=value)
