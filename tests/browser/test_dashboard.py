"""The dashboard in a real browser, on the figures a real `hub run` made of real notifications.

Hospitals send births (two hospitals in two regencies, and one notification the registry check
rejects); once the hub has answered them all, the officer's dashboard shows exactly the births the
inbox recorded as registered today, a bar of that height in the hour they were registered, the
hospitals and regencies, the rejection's code, the backlogs, the embedded registry (no breaker) and
the consumer lag of every partition; the JSON API says the same; the page reads in English too.
"""

from __future__ import annotations

import re
from dataclasses import replace

from playwright.async_api import Page, expect

from hub.devtools.simulation.bundles import Parent
from hub.service.dashboard import ZONE, day_bounds
from tests.support import trust
from tests.support.kafka import codes_of, status_of
from tests.support.people import birth

HOSPITAL = "103578001"


async def _other_hospital(console_env) -> str:
    """An active hospital in another regency than HOSPITAL's."""
    rows = await console_env.fetch(
        """SELECT org_id FROM hospitals WHERE active
           AND regency <> (SELECT regency FROM hospitals WHERE org_id = $1) ORDER BY org_id LIMIT 1""",
        HOSPITAL,
    )
    assert rows, "the seeded registry has hospitals in one regency only"
    return rows[0]["org_id"]


async def _signed_in(new_page, users, role: str) -> Page:
    """A page signed in as `role` through the JSON API's sign-in (POST /api/v1/session), which sets
    the same session cookie as the form: the dashboard is what this module tests, not the form."""
    page = await new_page()
    username, password = users[role]
    answer = await page.request.post("/api/v1/session", data={"username": username, "password": password})
    assert answer.ok, await answer.text()
    assert (await page.goto("/")) is not None
    assert "/masuk" not in page.url
    return page


async def _stat(page: Page, element_id: str) -> int:
    text = await page.locator(f"#{element_id}").inner_text()
    found = re.match(r"\s*(\d+)", text)
    assert found is not None, text
    return int(found.group(1))


