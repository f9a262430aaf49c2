"""The review queue in a real browser: an officer opens a case the hub could not decide alone, sees
the notification beside the registry with the difference highlighted, approves or rejects it with
a note, and the hospital gets its second result on Kafka; the decision is audited under the
officer's console account.

Cases are made as hospitals make them: a notification naming a father the registry does not know
(REVIEW-FATHER-NOT-FOUND), or a mother's name the registry holds otherwise (REVIEW-MOTHER-DATA-MISMATCH).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from hub.devtools.simulation.bundles import Parent
from tests.support.kafka import codes_of, numbers_of, status_of
from tests.support.people import birth

HOSPITAL = "103578001"
STRANGER = Parent("3578011203880009", "Ayah Tak Dikenal")  # a valid NIK no one in the registry has
DIFFERS = re.compile(r"\bdiffers\b")


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def _case(console_env, index: int, **changes) -> str:
    """A notification of the index-th household that goes to review; returns its message id."""
    home = (await console_env.households(index + 1))[index]
    spec = birth(replace(home, **changes), HOSPITAL)
    [message_id] = await console_env.send(spec)
    [first] = await console_env.results(message_id)
    assert status_of(first.json()) == "review-pending", codes_of(first.json())
    return message_id


async def _audit(console_env, action: str, subject: str) -> list:
    return await console_env.fetch(
        "SELECT actor, action, subject, reason, details FROM audit_log WHERE action = $1 AND subject = $2 ORDER BY id",
        action,
        subject,
    )


def _accept_dialogs(page: Page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the form's "are you sure?"


async def test_an_officer_approves_a_case_and_the_hospital_gets_the_registration(console_env, page_as, users, shoot):
    message_id = await _case(console_env, 0, father=STRANGER)
    page = await page_as("officer")

    await page.goto("/antrean")
    row = page.locator(f'#review-queue tr[data-message-id="{message_id}"]')
    await expect(row).to_be_visible()
    await expect(row.locator(".reason")).to_have_text(["REVIEW-FATHER-NOT-FOUND"])
    await expect(row.locator(".age")).to_have_text(re.compile(r"^\d+ menit$"))
    await shoot(page, "review-queue")

    async with page.expect_navigation():
        await row.locator("a.open-case").click()
    assert path_of(page) == f"/antrean/{HOSPITAL}/{message_id}"
    await expect(page.locator("#reasons li")).to_have_count(1)
    father = page.locator("#field-father-nik")
    await expect(father).to_have_class(DIFFERS)
    await expect(father.locator(".notification")).to_have_text("357801**********")  # masked, the region kept
    await expect(father.locator(".registry")).to_have_text("tidak ditemukan")
    await expect(page.locator("#field-father-name .notification")).to_have_text(STRANGER.name)
    for same in ("mother-nik", "mother-name", "mother-kk"):
        await expect(page.locator(f"#field-{same}")).not_to_have_class(DIFFERS)
    await expect(page.locator("#comparison tr.differs")).to_have_count(2)
    await expect(page.locator("#approve")).to_be_visible()
    await expect(page.locator("#reject")).to_be_visible()
    await shoot(page, "review-case")

    _accept_dialogs(page)
    await page.fill("#approve-note", "KK ayah diperiksa di loket: NIK ayah baru diterbitkan")
    async with page.expect_navigation():
        await page.click("#approve")
    assert path_of(page) == f"/antrean/{HOSPITAL}/{message_id}"
    await expect(page.locator("#case-status")).to_have_attribute("data-status", "approved")
    await expect(page.locator("#decision-note")).to_have_text("KK ayah diperiksa di loket: NIK ayah baru diterbitkan")
    await expect(page.locator("#approve")).to_have_count(0)

    second = (await console_env.results(message_id, count=2))[1].json()
    assert status_of(second) == "registered"
    assert numbers_of(second)["akta-number"]
    result = page.locator("#latest-result")
    await expect(result).to_have_attribute("data-sequence", "2")
    await expect(result).to_have_attribute("data-status", "registered")
    await expect(result).to_have_attribute("data-state", "sent", timeout=30_000)  # the page polls, then reloads

    [entry] = await _audit(console_env, "review.approve", message_id)
    assert entry["actor"] == f"{users['officer'].username} (console)"
    assert entry["reason"] == "KK ayah diperiksa di loket: NIK ayah baru diterbitkan"
    details = json.loads(entry["details"])
    assert (details["hospital"], details["outcome"]) == (HOSPITAL, "registered")

    await page.goto("/antrean")
    await expect(page.locator(f'#review-queue tr[data-message-id="{message_id}"]')).to_have_count(0)
    await page.goto("/antrean?status=approved")
    await expect(page.locator(f'#review-queue tr[data-message-id="{message_id}"]')).to_have_attribute(
        "data-status", "approved"
    )


async def test_a_supervisor_rejects_a_case_and_the_hospital_hears_review_rejected(console_env, page_as, users):
    home = (await console_env.households(2))[1]
    message_id = await _case(console_env, 1, mother=replace(home.mother, name="Nama Lain Sekali"))
    page = await page_as("supervisor")
    await page.goto(f"/antrean/{HOSPITAL}/{message_id}")
    name = page.locator("#field-mother-name")
    await expect(name).to_have_class(DIFFERS)
    await expect(name.locator(".notification")).to_have_text("Nama Lain Sekali")
    await expect(name.locator(".registry")).to_have_text(home.mother.name)

    _accept_dialogs(page)
    await page.fill("#reject-note", "Ibu bukan orang yang tercatat dengan NIK ini")
    async with page.expect_navigation():
        await page.click("#reject")
    await expect(page.locator("#case-status")).to_have_attribute("data-status", "rejected")
    await expect(page.locator("#latest-result")).to_have_attribute("data-status", "rejected")

    second = (await console_env.results(message_id, count=2))[1].json()
    assert status_of(second) == "rejected" and "REVIEW-REJECTED" in codes_of(second)
    [entry] = await _audit(console_env, "review.reject", message_id)
    assert entry["actor"] == f"{users['supervisor'].username} (console)"
    assert entry["reason"] == "Ibu bukan orang yang tercatat dengan NIK ini"


async def test_a_decision_without_a_note_is_refused_and_changes_nothing(console_env, page_as):
    message_id = await _case(console_env, 2, father=STRANGER)
    page = await page_as("officer")
    await page.goto(f"/antrean/{HOSPITAL}/{message_id}")
    await page.locator("#approve-note").evaluate("note => note.removeAttribute('required')")
    await page.fill("#approve-note", "   ")
    _accept_dialogs(page)
    async with page.expect_navigation() as navigation:
        await page.click("#approve")
    answer = await navigation.value
    assert answer is not None and answer.status == 400
    await expect(page.locator("#action-error")).to_contain_text("catatan")
    await expect(page.locator("#case-status")).to_have_attribute("data-status", "open")
    await expect(page.locator("#approve")).to_be_visible()

    [row] = await console_env.fetch(
        "SELECT status FROM reviews WHERE hospital_id = $1 AND message_id = $2", HOSPITAL, message_id
    )
    assert row["status"] == "open"
    assert await _audit(console_env, "review.approve", message_id) == []


async def test_the_json_api_lists_shows_and_decides_with_the_csrf_token(console_env, page_as, users):
    message_id = await _case(console_env, 3, father=STRANGER)
    page = await page_as("officer")
    api = page.request

    listed = await (await api.get("/api/v1/reviews")).json()
    assert [c["reasons"] for c in listed if c["message_id"] == message_id] == [["REVIEW-FATHER-NOT-FOUND"]]
    case = await (await api.get(f"/api/v1/reviews/{HOSPITAL}/{message_id}")).json()
    fields = {f["field"]: f for f in case["fields"]}
    assert fields["father.nik"]["differs"] is True and fields["father.nik"]["registry"] is None
    assert fields["father.nik"]["notification"] == "357801**********"
    assert case["latest_result"]["status"] == "review-pending" and case["finished"] is True
    assert (await api.get(f"/api/v1/reviews/{HOSPITAL}/no-such-message")).status == 404

    path = f"/api/v1/reviews/{HOSPITAL}/{message_id}/reject"
    refused = await api.post(path, data={"note": "tanpa token"})
    assert refused.status == 403 and (await refused.json())["code"] == "CSRF"
    token = (await (await api.get("/api/v1/session")).json())["csrf_token"]
    done = await api.post(path, data={"note": "data ayah tidak dapat dipastikan"}, headers={"X-CSRF-Token": token})
    assert done.status == 200, await done.text()
    assert (await done.json())["outcome"] == "rejected"
    again = await api.post(path, data={"note": "sekali lagi"}, headers={"X-CSRF-Token": token})
    assert again.status == 400 and "already decided" in (await again.json())["error"]
    assert len(await _audit(console_env, "review.reject", message_id)) == 1
    second = (await console_env.results(message_id, count=2))[1].json()
    assert status_of(second) == "rejected"


async def test_roles_without_the_review_permissions_neither_see_nor_decide(console_env, page_as):
    message_id = await _case(console_env, 4, father=STRANGER)
    for role in ("operator", "auditor"):
        page = await page_as(role, shared=True)
        await expect(page.locator('nav a[href="/antrean"]')).to_have_count(0)
        for path in ("/antrean", f"/antrean/{HOSPITAL}/{message_id}"):
            answer = await page.goto(path)
            assert answer is not None and answer.status == 403, (role, path)
        token = (await (await page.request.get("/api/v1/session")).json())["csrf_token"]
        refused = await page.request.post(
            f"/api/v1/reviews/{HOSPITAL}/{message_id}/approve", data={"note": "x"}, headers={"X-CSRF-Token": token}
        )
        assert refused.status == 403, role
    [row] = await console_env.fetch(
        "SELECT status FROM reviews WHERE hospital_id = $1 AND message_id = $2", HOSPITAL, message_id
    )
    assert row["status"] == "open"
