"""Integration fixtures: a private, migrated and seeded database on the real PostgreSQL server."""

from __future__ import annotations

import os

import pytest

from hub.adapters.postgres.registry import EmbeddedRegistry
from hub.adapters.postgres.unit_of_work import PostgresUnitOfWork
from hub.bootstrap import open_pool
from hub.devtools.seed import seed_population
from hub.devtools.trusted_hospitals import register_keys
from tests.support.environment import create_environment, drop_environment
from tests.support.siak_process import SiakProcess

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
async def environment(request):
    env = await create_environment(request.module.__name__.rsplit(".", 1)[-1][:20])
    pool = await open_pool(env.settings)
    try:
        await seed_population(pool, families=40, seed_value=3)
        await register_keys(lambda: PostgresUnitOfWork(pool, EmbeddedRegistry))  # the seeded hospitals sign
    finally:
        await pool.close()
    yield env
    await drop_environment(env)


@pytest.fixture
async def pool(environment):
    pool = await open_pool(environment.settings)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def siak(environment, tmp_path_factory):
    """The reference SIAK server (its own process) over the module's database."""
    server = SiakProcess(environment.settings.dsn, tmp_path_factory.mktemp("siak") / "siak.log", dict(os.environ))
    server.start()
    yield server
    server.stop()
