"""The console's documents area in a real browser (issue #11): find a birth certificate by its
number, view and reprint its PDF, correct (pembetulan) and revoke, with the version history.

Births are registered by publishing notifications as a hospital does; the `hub run` process issues
their documents with the local signer. An officer finds the akta by its number (a POST: never in a
URL), opens the PDF and reprints it, and proposes a correction of the child's name; a supervisor
approves it; the document worker issues version 2 and the page shows it active with the new name
and version 1 superseded, and the hospital gets a further result. A supervisor corrects directly
and revokes with a reason; an officer may do neither. Every effect is checked in the database,
the audit log (with the console users as actors) and on Kafka, not only on the page. Looking at a
document (page, API, PDF) is audited; NIKs and KK numbers are masked as search masks them (the first
six digits); an officer sees only their own proposals.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.support.documents import documents_of, pdf_text
from tests.support.kafka import numbers_of
from tests.support.people import birth

HOSPITAL = "103578001"
ISSUE_TIMEOUT_MS = 90_000


@dataclass(frozen=True)
class Birth:
    message_id: str
    child_name: str
    akta_number: str
    kk_number: str
    child_nik: str
    akta_id: str
    kk_id: str


@pytest.fixture(scope="module")
async def births(console_env) -> dict[str, Birth]:
    """Three registered births with their documents issued: one to correct through a proposal,
    one a supervisor corrects directly, one to revoke."""
    homes = await console_env.households(3)
    names = ("proposal", "direct", "revoke")
    specs = {
        name: birth(home, HOSPITAL, child_name=f"Anak Uji {name.title()} {i}")
        for i, (name, home) in enumerate(zip(names, homes, strict=True))
    }
    await console_env.send(*specs.values())
    found = {}
    for name, spec in specs.items():
        [result] = await console_env.results(spec.message_id, timeout=90)
        attached = {d.kind: d for d in documents_of(result.json())}
        assert set(attached) == {"akta-kelahiran", "kartu-keluarga"}, f"the {name} birth got no documents"
        numbers = numbers_of(result.json())
        found[name] = Birth(
            spec.message_id,
            spec.child_name,
            numbers["akta-number"],
            numbers["kk-number"],
            numbers["nik"],
            attached["akta-kelahiran"].document_id,
            attached["kartu-keluarga"].document_id,
        )
    return found


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def submit(page: Page, button: str, *, confirm: bool = False):
    if confirm:
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    async with page.expect_navigation() as navigation:
        await page.click(button)
    return await navigation.value


async def find(page: Page, number: str):
    await page.goto("/dokumen")
    await page.fill("#number", number)
    return await submit(page, "#find")


async def audited(console_env, action: str, subject: str) -> list:
    return await console_env.fetch(
        "SELECT actor, reason, details FROM audit_log WHERE action = $1 AND subject = $2 ORDER BY id", action, subject
    )


async def versions(console_env, number: str) -> list[tuple[int, str]]:
    rows = await console_env.fetch(
        "SELECT version, status FROM documents WHERE kind = 'akta-kelahiran' AND number = $1 ORDER BY version", number
    )
    return [(r["version"], r["status"]) for r in rows]


def as_search_masks(number: str) -> str:
    """A NIK or KK number as search (trail_view) shows it: the region's six digits."""
    return number[:6] + "*" * 10


async def views(console_env, document_id: str) -> list[tuple[str, str | None]]:
    """The documents.view audit entries of a document: (actor, "content" for its page or the API,
    None for its PDF)."""
    rows = await audited(console_env, "documents.view", document_id)
    details = [json.loads(r["details"]) if isinstance(r["details"], str) else r["details"] for r in rows]
    return [(r["actor"], d.get("shown")) for r, d in zip(rows, details, strict=True)]


def actor_of(users, role: str) -> str:
    return f"{users[role].username} (console)"


def assert_no_personal_data_in_urls(console_env, *secrets: str) -> None:
    """Akta numbers and names travel in POST bodies only (document ids in URLs)."""
    for url in console_env.visited:
        seen = unquote(url).replace("+", " ").lower()
        for secret in secrets:
            assert secret.lower() not in seen, f"{secret!r} in a URL: {url}"


