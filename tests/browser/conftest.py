"""Real-browser fixtures for the back-office console (issue #11): Playwright on Debian's chromium.

Every test under tests/browser is marked `browser` (and `e2e`, `kafka`, `postgres`): it drives the
console that a real `hub run` process serves, on the real Kafka broker and PostgreSQL database.
Chromium is Debian's package, /usr/bin/chromium (`make test` installs it: deploy/local/chromium.sh);
`playwright install` is never run. Playwright's async API runs in the tests' event loop.

Fixtures (module scope unless said otherwise; one hub process per test module):

`console_env` -> ConsoleEnv
    A private environment (own database seeded with FAMILIES synthetic families, default 40; own
    topic prefix; the embedded registry) and `hub run` serving the console on a free port
    (verification page and metrics off). A module sets `CONSOLE_ENV = {"HUB_X": "..."}` for more
    settings of its hub process.
      .base_url                  "http://127.0.0.1:<port>", the console
      .settings                  the environment's hub Settings (.dsn, .owner_dsn, .topics, ...)
      .env(**extra)              environment variables for a `hub` process in this environment
      await .cli(*args, input=None, check=True) -> CompletedProcess
                                 run `hub ARGS...` (python -m hub.entrypoints.cli) in this environment;
                                 `input` is fed to stdin; check=True fails the test on a non-zero exit
      await .add_user(role, username=None, name=None) -> Account
                                 one more console user (`hub users add ... --password-stdin`)
      await .fetch(sql, *args) / .execute(sql, *args)
                                 a query as the database's owner role (e.g. to age a session)
      await .households(n)       n seeded households (tests/support/people.py) to build births from
      await .send(*specs)        publish BirthSpecs (people.birth(household, hospital)) as hospitals
                                 do; returns their message ids
      await .results(message_id, hospital=None, count=1, timeout=60) -> list[Received]
                                 the results the hub published for that notification (distinct event
                                 ids, oldest first), waiting until there are `count` of them;
                                 Received has .key (the hospital id), .headers, .json()
      .hub                       the HubProcess (.log_text())
      .visited                   every console URL the module's pages requested

`users` -> dict[str, Account]
    One console user per role ("officer", "supervisor", "operator", "auditor"), created through
    `hub users add NAME --role R --name "Uji <Role>" --reason ... --password-stdin` (while the hub
    starts) with a password made for this run. Account is a (username, password) named tuple.

`browser` (session) -> playwright Browser
    One headless chromium for the whole session.

`new_page` (function) -> async new_page() -> Page
    A page in a fresh browser context (viewport 1280x800, locale id-ID, base_url = the console, so
    `page.goto("/masuk")` works), not signed in.

`page_as` (function) -> async page_as(role, *, shared=False) -> Page
    A page signed in as that role's user through the real sign-in form, on the page the sign-in
    landed on ("/"). Each call makes a fresh context. With shared=True the page opens in the
    module's one signed-in context of that role instead (signing in once per module, and again if
    that session has ended): cheaper, for tests that only read and do not sign out or age sessions.
    Pages and fresh contexts are closed at the test's end; shared contexts at the module's end.

`sign_in` -> async sign_in(page, username, password, *, next=None) -> Response | None
    Fill in and submit the sign-in form (going to /masuk, or /masuk?next=..., unless the page is
    already on it); returns the response the form's submission navigated to.

`shoot` (session) -> async shoot(page, name) -> Path
    Save a full-page PNG at tests/artifacts/screenshots/<name>.png (git-ignored) and return its path.

Checks made for every test, which fail it:
  - the hub process logged an ERROR or CRITICAL record (unless the test is marked `allow_errors`);
  - a page threw a JavaScript error or the browser logged a console error (a Content-Security-Policy
    violation, for one), other than "Failed to load resource" for a 4xx/5xx answer;
  - a URL a page requested contains a 16-digit number (a NIK or KK number must never be in a URL:
    URLs end up in logs and browser history), unless marked `@pytest.mark.browser(nik_urls=True)`.

Example:

    async def test_dashboard_greets_the_officer(page_as, users, shoot):
        page = await page_as("officer")
        await expect(page.locator("h1")).to_be_visible()   # from playwright.async_api import expect
        await shoot(page, "dashboard-officer")

    async def test_the_hospital_gets_a_second_result(console_env, page_as):
        [home] = await console_env.households(1)
        spec = birth(replace(home, mother=replace(home.mother, name="Nama Lain")), "103578001")
        [message_id] = await console_env.send(spec)
        assert len(await console_env.results(message_id)) == 1   # sent to review
        page = await page_as("officer")
        ...  # decide the review in the console
        second = (await console_env.results(message_id, count=2))[1].json()
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Response, async_playwright

from hub.bootstrap import open_pool
from hub.devtools.seed import seed_population
from hub.devtools.simulation.bundles import BirthSpec, build_notification
from tests.support.environment import Environment, create_environment, drop_environment
from tests.support.hub_process import HubProcess
from tests.support.kafka import Collected, Received, collect, publish
from tests.support.people import Household, households
from tests.support.ports import low_ports
from tests.support.trust import secure_environment

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parent / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ROLES = ("officer", "supervisor", "operator", "auditor")
VIEWPORT = {"width": 1280, "height": 800}
LOCALE = "id-ID"
SIGN_IN = "/masuk"
# Sixteen digits in a row, not part of a longer number: a NIK or a KK number.
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
# What chromium logs at "error" level for every 4xx/5xx answer: tests ask for 403s on purpose.
_FAILED_LOAD = "Failed to load resource"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            for name in ("browser", "e2e", "kafka", "postgres"):
                item.add_marker(name)


class Account(NamedTuple):
    username: str
    password: str


@dataclass
class ConsoleEnv:
    environment: Environment
    hub: HubProcess
    port: int
    users: dict[str, Account] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self):
        return self.environment.settings

    def env(self, **extra: str) -> dict[str, str]:
        return self.environment.env(**extra)

    async def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        def run() -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "hub.entrypoints.cli", *args],
                input=input,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        done = await asyncio.to_thread(run)
        if check and done.returncode != 0:
            pytest.fail(f"hub {' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
        return done

    async def add_user(self, role: str, username: str | None = None, name: str | None = None) -> Account:
        """A new console user with that role (`hub users add ... --password-stdin`) and a fresh password."""
        account = Account(username or f"{role}-{secrets.token_hex(3)}", secrets.token_urlsafe(18))
        await self.cli(
            "users",
            "add",
            account.username,
            "--role",
            role,
            "--name",
            name or f"Uji {role.capitalize()}",
            "--reason",
            "browser tests",
            "--password-stdin",
            input=account.password + "\n",
        )
        return account

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.environment.owner_dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def execute(self, sql: str, *args: Any) -> str:
        conn = await asyncpg.connect(self.environment.owner_dsn)
        try:
            return await conn.execute(sql, *args)
        finally:
            await conn.close()

    async def households(self, count: int) -> list[Household]:
        return await households(self.settings.dsn, count)

    async def send(self, *specs: BirthSpec) -> list[str]:
        messages = [(s.mother.nik.encode(), json.dumps(build_notification(s)).encode()) for s in specs]
        await publish(self.settings.kafka_bootstrap, self.settings.topics.notifications, messages)
        return [s.message_id for s in specs]

    async def results(
        self, message_id: str, *, hospital: str | None = None, count: int = 1, timeout: float = 60
    ) -> list[Received]:
        topic = self.settings.topics.results

        def found(collected: Collected) -> list[Received]:
            distinct: dict[str, Received] = {}
            for r in collected.on(topic):
                if r.headers.get("correlation-id") != message_id:
                    continue
                if hospital is not None and (r.key or b"").decode() != hospital:
                    continue
                distinct.setdefault(r.headers.get("event-id", ""), r)
            return list(distinct.values())

        collected = await collect(
            self.settings.kafka_bootstrap, [topic], until=lambda c: len(found(c)) >= count, timeout=timeout
        )
        results = found(collected)
        if len(results) < count:
            pytest.fail(f"{len(results)} result(s) for message {message_id} after {timeout}s, {count} expected")
        return results


async def _wait_for_console(url: str, hub: HubProcess, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            try:
                if (await client.get(url + SIGN_IN)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if loop.time() > deadline:
                raise RuntimeError(
                    f"the console did not answer at {url}{SIGN_IN} in {timeout}s:\n{hub.log_text()[-3000:]}"
                )
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def console_env(request, tmp_path_factory):
    module = request.module
    env = await create_environment("web_" + module.__name__.rsplit(".", 1)[-1][:16])
    hub = None
    try:
        pool = await open_pool(env.settings)
        try:
            await seed_population(pool, families=getattr(module, "FAMILIES", 40), seed_value=11)
            await secure_environment(env.settings, pool)
        finally:
            await pool.close()
        [port] = low_ports(1)
        variables = {
            "HUB_CONSOLE_HOST": "127.0.0.1",
            "HUB_CONSOLE_PORT": str(port),
            "HUB_VERIFY_PORT": "0",
            "HUB_METRICS_PORT": "0",
            **getattr(module, "CONSOLE_ENV", {}),
        }
        env.extra.update(variables)
        hub = HubProcess(env.env(), tmp_path_factory.mktemp("hub") / "hub.log")
        console = ConsoleEnv(env, hub, port)
        # The users are rows in the database: made while the hub starts (each `hub` command takes a while).
        _, *accounts = await asyncio.gather(asyncio.to_thread(hub.start), *(console.add_user(r) for r in ROLES))
        console.users.update(zip(ROLES, accounts, strict=True))
        await _wait_for_console(console.base_url, hub)
        yield console
    finally:
        if hub is not None and hub.process is not None:
            await asyncio.to_thread(hub.stop)
        await drop_environment(env)
    errors = hub.new_errors() if hub is not None else []
    if errors:
        pytest.fail("the hub logged while stopping:\n" + "\n".join(errors[:20]), pytrace=False)


@pytest.fixture(autouse=True)
def _hub_logs_without_errors(request):
    """Fail the test if the module's hub logged an ERROR it did not expect (`allow_errors` lets it)."""
    if "console_env" not in request.fixturenames:
        yield
        return
    hub = request.getfixturevalue("console_env").hub
    yield
    errors = hub.new_errors()
    if errors and request.node.get_closest_marker("allow_errors") is None:
        shown = "\n".join(errors[:20])
        pytest.fail(f"the hub process logged {len(errors)} unexpected error record(s):\n{shown}", pytrace=False)


