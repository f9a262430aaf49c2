"""End-to-end fixtures: a private environment and the hub running as its own process.

Every e2e module runs once per civil-registry adapter (embedded, and SIAK over HTTP against the
reference server), unless it names its own `REGISTRIES`. With `siak-http` the reference server
serves the same database the test seeds, so the tests read the registry's rows the same way.

Every hub process a test starts (through `hub_process` or its own HubProcess) is watched: a test
fails if one logged an ERROR or CRITICAL record during it, unless the test is marked
`allow_errors`. Records logged between tests (module fixtures, a hub stopping at the end of a
module) count against the next check: the next test, or the module's end.
"""

from __future__ import annotations

import pytest

from hub.bootstrap import open_pool
from hub.devtools.seed import seed_population
from tests.support.environment import create_environment, drop_environment
from tests.support.hub_process import HubProcess, forget_all, started
from tests.support.siak_process import SiakProcess
from tests.support.trust import secure_environment

REGISTRIES = ("embedded", "siak-http")


def _fail_on_hub_errors(node) -> None:
    errors = [line for hub in started() for line in hub.new_errors()]
    if errors and node.get_closest_marker("allow_errors") is None:
        shown = "\n".join(errors[:20]) + (f"\n... and {len(errors) - 20} more" if len(errors) > 20 else "")
        pytest.fail(f"the hub process logged {len(errors)} unexpected error record(s):\n{shown}", pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def hub_logs_at_module_end(request):
    """What the module's hubs logged after its last test (stopping): checked once they are stopped."""
    yield
    try:
        _fail_on_hub_errors(request.node)
    finally:
        forget_all()


@pytest.fixture(autouse=True)
def hub_logs_without_errors(request):
    """Fail the test if a hub process logged an ERROR it did not expect (see the module docstring)."""
    yield
    _fail_on_hub_errors(request.node)


def pytest_generate_tests(metafunc):
    if "environment" in metafunc.fixturenames:
        registries = getattr(metafunc.module, "REGISTRIES", REGISTRIES)
        metafunc.parametrize("environment", registries, indirect=True, scope="module")


@pytest.fixture(scope="module")
async def environment(request, tmp_path_factory):
    env = await create_environment(request.module.__name__.rsplit(".", 1)[-1][:20])
    pool = await open_pool(env.settings)
    try:
        await seed_population(pool, families=request.module.__dict__.get("FAMILIES", 60), seed_value=11)
        await secure_environment(env.settings, pool)
    finally:
        await pool.close()
    siak = None
    if request.param == "siak-http":
        siak = SiakProcess(env.settings.dsn, tmp_path_factory.mktemp("siak") / "siak.log", env.env())
        siak.start()
        env.extra.update(
            HUB_REGISTRY="siak-http",
            HUB_SIAK_URL=siak.url,
            HUB_SIAK_TIMEOUT_SECONDS="2",
            HUB_SIAK_BREAKER_RESET_SECONDS="2",
            HUB_SAGA_RETRY_MAX_SECONDS="2",
        )
    env.siak = siak
    yield env
    if siak is not None:
        siak.stop()
    await drop_environment(env)


@pytest.fixture(scope="module")
def hub_process(environment, tmp_path_factory):
    hub = HubProcess(environment.env(), tmp_path_factory.mktemp("hub") / "hub.log")
    hub.start()
    yield hub
    if hub.process.poll() is None:
        hub.stop()