async def test_an_officer_finds_a_certificate_by_its_number_views_and_reprints_its_pdf(
    births, page_as, users, console_env, shoot
):
    b = births["proposal"]
    page = await page_as("officer")
    answer = await find(page, b.akta_number)
    assert answer is not None and answer.status == 200 and path_of(page) == "/dokumen/cari"
    row = page.locator(f'#found tr[data-document-id="{b.akta_id}"]')
    await expect(row).to_have_attribute("data-status", "active")
    await expect(page.locator("#found tbody tr")).to_have_count(1)
    async with page.expect_navigation():
        await row.locator("a.open").click()
    assert path_of(page) == f"/dokumen/{b.akta_id}"
    await expect(page.locator("#status")).to_have_attribute("data-status", "active")
    await expect(page.locator("#content-child_name")).to_have_text(b.child_name)
    await expect(page.locator("#number")).to_have_text(b.akta_number)
    await expect(page.locator("#content-child_nik")).to_have_text(as_search_masks(b.child_nik))
    assert b.child_nik[6:] not in await page.content()
    await expect(page.locator("#versions tbody tr")).to_have_count(1)
    await expect(page.locator("#revoke-form")).to_have_count(0)  # an officer may not revoke
    await expect(page.locator("#correct")).to_be_visible()
    await shoot(page, "documents-detail")

    # The PDF, shown inline: the stored bytes, a file name without the number or a name; audited.
    shown = await page.request.get(f"/dokumen/{b.akta_id}/pdf")
    assert shown.status == 200 and shown.headers["content-type"] == "application/pdf"
    disposition = shown.headers["content-disposition"]
    assert disposition.startswith("inline;") and b.akta_number not in disposition
    assert re.search(r'filename="akta-kelahiran-v1-[0-9a-f]{8}\.pdf"', disposition), disposition
    body = await shown.body()
    assert body.startswith(b"%PDF") and b.child_name in pdf_text(body)
    officer = actor_of(users, "officer")
    assert await views(console_env, b.akta_id) == [(officer, "content"), (officer, None)]  # the page, the PDF

    # Reprint: without a reason refused, with one audited, then the same PDF downloaded.
    refused = await page.request.post(
        f"/dokumen/{b.akta_id}/cetak-ulang",
        form={"csrf_token": await page.locator("#reprint-form input[name=csrf_token]").input_value(), "reason": " "},
    )
    assert refused.status == 400 and await audited(console_env, "documents.reprint", b.akta_id) == []
    await page.fill("#reprint-reason", "salinan hilang, permohonan 7")
    async with page.expect_download() as downloading:
        await page.click("#reprint")
    download = await downloading.value
    assert download.suggested_filename.startswith("akta-kelahiran-v1-")
    with open(await download.path(), "rb") as printed:
        assert printed.read() == body
    [entry] = await audited(console_env, "documents.reprint", b.akta_id)
    assert (entry["actor"], entry["reason"]) == (officer, "salinan hilang, permohonan 7")

    # The family card, found by its number (16 digits, in the POST body only), shown masked as
    # search shows it: in the results, the page's metadata and content, the members' NIKs.
    await find(page, b.kk_number)
    kk_row = page.locator(f'#found tr[data-document-id="{b.kk_id}"]')
    await expect(kk_row).to_have_attribute("data-status", "active")
    await expect(kk_row.locator("td.masked")).to_have_text(as_search_masks(b.kk_number))
    await page.goto(f"/dokumen/{b.kk_id}")
    await expect(page.locator("#number")).to_have_text(as_search_masks(b.kk_number))
    await expect(page.locator("#content-kk_number")).to_have_text(as_search_masks(b.kk_number))
    await expect(page.locator("#members tbody tr").first).to_be_visible()
    for nik in await page.locator("#members tbody td.masked").all_inner_texts():
        assert re.fullmatch(r"\d{6}\*{10}", nik), nik
    shown = await page.content()
    assert b.kk_number not in shown and b.kk_number[6:] not in shown and b.child_nik[6:] not in shown
    assert await views(console_env, b.kk_id) == [(officer, "content")]
    await find(page, "3273-LU-00000000-0000")
    await expect(page.locator("#not-found")).to_be_visible()
    assert_no_personal_data_in_urls(console_env, b.akta_number, b.child_name, b.kk_number)


