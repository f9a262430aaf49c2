"""The CivilRegistry specification (tests/contracts/registry.py) run against the siak-http adapter
(SiakHttpRegistry over SiakClient) and the real reference SIAK server, on the module's database.

The unit of work is the hub's production one for an external registry: PostgreSQL for the hub's
own tables, the registry over HTTP. Registry writes are made at once by SIAK, not on commit; a
repeated write of one message id (same Idempotency-Key) gets the first answer again.
"""

from __future__ import annotations

import pytest

from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.adapters.siak.breaker import CircuitBreaker
from hub.adapters.siak.client import SiakClient
from hub.adapters.siak.registry import SiakHttpRegistry
from tests.contracts.registry import CivilRegistryContract, Home
from tests.support.people import households

pytestmark = pytest.mark.postgres
HOSPITAL = "103578001"  # seeded


@pytest.fixture
async def client(siak):
    client = SiakClient(
        siak.url,
        timeout=5,
        retries=1,
        backoff=0.05,
        breaker=CircuitBreaker(failure_threshold=5, reset_after=1),
        ssl_context=siak.tls,
    )
    yield client
    await client.close()


@pytest.fixture
def make(pool, client):
    return lambda: PostgresUnitOfWork(pool, lambda _conn: SiakHttpRegistry(client))


@pytest.fixture(scope="module")
async def seeded_homes(environment):
    return iter(await households(environment.settings.dsn, 30))


@pytest.fixture
def home(seeded_homes) -> Home:
    return Home.of(next(seeded_homes), HOSPITAL)


class TestSiakHttpCivilRegistry(CivilRegistryContract):
    transactional = False
    corrects_children = False
