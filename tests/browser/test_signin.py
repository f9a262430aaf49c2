"""Signing in and out of the console in a real browser, and what every page's answer carries.

The hub runs as `hub run` with the console on a free port; the users are made with `hub users add`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, expect

COOKIE = "hub_console"
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def session_cookie(page: Page) -> dict | None:
    return next((c for c in await page.context.cookies() if c["name"] == COOKIE), None)


async def live_sessions(console_env, token: str) -> int:
    rows = await console_env.fetch(
        "SELECT count(*) AS n FROM console_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))", token
    )
    return rows[0]["n"]


async def test_an_officer_signs_in_and_lands_on_the_dashboard(new_page, users, sign_in, shoot):
    page = await new_page()
    answer = await page.goto("/")
    assert answer is not None and answer.ok
    assert path_of(page) == "/masuk"  # no session: the sign-in page first
    await expect(page.locator("html")).to_have_attribute("lang", "id")
    await expect(page.locator("#signin")).to_be_visible()
    await shoot(page, "signin")

    landed = await sign_in(page, *users["officer"])
    assert landed is not None and landed.status == 200
    assert path_of(page) == "/"
    await expect(page.locator("#signout")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "id")
    await shoot(page, "signed-in")


async def test_a_wrong_password_shows_an_error_and_sets_no_cookie(new_page, users, sign_in):
    page = await new_page()
    username, password = users["officer"]
    answer = await sign_in(page, username, password + "x")
    assert answer is not None and answer.status == 401
    assert path_of(page) == "/masuk"
    await expect(page.locator("#signin-refused")).to_be_visible()
    await expect(page.locator("input[name=password]")).to_have_value("")  # never sent back
    assert await session_cookie(page) is None
    await page.goto("/")
    assert path_of(page) == "/masuk"


async def test_signing_out_ends_the_session_on_the_server(page_as, console_env):
    page = await page_as("officer")
    cookie = await session_cookie(page)
    assert cookie is not None and await live_sessions(console_env, cookie["value"]) == 1
    async with page.expect_navigation() as navigation:
        await page.click("#signout")
    assert (await navigation.value).ok and path_of(page) == "/masuk"
    assert await session_cookie(page) is None
    assert await live_sessions(console_env, cookie["value"]) == 0

    await page.goto("/")
    assert path_of(page) == "/masuk"
    await page.context.add_cookies([cookie])  # the old cookie, replayed: the server has forgotten it
    await page.goto("/")
    assert path_of(page) == "/masuk"


async def test_an_expired_session_signs_in_again_and_returns_to_the_page_asked_for(
    page_as, users, console_env, sign_in
):
    page = await page_as("operator")
    cookie = await session_cookie(page)
    assert cookie is not None
    aged = await console_env.execute(
        "UPDATE console_sessions SET expires_at = now() - interval '1 minute' "
        "WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
        cookie["value"],
    )
    assert aged == "UPDATE 1"

    await page.goto("/pengguna")
    assert path_of(page) == "/masuk"
    assert parse_qs(urlsplit(page.url).query).get("next") == ["/pengguna"]
    await expect(page.locator("#expired")).to_be_visible()  # says why, rather than a bare sign-in page
    landed = await sign_in(page, *users["operator"])  # the form on this page, which carries `next`
    assert landed is not None and landed.status == 200
    assert path_of(page) == "/pengguna"


async def test_an_officer_may_not_open_the_users_page(page_as):
    page = await page_as("officer", shared=True)
    await expect(page.locator('nav a[href="/pengguna"]')).to_have_count(0)
    answer = await page.goto("/pengguna")
    assert answer is not None and answer.status == 403
    await expect(page.locator("#forbidden")).to_be_visible()
    assert path_of(page) == "/pengguna"


@pytest.mark.parametrize("token", ["tampered", None], ids=["wrong-token", "no-token"])
async def test_a_post_with_a_wrong_csrf_token_is_refused_and_changes_nothing(page_as, console_env, token):
    page = await page_as("officer")
    cookie = await session_cookie(page)
    assert cookie is not None
    field = page.locator('form[action="/keluar"] input[name=csrf_token]')
    if token is None:
        await field.evaluate("input => input.remove()")
    else:
        await field.evaluate("(input, token) => { input.value = token; }", token)
    async with page.expect_navigation() as navigation:
        await page.click("#signout")
    refused = await navigation.value
    assert refused is not None and refused.status == 403

    assert await live_sessions(console_env, cookie["value"]) == 1  # still signed in
    assert await session_cookie(page) == cookie
    await page.goto("/")
    assert path_of(page) == "/"
    await expect(page.locator("#signout")).to_be_visible()


async def test_the_session_cookie_is_http_only_strict_and_secure(page_as):
    page = await page_as("officer", shared=True)
    cookie = await session_cookie(page)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is True
    assert cookie["path"] == "/"
    assert COOKIE not in await page.evaluate("document.cookie")  # out of scripts' reach


async def test_every_answer_carries_the_security_headers(new_page, page_as):
    anonymous = await new_page()
    officer = await page_as("officer", shared=True)
    answers = [await anonymous.goto("/masuk"), await officer.goto("/"), await officer.goto("/pengguna")]
    for answer in answers:
        assert answer is not None
        headers = await answer.all_headers()
        policy = [part.strip() for part in headers["content-security-policy"].split(";")]
        assert "frame-ancestors 'none'" in policy, (answer.url, policy)
        assert headers["x-content-type-options"] == "nosniff", answer.url


async def test_switching_to_english_and_back(page_as):
    page = await page_as("officer")  # its own context: the language cookie stays in it
    await expect(page.locator("html")).to_have_attribute("lang", "id")
    async with page.expect_navigation():
        await page.click("#language")
    assert path_of(page) == "/"
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.goto("/pengguna")  # the error pages too
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    async with page.expect_navigation():
        await page.click("#language")
    await expect(page.locator("html")).to_have_attribute("lang", "id")


@pytest.mark.parametrize("role", ["officer", "supervisor", "operator", "auditor"])
async def test_every_page_in_the_menu_opens_without_a_number_in_its_url(page_as, console_env, role):
    page = await page_as(role, shared=True)
    menu = await page.locator("nav a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "/" in menu
    for href in menu:
        answer = await page.goto(href)
        assert answer is not None and answer.status == 200, (role, href, answer and answer.status)
        targets = await page.locator("a[href], form[action]").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('href') || n.getAttribute('action'))"
        )
        assert not [t for t in targets if SIXTEEN_DIGITS.search(t)], (href, targets)
    # And nothing any test of this module asked the console for had a NIK or KK number in it.
    assert console_env.visited
    assert not [url for url in console_env.visited if SIXTEEN_DIGITS.search(url)]


TABLET = {"width": 768, "height": 1024}  # an iPad-sized tablet, portrait


@pytest.mark.parametrize("role", ["officer", "supervisor", "operator", "auditor"])
async def test_every_menu_page_fits_a_tablet_without_sideways_scrolling(page_as, role, shoot):
    page = await page_as(role, shared=True)
    await page.set_viewport_size(TABLET)
    await page.goto("/")
    targets = await page.locator("nav.main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert targets, "the menu is empty"
    for target in targets:
        answer = await page.goto(target)
        assert answer is not None and answer.ok, target
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{target} is {overflow}px wider than a {TABLET['width']}px tablet"
        await expect(page.locator("nav.main")).to_be_visible()
    await page.goto("/")
    await shoot(page, f"tablet-{role}")