async def test_an_officer_proposes_a_new_name_a_supervisor_approves_and_version_2_supersedes_version_1(
    births, page_as, new_page, sign_in, users, console_env, shoot
):
    b = births["proposal"]
    corrected = "Putri Uji Dibetulkan"
    officer, supervisor = actor_of(users, "officer"), actor_of(users, "supervisor")

    page = await page_as("officer")
    await page.goto(f"/dokumen/{b.akta_id}")
    async with page.expect_navigation():
        await page.click("#correct")
    assert path_of(page) == f"/dokumen/{b.akta_id}/pembetulan"
    await expect(page.locator("#proposal-note")).to_be_visible()
    await expect(page.locator("#field-child_name")).to_have_value(b.child_name)
    await page.fill("#field-child_name", corrected)
    await page.fill("#correction-reason", "permohonan pembetulan 42")
    await shoot(page, "documents-correction")
    answer = await submit(page, "#submit-correction")
    assert answer is not None and answer.status == 200
    assert re.fullmatch(r"/dokumen/usulan/\d+", path_of(page)), page.url
    proposal_id = int(path_of(page).rsplit("/", 1)[1])
    await expect(page.locator("#proposal-status")).to_have_attribute("data-status", "open")
    await expect(page.locator('#changes tr[data-field="child_name"] .proposed')).to_have_text(corrected)
    await expect(page.locator("#approve")).to_have_count(0)  # an officer does not decide
    await shoot(page, "documents-proposal")

    # Another officer does not see it: not in their list, not on the akta's page, not by its id.
    other = await new_page()
    account = await console_env.add_user("officer")
    await sign_in(other, account.username, account.password)
    assert (await other.goto(f"/dokumen/usulan/{proposal_id}")).status == 404
    assert (await other.request.get(f"/api/v1/proposals/{proposal_id}")).status == 404
    listed = await (await other.request.get("/api/v1/proposals?status=all")).json()
    assert proposal_id not in [p["id"] for p in listed]
    await other.goto("/dokumen")
    await expect(other.locator(f'#proposals tr[data-proposal-id="{proposal_id}"]')).to_have_count(0)
    await other.goto(f"/dokumen/{b.akta_id}")
    await expect(other.locator("#content-child_name")).to_have_text(b.child_name)
    await expect(other.locator("#document-proposals")).to_have_count(0)
    # Its proposer does, by the page and the API.
    assert (await page.request.get(f"/api/v1/proposals/{proposal_id}")).status == 200

    # Proposed only: nothing reissued, the proposal stored and audited (field names, no values).
    [stored] = await console_env.fetch("SELECT * FROM correction_proposals WHERE id = $1", proposal_id)
    assert (stored["akta_number"], stored["status"], stored["proposed_by"]) == (b.akta_number, "open", officer)
    [proposed] = await audited(console_env, "documents.propose", b.akta_number)
    assert proposed["actor"] == officer and corrected not in proposed["details"]
    assert await versions(console_env, b.akta_number) == [(1, "active")]
    jobs = await console_env.fetch("SELECT reason FROM document_jobs WHERE message_id = $1", b.message_id)
    assert [j["reason"] for j in jobs] == ["registration"]

    # The supervisor sees it among the open proposals and approves it.
    boss = await page_as("supervisor")
    await boss.goto("/dokumen")
    async with boss.expect_navigation():
        await boss.locator(f'#proposals tr[data-proposal-id="{proposal_id}"] a').click()
    await boss.fill("#approve-note", "sesuai rekam medis rumah sakit")
    approved = await submit(boss, "#approve", confirm=True)
    assert approved is not None and approved.status == 200
    assert path_of(boss) == f"/dokumen/{b.akta_id}"

    # The document worker issues version 2; the page (polling) then shows version 1 superseded.
    await expect(boss.locator("#newer-version")).to_be_visible(timeout=ISSUE_TIMEOUT_MS)
    await expect(boss.locator("#status")).to_have_attribute("data-status", "superseded")
    async with boss.expect_navigation():
        await boss.click("#newer-version")
    new_id = path_of(boss).rsplit("/", 1)[1]
    assert new_id != b.akta_id
    await expect(boss.locator("#status")).to_have_attribute("data-status", "active")
    await expect(boss.locator("#version")).to_have_text("2")
    await expect(boss.locator("#content-child_name")).to_have_text(corrected)
    await expect(boss.locator(f'#versions tr[data-document-id="{b.akta_id}"]')).to_have_attribute(
        "data-status", "superseded"
    )
    pdf = await boss.request.get(f"/dokumen/{new_id}/pdf")
    assert corrected in pdf_text(await pdf.body())

    # The effects: versions in the database, the proposal decided, the audit trail, the hospital's result.
    assert await versions(console_env, b.akta_number) == [(1, "superseded"), (2, "active")]
    [decided] = await console_env.fetch(
        "SELECT status, decided_by, note FROM correction_proposals WHERE id = $1", proposal_id
    )
    assert tuple(decided) == ("approved", supervisor, "sesuai rekam medis rumah sakit")
    [approval] = await audited(console_env, "proposals.approve", b.akta_number)
    assert approval["actor"] == supervisor
    [correction] = await audited(console_env, "documents.correct", b.akta_number)
    assert correction["actor"] == supervisor and f"proposal #{proposal_id}" in correction["reason"]
    results = await console_env.results(b.message_id, count=2, timeout=60)
    newest = {d.kind: d for d in documents_of(results[-1].json())}
    assert newest["akta-kelahiran"].version == 2 and newest["akta-kelahiran"].replaces == b.akta_id
    assert corrected in pdf_text(newest["akta-kelahiran"].pdf)

    # The officer's list shows the proposal approved.
    await page.goto("/dokumen")
    await expect(page.locator(f'#proposals tr[data-proposal-id="{proposal_id}"]')).to_contain_text("disetujui")
    assert_no_personal_data_in_urls(console_env, b.akta_number, b.child_name, corrected, b.kk_number)