@pytest.fixture(scope="module")
def users(console_env) -> dict[str, Account]:
    return console_env.users


@pytest.fixture(scope="session")
async def browser():
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield chromium
        finally:
            await chromium.close()


class _Watch:
    """What the pages of one test did wrong: script errors, console errors, NIKs in URLs."""

    def __init__(self, visited: list[str]) -> None:
        self.visited = visited
        self.problems: list[str] = []
        self.urls: list[str] = []

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._request)
        context.on("page", self.page)

    def page(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"script error on {page.url}: {error}"))
        page.on("console", lambda message: self._console(page, message))

    def _request(self, request) -> None:
        self.urls.append(request.url)
        self.visited.append(request.url)

    def _console(self, page: Page, message) -> None:
        if message.type == "error" and _FAILED_LOAD not in message.text:
            self.problems.append(f"console error on {page.url}: {message.text}")

    def check(self, node) -> None:
        problems = list(self.problems)
        if not any(m.kwargs.get("nik_urls") for m in node.iter_markers("browser")):
            problems += [f"a 16-digit number in a URL: {url}" for url in self.urls if SIXTEEN_DIGITS.search(url)]
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


async def _new_context(browser: Browser, console_env: ConsoleEnv, watch: _Watch) -> BrowserContext:
    context = await browser.new_context(base_url=console_env.base_url, viewport=VIEWPORT, locale=LOCALE)
    watch.attach(context)
    return context


