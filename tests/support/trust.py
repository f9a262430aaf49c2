"""The test hospitals' trust material: their signing key, and an environment made ready for them.

Every hospital `hub seed` creates (hub/devtools/simulation/population.py) signs with one P-256 key
made once per test process, registered in each test database under the key id `test-<org id>`.
`secure_environment` registers those keys and, as the admin principal, creates the hub's topics and
every active hospital's and grants the hub's principals their ACLs, as `hub run` does at start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from hub.devtools.simulation import population
from hub.domain.values import HospitalKey
from hub.intake import signature

SEEDED = population.hospitals(sorted(population.REGENCIES))
ACTIVE = tuple(h.org_id for h in SEEDED if h.active)
DEFAULT_HOSPITAL = ACTIVE[0]
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


@cache
def _key() -> tuple[bytes, dict]:
    return signature.new_key()


def kid(org_id: str) -> str:
    return f"test-{org_id}"


def hospitals_with_topics() -> frozenset[str]:
    """The hospitals whose topics `secure_environment` creates (the seeded, active ones)."""
    return frozenset(ACTIVE)


def signature_headers(org_id: str, raw: bytes) -> list[tuple[str, bytes]]:
    """The header a hospital adds to a record: its detached JWS over the exact bytes."""
    private_pem, _ = _key()
    return [(signature.HEADER, signature.sign(raw, private_pem, kid(org_id)).encode())]


def test_keys() -> list[HospitalKey]:
    _, public_jwk = _key()
    return [HospitalKey(kid(h.org_id), h.org_id, public_jwk, SINCE) for h in SEEDED]


async def register_keys(unit_of_work) -> int:
    """Register the test key of every seeded hospital the database holds; returns how many were new."""
    added = 0
    async with unit_of_work() as uow:
        for key in test_keys():
            if await uow.hospitals.hospital(key.org_id) is None or await uow.hospitals.key(key.kid) is not None:
                continue
            await uow.hospitals.add_key(key)
            added += 1
        await uow.commit()
    return added


async def secure_environment(settings, pool) -> None:
    """Keys registered, topics made, the hub's ACLs granted (module docstring)."""
    from hub.adapters.postgres.registry import EmbeddedRegistry
    from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
    from hub.bootstrap import prepare_kafka

    await register_keys(lambda: PostgresUnitOfWork(pool, EmbeddedRegistry))
    await prepare_kafka(settings, pool)