async def test_a_supervisor_corrects_directly_and_a_rejected_proposal_changes_nothing(
    births, page_as, users, console_env
):
    b = births["direct"]
    supervisor = actor_of(users, "supervisor")
    page = await page_as("supervisor")
    await page.goto(f"/dokumen/{b.akta_id}/pembetulan")
    await expect(page.locator("#proposal-note")).to_have_count(0)

    # Nothing changed: refused, the form kept, nothing recorded.
    await page.fill("#correction-reason", "permohonan 43")
    refused = await submit(page, "#submit-correction", confirm=True)
    assert refused is not None and refused.status == 400
    await expect(page.locator("#action-error")).to_be_visible()
    await expect(page.locator("#correction-reason")).to_have_value("permohonan 43")

    await page.fill("#field-place_of_birth", "Kota Uji Dibetulkan")
    answer = await submit(page, "#submit-correction", confirm=True)
    assert answer is not None and answer.status == 200 and path_of(page) == f"/dokumen/{b.akta_id}"
    await expect(page.locator(".flash.ok")).to_be_visible()
    await expect(page.locator("#newer-version")).to_be_visible(timeout=ISSUE_TIMEOUT_MS)
    assert await versions(console_env, b.akta_number) == [(1, "superseded"), (2, "active")]
    [entry] = await audited(console_env, "documents.correct", b.akta_number)
    assert (entry["actor"], entry["reason"]) == (supervisor, "permohonan 43")

    # An officer's proposal the supervisor rejects (a note is required) leaves version 2 in force.
    officer = await page_as("officer")
    csrf = (await (await officer.request.get("/api/v1/session")).json())["csrf_token"]
    active_id = (await (await officer.request.get(f"/api/v1/documents/{b.akta_id}/issuing")).json())["active_id"]
    proposed = await officer.request.post(
        f"/api/v1/documents/{active_id}/corrections",
        data={"mother_name": "Ibu Uji Lain", "reason": "permohonan 44"},
        headers={"X-CSRF-Token": csrf},
    )
    assert proposed.status == 202, await proposed.text()
    outcome = await proposed.json()
    assert outcome["applied"] is False and outcome["proposal_id"] > 0
    boss_csrf = (await (await page.request.get("/api/v1/session")).json())["csrf_token"]
    no_note = await page.request.post(
        f"/api/v1/proposals/{outcome['proposal_id']}/reject", data={"note": " "}, headers={"X-CSRF-Token": boss_csrf}
    )
    assert no_note.status == 400 and (await no_note.json())["code"] == "REFUSED"
    await page.goto(f"/dokumen/usulan/{outcome['proposal_id']}")
    await expect(page.locator("#proposal-status")).to_have_attribute("data-status", "open")
    await page.fill("#reject-note", "tidak sesuai dokumen sumber")
    rejected = await submit(page, "#reject")
    assert rejected is not None and rejected.status == 200
    await expect(page.locator("#proposal-status")).to_have_attribute("data-status", "rejected")
    assert await versions(console_env, b.akta_number) == [(1, "superseded"), (2, "active")]
    [entry] = await audited(console_env, "proposals.reject", b.akta_number)
    assert (entry["actor"], entry["reason"]) == (supervisor, "tidak sesuai dokumen sumber")
    assert_no_personal_data_in_urls(console_env, b.akta_number, b.child_name, "Kota Uji Dibetulkan")


