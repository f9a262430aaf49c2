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
