"""Search and trace in a real browser: find a registered birth by its akta number, its family card's
number, its message id or the mother's NIK; see its trail with personal data masked; reveal it with
a reason, which the audit log records under the officer's console account. The query is a form
field: it never appears in a URL.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.support.kafka import numbers_of, status_of
from tests.support.people import birth

HOSPITAL = "103578001"
CHILD = "Putri Kartika Sari"
REASON = "Orang tua meminta salinan data di loket"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


@pytest.fixture(scope="module")
async def registered(console_env):
    """A birth registered by the hub: (spec, numbers from its result)."""
    [home] = await console_env.households(1)
    spec = birth(home, HOSPITAL, child_name=CHILD)
    [message_id] = await console_env.send(spec)
    [result] = await console_env.results(message_id)
    assert status_of(result.json()) == "registered"
    return spec, numbers_of(result.json())


async def _search(page: Page, query: str) -> None:
    if path_of(page) != "/cari":
        await page.goto("/cari")
    await page.fill("#query", query)
    async with page.expect_navigation():
        await page.click("#search")
    assert path_of(page) == "/cari" and not urlsplit(page.url).query


async def _reveals(console_env, message_id: str) -> list:
    return await console_env.fetch(
        "SELECT actor, reason, details FROM audit_log WHERE action = 'personal-data.view' AND subject = $1 ORDER BY id",
        message_id,
    )


async def test_an_officer_finds_a_birth_by_its_akta_number_masked_then_reveals_it(
    console_env, registered, page_as, users, shoot
):
    spec, numbers = registered
    akta, child_nik = numbers["akta-number"], numbers["nik"]
    page = await page_as("officer")
    await page.goto("/cari")
    await _search(page, akta)

    trail = page.locator(f'section.trail[data-message-id="{spec.message_id}"]')
    await expect(trail).to_have_count(1)
    await expect(trail).to_have_attribute("data-status", "registered")
    await expect(trail.locator(".akta-number")).to_have_text(akta)
    child = trail.locator('tr[data-role="child"]')
    await expect(child.locator(".name")).to_have_text("P. K. S.")
    await expect(child.locator(".nik")).to_have_text(child_nik[:6] + "*" * 10)
    await expect(child.locator(".born")).to_have_text("****-**-**")
    await expect(trail.locator('tr[data-role="mother"] .nik')).to_have_text(spec.mother.nik[:6] + "*" * 10)
    await expect(trail.locator(".kk-number")).to_have_text(numbers["kk-number"][:6] + "*" * 10)
    kinds = await trail.locator("table.timeline tr[data-kind]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-kind'))"
    )
    assert {"received", "registered", "document-issued", "documents-made"} <= set(kinds), kinds
    assert {"published", "queued"} & set(kinds), kinds
    html = await page.content()
    for secret in (CHILD, spec.mother.name, child_nik, spec.mother.nik, numbers["kk-number"]):
        assert secret not in html
    await shoot(page, "search-trail")

    assert await _reveals(console_env, spec.message_id) == []
    await page.fill("#reveal-reason", REASON)
    async with page.expect_navigation():
        await page.click("#reveal")
    await expect(page.locator("#revealed")).to_be_visible()
    child = page.locator(f'section.trail[data-message-id="{spec.message_id}"] tr[data-role="child"]')
    await expect(child.locator(".name")).to_have_text(CHILD)
    await expect(child.locator(".nik")).to_have_text(child_nik)
    await expect(page.locator('tr[data-role="mother"] .name')).to_have_text(spec.mother.name)
    [entry] = await _reveals(console_env, spec.message_id)
    assert entry["actor"] == f"{users['officer'].username} (console)" and entry["reason"] == REASON
    assert json.loads(entry["details"])["hospitals"] == [HOSPITAL]

    await page.goto("/cari")  # the reveal was for that answer only
    await _search(page, akta)
    await expect(page.locator('tr[data-role="child"] .name')).to_have_text("P. K. S.")
    assert not [url for url in console_env.visited if akta in url]


@pytest.mark.parametrize("by", ["kk-number", "message-id", "mother-nik"])
async def test_the_same_birth_is_found_by_family_card_message_id_and_mothers_nik(console_env, registered, page_as, by):
    spec, numbers = registered
    query = {"kk-number": numbers["kk-number"], "message-id": spec.message_id, "mother-nik": spec.mother.nik}[by]
    page = await page_as("officer", shared=True)
    await _search(page, query if by != "kk-number" else " ".join(query[i : i + 4] for i in range(0, 16, 4)))
    await expect(page.locator(f'section.trail[data-message-id="{spec.message_id}"]')).to_have_count(1)
    await expect(page.locator('tr[data-role="child"] .name')).to_have_text("P. K. S.")


async def test_nothing_found_and_a_reveal_without_a_reason_shows_nothing_unmasked(console_env, registered, page_as):
    spec, numbers = registered
    page = await page_as("officer", shared=True)
    await _search(page, "no-such-message-id")
    await expect(page.locator("#no-results")).to_be_visible()
    await expect(page.locator("section.trail")).to_have_count(0)

    await _search(page, numbers["akta-number"])
    before = len(await _reveals(console_env, spec.message_id))
    await page.locator("#reveal-reason").evaluate("field => field.removeAttribute('required')")
    async with page.expect_navigation() as navigation:
        await page.click("#reveal")
    answer = await navigation.value
    assert answer is not None and answer.status == 400
    await expect(page.locator("#action-error")).to_be_visible()
    await expect(page.locator('tr[data-role="child"] .name')).to_have_text("P. K. S.")
    assert CHILD not in await page.content()
    assert len(await _reveals(console_env, spec.message_id)) == before


async def test_an_operator_searches_but_may_not_reveal_and_an_auditor_may_not_search(console_env, registered, page_as):
    spec, numbers = registered
    operator = await page_as("operator", shared=True)
    await _search(operator, numbers["akta-number"])
    await expect(operator.locator(f'section.trail[data-message-id="{spec.message_id}"]')).to_have_count(1)
    await expect(operator.locator("#reveal")).to_have_count(0)
    token = (await (await operator.request.get("/api/v1/session")).json())["csrf_token"]
    refused = await operator.request.post(
        "/cari/tampilkan",
        form={"csrf_token": token, "query": numbers["akta-number"], "reason": "ingin tahu"},
    )
    assert refused.status == 403
    api = await operator.request.post(
        "/api/v1/search",
        data={"query": numbers["akta-number"], "reveal_reason": "ingin tahu"},
        headers={"X-CSRF-Token": token},
    )
    assert api.status == 403

    auditor = await page_as("auditor", shared=True)
    await expect(auditor.locator('nav a[href="/cari"]')).to_have_count(0)
    answer = await auditor.goto("/cari")
    assert answer is not None and answer.status == 403


async def test_the_json_api_searches_masked_and_reveals_with_the_csrf_token(console_env, registered, page_as, users):
    spec, numbers = registered
    page = await page_as("supervisor")
    api = page.request
    masked = await (await api.post("/api/v1/search", data={"query": numbers["akta-number"]})).json()
    assert masked["revealed"] is False and masked["total"] == 1
    [found] = masked["results"]
    assert found["message_id"] == spec.message_id and found["status"] == "registered"
    assert {p["role"]: p["name"] for p in found["people"]}["child"] == "P. K. S."
    assert numbers["nik"] not in json.dumps(masked)
    assert "registered" in [s["kind"] for s in found["steps"]]

    asked = {"query": numbers["akta-number"], "reveal_reason": "Pemeriksaan supervisor"}
    refused = await api.post("/api/v1/search", data=asked)
    assert refused.status == 403 and (await refused.json())["code"] == "CSRF"
    token = (await (await api.get("/api/v1/session")).json())["csrf_token"]
    shown = await (await api.post("/api/v1/search", data=asked, headers={"X-CSRF-Token": token})).json()
    assert shown["revealed"] is True
    assert {p["role"]: p["nik"] for p in shown["results"][0]["people"]}["child"] == numbers["nik"]
    entries = await _reveals(console_env, spec.message_id)
    assert [e["reason"] for e in entries if e["actor"] == f"{users['supervisor'].username} (console)"] == [
        "Pemeriksaan supervisor"
    ]