async def test_an_officer_may_not_revoke_and_a_supervisor_revokes_with_a_reason(births, page_as, users, console_env):
    b = births["revoke"]
    officer = await page_as("officer")
    await officer.goto(f"/dokumen/{b.akta_id}")
    await expect(officer.locator("#revoke-form")).to_have_count(0)
    # The officer's own, valid form posted anyway: refused with the 403 page, nothing changed.
    async with officer.expect_navigation() as navigation:
        await officer.evaluate(
            """([id, token]) => {
                const form = document.createElement("form");
                form.method = "post"; form.action = `/dokumen/${id}/cabut`;
                for (const [name, value] of [["csrf_token", token], ["reason", "coba"]]) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
                }
                document.body.appendChild(form); form.submit();
            }""",
            [b.akta_id, await officer.locator("#reprint-form input[name=csrf_token]").input_value()],
        )
    answer = await navigation.value
    assert answer is not None and answer.status == 403
    await expect(officer.locator("#forbidden")).to_be_visible()
    csrf = (await (await officer.request.get("/api/v1/session")).json())["csrf_token"]
    api = await officer.request.post(
        f"/api/v1/documents/{b.akta_id}/revoke", data={"reason": "coba"}, headers={"X-CSRF-Token": csrf}
    )
    assert api.status == 403 and (await api.json())["code"] == "FORBIDDEN"
    assert await versions(console_env, b.akta_number) == [(1, "active")]

    boss = await page_as("supervisor")
    await boss.goto(f"/dokumen/{b.akta_id}")
    await boss.fill("#revoke-reason", "diterbitkan karena kesalahan data")
    answer = await submit(boss, "#revoke", confirm=True)
    assert answer is not None and answer.status == 200 and path_of(boss) == f"/dokumen/{b.akta_id}"
    await expect(boss.locator("#status")).to_have_attribute("data-status", "revoked")
    await expect(boss.locator("#status-reason")).to_have_text("diterbitkan karena kesalahan data")
    await expect(boss.locator("#revoke-form")).to_have_count(0)
    await expect(boss.locator("#correct")).to_have_count(0)  # a revoked akta is not corrected
    assert await versions(console_env, b.akta_number) == [(1, "revoked")]
    [entry] = await audited(console_env, "documents.revoke", b.akta_id)
    assert (entry["actor"], entry["reason"]) == (actor_of(users, "supervisor"), "diterbitkan karena kesalahan data")
    assert_no_personal_data_in_urls(console_env, b.akta_number, b.child_name)


async def test_the_api_finds_reads_and_lists_with_the_same_permissions(births, page_as, users, console_env):
    b = births["revoke"]
    page = await page_as("officer", shared=True)
    csrf = (await (await page.request.get("/api/v1/session")).json())["csrf_token"]
    assert (await page.request.post("/api/v1/documents/search", data={"number": b.akta_number})).status == 403
    found = await page.request.post(
        "/api/v1/documents/search", data={"number": b.akta_number}, headers={"X-CSRF-Token": csrf}
    )
    assert found.status == 200
    assert [d["document_id"] for d in await found.json()] == [b.akta_id]
    before = await views(console_env, b.akta_id)
    detail = await (await page.request.get(f"/api/v1/documents/{b.akta_id}")).json()
    assert detail["content"]["child_name"] == b.child_name
    assert detail["content"]["child_nik"] == as_search_masks(b.child_nik)
    assert await views(console_env, b.akta_id) == [*before, (actor_of(users, "officer"), "content")]
    card = await (await page.request.get(f"/api/v1/documents/{b.kk_id}")).json()
    assert card["number"] == card["content"]["kk_number"] == as_search_masks(b.kk_number)
    assert all(re.fullmatch(r"\d{6}\*{10}", m["nik"]) for m in card["content"]["members"])
    assert b.kk_number[6:] not in json.dumps(card) and b.child_nik[6:] not in json.dumps(card)
    assert [v["version"] for v in detail["versions"]] == [1] and detail["issuing"] == 0
    pdf = await page.request.get(f"/api/v1/documents/{b.akta_id}/pdf")
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF")
    assert (await page.request.get("/api/v1/documents/not-a-uuid")).status == 404
    malformed = await page.request.post(
        "/api/v1/documents/search", data={"number": "x" * 8 + "-" * 4 + "y" * 24}, headers={"X-CSRF-Token": csrf}
    )
    assert malformed.status == 200 and await malformed.json() == []
    assert (await page.request.get("/api/v1/proposals")).status == 200
    assert (await page.goto("/dokumen/usulan/999999999")).status == 404