async def _sign_in(page: Page, username: str, password: str, *, next: str | None = None) -> Response | None:
    if next is not None:
        await page.goto(f"{SIGN_IN}?{httpx.QueryParams({'next': next})}")
    elif httpx.URL(page.url).path != SIGN_IN:
        await page.goto(SIGN_IN)
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    async with page.expect_navigation() as navigation:
        await page.click("#signin")
    return await navigation.value


@pytest.fixture
def sign_in() -> Callable[..., Awaitable[Response | None]]:
    return _sign_in


@pytest.fixture(scope="module")
async def _shared_contexts():
    contexts: dict[str, BrowserContext] = {}
    yield contexts
    for context in contexts.values():
        await context.close()


@pytest.fixture
async def _watch(request, console_env):
    watch = _Watch(console_env.visited)
    yield watch
    watch.check(request.node)


@pytest.fixture
async def new_page(browser, console_env, _watch):
    contexts: list[BrowserContext] = []

    async def make() -> Page:
        context = await _new_context(browser, console_env, _watch)
        contexts.append(context)
        return await context.new_page()

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
async def page_as(browser, console_env, users, new_page, _watch, _shared_contexts):
    pages: list[Page] = []

    async def make(role: str, *, shared: bool = False) -> Page:
        account = users[role]
        if not shared:
            page = await new_page()
            await _sign_in(page, *account)
            _assert_signed_in(page, role)
            return page
        if role not in _shared_contexts:
            _shared_contexts[role] = await _new_context(browser, console_env, _watch)
        context = _shared_contexts[role]
        _watch.attach(context)  # this test's watch, for this test's pages
        page = await context.new_page()
        pages.append(page)
        await page.goto("/")
        if httpx.URL(page.url).path == SIGN_IN:  # first use, or the session has ended
            await _sign_in(page, *account)
            _assert_signed_in(page, role)
        return page

    yield make
    for page in pages:
        await page.close()
    for context in _shared_contexts.values():  # the next test attaches its own watch
        context.remove_listener("request", _watch._request)
        context.remove_listener("page", _watch.page)


def _assert_signed_in(page: Page, role: str) -> None:
    if httpx.URL(page.url).path == SIGN_IN:
        pytest.fail(f"signing in as the {role} did not leave the sign-in page ({page.url})", pytrace=False)


async def _shoot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def shoot() -> Callable[[Page, str], Awaitable[Path]]:
    return _shoot
