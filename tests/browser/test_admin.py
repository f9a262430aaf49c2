"""The console's admin area in a real browser (issue #11): console users, the audit log with its
verification, and the hospitals.

The operator adds, disables, enables and resets accounts on /pengguna; the new user signs in in a
browser of their own and is thrown out when disabled. The auditor reads those actions on /audit,
verifies the chain, and, after the database's owner rewrote a row, sees that row reported. The
hub runs as `hub run`; every effect is checked in the database as well as on the page.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from hub.adapters.regions import region_name
from tests.support.people import birth

COOKIE = "hub_console"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def submit(page: Page, button: str):
    async with page.expect_navigation() as navigation:
        await page.click(button)
    return await navigation.value


async def manage(page: Page, username: str, reason: str, button: str):
    """Pick an account in the 'change an account' form, give the reason and press a button."""
    await page.select_option("#manage-username", username)
    await page.fill("#manage-reason", reason)
    return await submit(page, button)


async def account(console_env, username: str):
    [row] = await console_env.fetch(
        "SELECT role, display_name, disabled_at, password_set_at FROM console_users WHERE username = $1", username
    )
    return row


async def live_sessions(console_env, username: str) -> int:
    rows = await console_env.fetch("SELECT count(*) AS n FROM console_sessions WHERE username = $1", username)
    return rows[0]["n"]


async def audited(console_env, action: str, subject: str) -> list:
    return await console_env.fetch(
        "SELECT id, actor, reason, details FROM audit_log WHERE action = $1 AND subject = $2 ORDER BY id",
        action,
        subject,
    )


async def test_the_operator_adds_an_officer_who_signs_in_then_disables_enables_and_resets_them(
    page_as, new_page, sign_in, users, console_env, shoot
):
    operator = users["operator"].username
    page = await page_as("operator")
    answer = await page.goto("/pengguna")
    assert answer is not None and answer.status == 200
    await expect(page.locator(f'#users tr[data-username="{operator}"]')).to_be_visible()

    # Added with a generated password, shown this once.
    newcomer = f"petugas-{secrets.token_hex(3)}"
    await page.fill("#add-username", newcomer)
    await page.fill("#add-name", "Petugas Baru")
    await page.select_option("#add-role", "officer")
    await page.fill("#add-reason", "petugas loket baru")
    added = await submit(page, "#add")
    assert added is not None and added.status == 200
    password = (await page.locator("#new-password").inner_text()).strip()
    assert len(password) >= 12
    row = page.locator(f'#users tr[data-username="{newcomer}"]')
    await expect(row).to_have_attribute("data-state", "active")
    await expect(row).to_contain_text("Petugas")  # the role badge, in Indonesian
    stored = await account(console_env, newcomer)
    assert (stored["role"], stored["display_name"], stored["disabled_at"]) == ("officer", "Petugas Baru", None)
    [entry] = await audited(console_env, "users.add", newcomer)
    assert (entry["actor"], entry["reason"]) == (f"{operator} (console)", "petugas loket baru")
    assert password not in entry["details"]
    await page.goto("/pengguna")
    await expect(page.locator("#new-password")).to_have_count(0)  # never again
    assert password not in await page.content()

    # The new officer signs in in a browser of their own and reaches the dashboard.
    theirs = await new_page()
    landed = await sign_in(theirs, newcomer, password)
    assert landed is not None and landed.status == 200 and path_of(theirs) == "/"
    await expect(theirs.locator("#signout")).to_be_visible()
    assert await live_sessions(console_env, newcomer) == 1

    # Nobody disables their own account.
    refused = await manage(page, operator, "mencoba diri sendiri", "#disable")
    assert refused is not None and refused.status == 400
    await expect(page.locator("#action-error")).to_contain_text("akun Anda sendiri")
    assert (await account(console_env, operator))["disabled_at"] is None
    assert await audited(console_env, "users.disable", operator) == []

    # Disabled: the open session ends, and the next click lands on the sign-in page.
    await page.goto("/pengguna")
    done = await manage(page, newcomer, "pindah tugas ke kecamatan lain", "#disable")
    assert done is not None and done.status == 200 and path_of(page) == "/pengguna"
    await expect(page.locator(".flash.ok")).to_be_visible()
    await expect(row).to_have_attribute("data-state", "disabled")
    assert (await account(console_env, newcomer))["disabled_at"] is not None
    assert await live_sessions(console_env, newcomer) == 0
    [entry] = await audited(console_env, "users.disable", newcomer)
    assert (entry["actor"], entry["reason"]) == (f"{operator} (console)", "pindah tugas ke kecamatan lain")
    await submit(theirs, "a.brand")
    assert path_of(theirs) == "/masuk"
    refused = await sign_in(theirs, newcomer, password)
    assert refused is not None and refused.status == 401

    # Enabled again, then a new password: shown once, the old one no longer works.
    await manage(page, newcomer, "kembali bertugas", "#enable")
    await expect(row).to_have_attribute("data-state", "active")
    reset = await manage(page, newcomer, "lupa kata sandi", "#reset")
    assert reset is not None and reset.status == 200
    fresh = (await page.locator("#new-password").inner_text()).strip()
    assert len(fresh) >= 12 and fresh != password
    [entry] = await audited(console_env, "users.reset", newcomer)
    assert (entry["actor"], entry["reason"]) == (f"{operator} (console)", "lupa kata sandi")
    await shoot(page, "users")

    again = await new_page()
    assert (await sign_in(again, newcomer, password)).status == 401
    landed = await sign_in(again, newcomer, fresh)
    assert landed is not None and landed.status == 200 and path_of(again) == "/"


async def test_an_officer_may_open_neither_the_users_nor_the_audit_page(page_as):
    page = await page_as("officer", shared=True)
    for path in ("/pengguna", "/audit"):
        answer = await page.goto(path)
        assert answer is not None and answer.status == 403, path
        await expect(page.locator("#forbidden")).to_be_visible()
    api = await page.request.get("/api/v1/users")
    assert api.status == 403 and (await api.json())["code"] == "FORBIDDEN"


async def test_the_auditor_may_read_accounts_but_not_change_them(page_as, users, console_env):
    page = await page_as("auditor", shared=True)
    await page.goto("/pengguna")
    await expect(page.locator(f'#users tr[data-username="{users["officer"].username}"]')).to_be_visible()
    await expect(page.locator("#add-user")).to_have_count(0)
    await expect(page.locator("#manage-user")).to_have_count(0)
    csrf = (await (await page.request.get("/api/v1/session")).json())["csrf_token"]
    refused = await page.request.post(
        f"/api/v1/users/{users['officer'].username}/disable",
        data={"reason": "tidak boleh"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 403
    assert (await account(console_env, users["officer"].username))["disabled_at"] is None


async def test_the_api_manages_accounts_with_the_csrf_token(page_as, users, console_env):
    page = await page_as("operator")
    csrf = (await (await page.request.get("/api/v1/session")).json())["csrf_token"]
    name = f"api-{secrets.token_hex(3)}"
    body = {"username": name, "display_name": "Lewat API", "role": "auditor", "reason": "akun uji api"}
    refused = await page.request.post("/api/v1/users", data=body)  # no token
    assert refused.status == 403 and (await refused.json())["code"] == "CSRF"
    created = await page.request.post("/api/v1/users", data=body, headers={"X-CSRF-Token": csrf})
    assert created.status == 201, await created.text()
    assert len((await created.json())["password"]) >= 12
    listed = {u["username"]: u for u in await (await page.request.get("/api/v1/users")).json()}
    assert listed[name]["role"] == "auditor" and listed[name]["disabled_at"] is None
    self_disable = await page.request.post(
        f"/api/v1/users/{users['operator'].username}/disable", data={"reason": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert self_disable.status == 400
    no_reason = await page.request.post(
        f"/api/v1/users/{name}/disable", data={"reason": " "}, headers={"X-CSRF-Token": csrf}
    )
    assert no_reason.status == 400 and (await account(console_env, name))["disabled_at"] is None
    disabled = await page.request.post(
        f"/api/v1/users/{name}/disable", data={"reason": "uji selesai"}, headers={"X-CSRF-Token": csrf}
    )
    assert disabled.status == 200 and (await disabled.json())["sessions_ended"] == 0
    assert (await account(console_env, name))["disabled_at"] is not None


async def test_the_auditor_reads_the_actions_verifies_the_chain_and_sees_a_rewritten_row(
    page_as, users, console_env, shoot
):
    # The operator's actions, through the JSON API this time.
    operator = await page_as("operator")
    csrf = (await (await operator.request.get("/api/v1/session")).json())["csrf_token"]
    subject = f"diaudit-{secrets.token_hex(3)}"
    steps = [
        (
            "/api/v1/users",
            {"username": subject, "display_name": "Untuk Audit", "role": "officer", "reason": "akun baru untuk audit"},
        ),
        (f"/api/v1/users/{subject}/disable", {"reason": "dinonaktifkan untuk audit"}),
        (f"/api/v1/users/{subject}/enable", {"reason": "diaktifkan untuk audit"}),
        (f"/api/v1/users/{subject}/reset", {"reason": "sandi diatur ulang untuk audit"}),
    ]
    for url, body in steps:
        answer = await operator.request.post(url, data=body, headers={"X-CSRF-Token": csrf})
        assert answer.ok, (url, answer.status, await answer.text())

    page = await page_as("auditor")
    answer = await page.goto("/audit")
    assert answer is not None and answer.status == 200
    actor = f"{users['operator'].username} (console)"
    for action, (_, body) in zip(("users.add", "users.disable", "users.enable", "users.reset"), steps, strict=True):
        [entry] = await audited(console_env, action, subject)
        row = page.locator(f'#audit tr[data-id="{entry["id"]}"]')
        await expect(row.locator(".action")).to_have_text(action)
        await expect(row.locator(".actor")).to_have_text(actor)
        await expect(row.locator(".subject")).to_have_text(subject)
        await expect(row.locator(".reason")).to_have_text(body["reason"])
    ids = [int(i) for i in await page.locator("#audit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]
    assert ids == sorted(ids, reverse=True)  # newest first

    verified = await submit(page, "#verify")
    assert verified is not None and verified.status == 200
    await expect(page.locator("#verdict")).to_have_attribute("data-intact", "true")
    await expect(page.locator("#verdict")).to_contain_text("utuh")
    await shoot(page, "audit")

    # The database's owner rewrites the reason of the 'disable' entry.
    [entry] = await audited(console_env, "users.disable", subject)
    await console_env.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    try:
        await console_env.execute("UPDATE audit_log SET reason = 'Rahasia Tersembunyi' WHERE id = $1", entry["id"])
    finally:
        await console_env.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")

    await page.goto("/audit")
    verified = await submit(page, "#verify")
    assert verified is not None and verified.status == 200
    verdict = page.locator("#verdict")
    await expect(verdict).to_have_attribute("data-intact", "false")
    await expect(verdict).to_contain_text("TELAH DIUBAH")
    await expect(page.locator("#findings li")).to_have_count(1)
    await expect(page.locator("#findings li").first).to_have_attribute("data-row", str(entry["id"]))
    await expect(page.locator("#findings li").first).to_contain_text(f"baris {entry['id']}")
    assert "Rahasia Tersembunyi" not in await verdict.inner_text()  # never a row's contents
    await shoot(page, "audit-tampered")

    api = await page.request.post("/api/v1/audit/verify", headers={"X-CSRF-Token": await _csrf(page)})
    report = await api.json()
    assert api.status == 200 and report["intact"] is False
    assert [(f["row"], f["anchor_line"]) for f in report["findings"]] == [(entry["id"], None)]


async def _csrf(page: Page) -> str:
    return (await (await page.request.get("/api/v1/session")).json())["csrf_token"]


async def test_the_hospitals_page_lists_the_seeded_hospitals_with_their_regency_and_traffic(
    page_as, console_env, shoot
):
    seeded = await console_env.fetch("SELECT org_id, name, regency, active FROM hospitals ORDER BY org_id")
    assert len(seeded) > 2
    [home] = await console_env.households(1)
    sender = f"10{home.kecamatan[:4]}001"
    assert sender in {h["org_id"] for h in seeded}
    [message_id] = await console_env.send(birth(home, sender))
    [result] = await console_env.results(message_id)
    assert result.key == sender.encode()
    [inbox] = await console_env.fetch("SELECT status FROM inbox WHERE message_id = $1", message_id)
    assert inbox["status"] == "registered"

    page = await page_as("operator")
    answer = await page.goto("/rumah-sakit")
    assert answer is not None and answer.status == 200
    await expect(page.locator("#hospitals tbody tr")).to_have_count(len(seeded))
    for hospital in seeded:
        row = page.locator(f'#hospitals tr[data-org-id="{hospital["org_id"]}"]')
        await expect(row).to_contain_text(hospital["name"])
        regency = hospital["regency"].strip()
        await expect(row.locator(".regency")).to_contain_text(f"{region_name(regency)} ({regency})")
        if not hospital["active"]:
            await expect(row).to_have_attribute("data-status", "inactive")
            await expect(row).to_contain_text("nonaktif")
    sent = page.locator(f'#hospitals tr[data-org-id="{sender}"]')
    await expect(sent).to_have_attribute("data-status", "active")
    await expect(sent.locator(".received")).to_have_text("1")
    await expect(sent.locator(".registered")).to_have_text("1")
    await expect(sent.locator(".rejected")).to_have_text("0")
    await expect(page.locator("#credentials-note")).to_contain_text("onboarding")
    await shoot(page, "hospitals")

    listed = await (await page.request.get("/api/v1/hospitals")).json()
    by_id = {h["org_id"]: h for h in listed["hospitals"]}
    assert set(by_id) == {h["org_id"] for h in seeded}
    assert (by_id[sender]["received"], by_id[sender]["registered"], by_id[sender]["status"]) == (1, 1, "active")
    assert by_id[sender]["regency_name"] == region_name(sender[2:6])
    assert "credentials" not in {k for h in listed["hospitals"] for k in h}  # none invented

    auditor = await page_as("auditor", shared=True)
    assert (await auditor.goto("/rumah-sakit")).status == 200
    officer = await page_as("officer", shared=True)
    assert (await officer.goto("/rumah-sakit")).status == 403
