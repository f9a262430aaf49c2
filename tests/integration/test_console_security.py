"""The console's sign-in, sessions, CSRF and headers on the real database, through its ASGI app
(tests/browser drives the same in Chromium): a change without the session's CSRF token, or from
another origin, is refused and changes nothing; the JSON API answers 401/403 as JSON; the sign-in
page never sends anyone to another site."""

from __future__ import annotations

import re

import httpx
import pytest

from hub.bootstrap import back_office
from hub.console.app import create_console_app
from hub.service.accounts import ROLES

PASSWORD = "kata-sandi-uji-12345"


@pytest.fixture(scope="module")
async def console(environment):
    settings = environment.settings.model_copy(
        update={"console_secure_cookie": False}
    )  # httpx keeps Secure cookies for https only
    async with back_office(settings) as desk:
        for role in ROLES:  # the module's own database: no account exists yet
            await desk.accounts.add(role, f"Uji {role}", role, PASSWORD, "test@host", "test account")
        yield create_console_app(desk), desk


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://console.test", follow_redirects=False
    )


async def signed_in(app, role: str) -> tuple[httpx.AsyncClient, str]:
    browser = client(app)
    answer = await browser.post("/masuk", data={"username": role, "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303, answer.text
    page = await browser.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return browser, token.group(1)


async def test_the_session_cookie_is_httponly_and_samesite_strict(console):
    app, _ = console
    async with client(app) as browser:
        answer = await browser.post("/masuk", data={"username": "officer", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "hub_console=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


async def test_pages_carry_the_security_headers(console):
    app, _ = console
    async with client(app) as browser:
        answer = await browser.get("/masuk")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


async def test_a_wrong_csrf_token_is_refused_and_the_session_lives_on(console):
    app, _ = console
    browser, token = await signed_in(app, "officer")
    try:
        refused = await browser.post("/keluar", data={"csrf_token": token[:-2] + "xx"})
        assert refused.status_code == 403 and 'id="error-csrf"' in refused.text
        assert (await browser.get("/")).status_code == 200  # still signed in
        missing = await browser.post("/keluar", data={})
        assert missing.status_code == 403
        other_site = await browser.post(
            "/keluar", data={"csrf_token": token}, headers={"origin": "https://evil.example"}
        )
        assert other_site.status_code == 403
        assert (await browser.get("/")).status_code == 200
        done = await browser.post("/keluar", data={"csrf_token": token}, headers={"origin": "http://console.test"})
        assert done.status_code == 303
        assert (await browser.get("/")).headers["location"] == "/masuk?next=/"
    finally:
        await browser.aclose()


async def test_the_api_answers_json_401_without_a_session_and_403_without_the_token(console):
    app, _ = console
    async with client(app) as api:
        assert (await api.get("/api/v1/session")).json()["code"] == "SIGNIN-NEEDED"
        signed = await api.post("/api/v1/session", json={"username": "auditor", "password": PASSWORD})
        assert signed.status_code == 200 and signed.json()["role"] == "auditor"
        assert (await api.delete("/api/v1/session")).status_code == 403
        assert (
            await api.delete("/api/v1/session", headers={"x-csrf-token": signed.json()["csrf_token"]})
        ).status_code == 204
        assert (await api.get("/api/v1/session")).status_code == 401
        wrong = await api.post("/api/v1/session", json={"username": "auditor", "password": "not-the-password"})
        assert wrong.status_code == 401 and PASSWORD not in wrong.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
async def test_signing_in_never_sends_the_user_to_another_site(console, target):
    app, _ = console
    async with client(app) as browser:
        answer = await browser.post("/masuk", data={"username": "officer", "password": PASSWORD, "next": target})
    assert answer.headers["location"] == "/"


async def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(console):
    app, _ = console
    async with client(app) as browser:
        away = await browser.get("/antrean")
        assert away.status_code == 303 and away.headers["location"] == "/masuk?next=/antrean"
        back = await browser.post("/masuk", data={"username": "officer", "password": PASSWORD, "next": "/antrean"})
        assert back.headers["location"] == "/antrean"


async def test_the_language_switch_renders_english(console):
    app, _ = console
    browser, _ = await signed_in(app, "officer")
    try:
        assert '<html lang="id">' in (await browser.get("/")).text
        await browser.post("/bahasa", data={"lang": "en", "back": "/"})
        page = (await browser.get("/")).text
    finally:
        await browser.aclose()
    assert '<html lang="en">' in page and "Sign out" in page
