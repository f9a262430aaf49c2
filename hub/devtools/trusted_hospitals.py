"""Synthetic hospitals that sign like real ones, for tests, the benchmark and demos on throwaway data.

Every hospital `hub seed` creates (hub/devtools/simulation/population.py) can sign with one P-256
key made once per process and registered under the key id `dev-<org id>` in the database at hand.
Real hospitals never share a key: they are onboarded one by one with `hub hospitals add`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

from hub.devtools.simulation import population
from hub.domain.values import HospitalKey
from hub.intake import signature
from hub.service.ports import UnitOfWork

SEEDED = population.hospitals(sorted(population.REGENCIES))
ACTIVE = tuple(h.org_id for h in SEEDED if h.active)
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


@cache
def _key() -> tuple[bytes, dict]:
    return signature.new_key()


def kid(org_id: str) -> str:
    return f"dev-{org_id}"


def signature_headers(org_id: str, raw: bytes) -> list[tuple[str, bytes]]:
    """The header a hospital adds to a record: its detached JWS over the exact bytes."""
    private_pem, _ = _key()
    return [(signature.HEADER, signature.sign(raw, private_pem, kid(org_id)).encode())]


def keys() -> list[HospitalKey]:
    _, public_jwk = _key()
    return [HospitalKey(kid(h.org_id), h.org_id, public_jwk, SINCE) for h in SEEDED]


async def register_keys(unit_of_work: Callable[[], UnitOfWork]) -> int:
    """Register this process's key for every seeded hospital the database holds; returns how many
    were new."""
    added = 0
    async with unit_of_work() as uow:
        for key in keys():
            if await uow.hospitals.hospital(key.org_id) is None or await uow.hospitals.key(key.kid) is not None:
                continue
            await uow.hospitals.add_key(key)
            added += 1
        await uow.commit()
    return added