async def test_the_officer_sees_todays_registrations_rejections_backlogs_and_lag(console_env, new_page, users, shoot):
    other = await _other_hospital(console_env)
    homes = await console_env.households(4)
    stranger = Parent("3578016507990001", "Orang Asing", None, homes[3].mother.kk_number)
    specs = [
        birth(homes[0], HOSPITAL),
        birth(homes[1], HOSPITAL),
        birth(homes[2], other),
        birth(replace(homes[3], mother=stranger), HOSPITAL),  # the registry knows no such mother
    ]
    sent = await console_env.send(*specs)
    answers = {m: (await console_env.results(m, timeout=90))[0].json() for m in sent}
    assert [status_of(answers[m]) for m in sent] == ["registered", "registered", "registered", "rejected"]
    assert "MOTHER-NOT-FOUND" in codes_of(answers[sent[3]])

    # the effect the dashboard must show: what the inbox recorded, and when (in WIB)
    rows = await console_env.fetch("SELECT status, hospital_id, updated_at FROM inbox WHERE message_id = ANY($1)", sent)
    start, end = day_bounds(rows[0]["updated_at"])
    registered = [r for r in rows if r["status"] == "registered" and start <= r["updated_at"] < end]
    assert len(registered) == 3
    per_hour: dict[int, int] = {}
    for r in registered:
        hour = r["updated_at"].astimezone(ZONE).hour
        per_hour[hour] = per_hour.get(hour, 0) + 1

    page = await _signed_in(new_page, users, "officer")
    await expect(page.locator("h1")).to_have_text("Dasbor")
    await expect(page.locator("#today")).to_contain_text("Asia/Jakarta")
    await expect(page.locator("#today")).to_contain_text(start.date().isoformat())
    assert await _stat(page, "registered-today") == 3
    assert await _stat(page, "rejected-today") == 1

    # the chart: one bar per hour with registrations, as tall as the inbox says, none elsewhere
    chart = page.locator("#hourly-chart")
    await expect(chart).to_be_visible()
    bars = chart.locator("rect.bar")
    shown = {
        int(await b.get_attribute("data-hour") or -1): int(await b.get_attribute("data-count") or -1)
        for b in await bars.all()
    }
    assert shown == per_hour
    current = int(await chart.get_attribute("data-current-hour") or -1)
    if current in per_hour:  # registered in the hour the page was drawn (the hour may have turned since)
        current_bar = chart.locator('rect.bar[data-current="true"]')
        await expect(current_bar).to_have_attribute("data-count", str(per_hour[current]))
        await expect(current_bar).to_have_attribute("data-hour", str(current))
    assert per_hour.get(current, 0) + per_hour.get((current - 1) % 24, 0) == 3
    # the same numbers in the table for screen readers
    await page.locator("#hourly-details summary").click()
    for hour, n in per_hour.items():
        await expect(page.locator(f'#hourly-table tr[data-hour="{hour}"] td').nth(1)).to_have_text(str(n))

    # hospitals, regencies, answers, rejections
    await expect(page.locator(f'#per-hospital tr[data-hospital="{HOSPITAL}"] td').nth(2)).to_have_text("2")
    await expect(page.locator(f'#per-hospital tr[data-hospital="{other}"] td').nth(2)).to_have_text("1")
    await expect(page.locator("#per-regency tbody tr")).to_have_count(2)
    surabaya = page.locator('#per-regency tr[data-regency="3578"] td')
    await expect(surabaya.nth(0)).to_contain_text("Kota Surabaya")
    await expect(surabaya.nth(1)).to_have_text("2")
    await expect(page.locator('#answers tr[data-status="registered"] td')).to_have_text("3")
    rejection = page.locator('#rejections tr[data-code="MOTHER-NOT-FOUND"]')
    await expect(rejection).to_be_visible()
    await expect(rejection.locator("td").nth(2)).to_have_text("1")

    # backlogs with their age, the embedded registry, the consumer lag of every partition
    for kind in ("reviews", "outbox", "documents"):
        await expect(page.locator(f"#backlog-{kind}")).to_be_visible()
    await expect(page.locator("#backlog-reviews")).to_contain_text("Kosong")
    await expect(page.locator("#backlog-registry")).to_have_count(0)  # embedded: no registry writes wait
    await expect(page.locator("#breakers-embedded")).to_be_visible()
    await expect(page.locator("#lag")).to_have_attribute("data-available", "true")
    hospitals = len(trust.ACTIVE)  # one row per hospital with topics; the API gives every partition
    partitions = hospitals * console_env.settings.hospital_partitions
    await expect(page.locator("#lag-table tbody tr")).to_have_count(hospitals)
    await expect(page.locator(f'#lag-table tr[data-hospital="{HOSPITAL}"]')).to_have_attribute(
        "data-partitions", str(console_env.settings.hospital_partitions)
    )
    await expect(page.locator("#lag")).to_contain_text(console_env.settings.topics.notifications)
    await shoot(page, "dashboard")

    # the JSON API gives the same figures, under the same session
    answer = await page.request.get("/api/v1/dashboard")
    assert answer.ok
    body = await answer.json()
    assert body["time_zone"] == "Asia/Jakarta" and body["day"] == start.date().isoformat()
    assert body["registered_today"] == 3 == sum(body["registered_per_hour"])
    assert {h: n for h, n in enumerate(body["registered_per_hour"]) if n} == per_hour
    assert {h["hospital_id"]: h["registered"] for h in body["per_hospital"]} == {HOSPITAL: 2, other: 1}
    assert body["answers_today"]["registered"] == 3 and body["answers_today"]["rejected"] == 1
    assert {"code": "MOTHER-NOT-FOUND", "messages": 1} in body["rejections_today"]
    assert body["registry"] == "embedded" and body["breakers"] == []
    assert body["backlogs"]["reviews"] == {"count": 0, "oldest_seconds": None}
    lag = body["consumer_lag"]
    assert lag["available"] and len(lag["partitions"]) == partitions
    assert lag["total_records"] == sum(p["records"] for p in lag["partitions"])

    # in English
    await page.click("#language")
    await expect(page.locator("h1")).to_have_text("Dashboard")
    await expect(page.locator("#registered-today")).to_contain_text("Births registered today")
    await expect(page.locator("#backlog-reviews")).to_contain_text("Empty")
    await shoot(page, "dashboard-en")


async def test_every_role_may_open_the_dashboard_and_a_review_case_shows_in_the_backlog(console_env, new_page, users):
    home = (await console_env.households(5))[4]  # not one of the first test's
    spec = birth(replace(home, father=Parent("3578011203880009", "Ayah Tak Dikenal")), HOSPITAL)
    [message] = await console_env.send(spec)
    [result] = await console_env.results(message, timeout=90)
    assert status_of(result.json()) == "review-pending"
    cases = await console_env.fetch("SELECT count(*) AS n FROM reviews WHERE status = 'open'")

    for role in ("auditor", "operator", "supervisor"):
        page = await _signed_in(new_page, users, role)
        card = page.locator("#backlog-reviews")
        await expect(card).to_have_attribute("data-count", str(cases[0]["n"]))
        await expect(card).to_contain_text(re.compile(r"\d+ kasus, tertua (kurang dari semenit|\d+ menit)"))
