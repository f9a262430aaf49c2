"""Dead letters, rejections and replay in the console, on the real hub, Kafka and PostgreSQL.

A hospital notifies a birth whose mother is not in the civil registry yet (MOTHER-NOT-FOUND); an
unreadable message becomes a dead letter. The operator sees both grouped on /surat-mati, the
registry is fixed, and the rejection is replayed from the console: the dry-run preview changes
nothing, the real run registers the birth once and the hospital gets its second result; replaying
again finds it already processed, and the dead letter replayed stays unreadable. A run refused for
its selection leaves no row and no audit entry; a run whose row is unfinished (the CLI's, or
interrupted) is shown as running elsewhere or interrupted until its row says it finished.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import asyncpg
import pytest
from playwright.async_api import Page, expect

from hub.devtools.simulation.bundles import Parent
from tests.support.kafka import collect, publish, status_of
from tests.support.people import birth

HOSPITAL = "103578001"
CODE = "MOTHER-NOT-FOUND"
RUN_PAGE = re.compile(r"/surat-mati/putaran/(\d+)$")
RUN_API = re.compile(r"^/api/v1/replays/\d+$")


@pytest.fixture(scope="module")
async def rejected(console_env):
    """A birth rejected because its mother is missing from the registry, and a dead letter."""
    [home] = await console_env.households(1)
    newcomer = await _newcomer(console_env, home.mother)
    spec = birth(replace(home, mother=newcomer), HOSPITAL)
    [message_id] = await console_env.send(spec)
    [first] = await console_env.results(message_id)
    assert status_of(first.json()) == "rejected"
    settings = console_env.settings
    await publish(settings.kafka_bootstrap, settings.topics.notifications, [(b"junk", b"{not json")])
    for _ in range(100):
        if await console_env.fetch("SELECT 1 FROM dead_letters WHERE reason = 'DLQ-NOT-JSON'"):
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail("the unreadable message was not dead-lettered")
    return {"message_id": message_id, "mother": newcomer}


async def _newcomer(console_env, mother: Parent) -> Parent:
    """A mother who moved into this family card but is not in the registry yet."""
    for serial in range(9001, 9999):
        nik = f"{mother.nik[:6]}610599{serial:04d}"
        if not await console_env.fetch("SELECT 1 FROM persons WHERE nik = $1", nik):
            return Parent(nik, "Ibu Baru Pindah", None, mother.kk_number)
    raise AssertionError("no free NIK")


async def _add_to_registry(console_env, mother: Parent) -> None:
    await console_env.execute(
        """INSERT INTO persons (nik, name, sex, birth_date, kk_number, relationship)
           VALUES ($1, $2, 'female', '1999-05-21', $3, 'FAMILI LAIN')""",
        mother.nik,
        mother.name,
        mother.kk_number,
    )


async def _results_now(console_env, message_id: str, wait: float = 3) -> list[str]:
    """The statuses of the distinct results published so far for the message (waiting `wait` s)."""
    topic = console_env.settings.topics.results
    collected = await collect(console_env.settings.kafka_bootstrap, [topic], until=lambda c: False, timeout=wait)
    distinct = {
        r.headers.get("event-id"): status_of(r.json())
        for r in collected.on(topic)
        if r.headers.get("correlation-id") == message_id
    }
    return list(distinct.values())


async def _registrations(console_env, message_id: str) -> int:
    rows = await console_env.fetch("SELECT count(*) AS n FROM births WHERE message_id = $1", message_id)
    return rows[0]["n"]


def _group(page: Page, reason: str, hospital: str = ""):
    return page.locator(f'#groups tr[data-reason="{reason}"][data-hospital="{hospital}"]')


async def _run_to_the_end(page: Page) -> int:
    async with page.expect_navigation():
        await page.click("#run-replay")
    found = RUN_PAGE.search(page.url.split("?")[0])
    assert found, page.url
    await expect(page.locator("#replay-status")).to_contain_text("Selesai", timeout=60_000)
    await expect(page.locator("#replay-run")).to_have_attribute("data-finished", "true")
    return int(found.group(1))


async def test_a_rejection_fixed_in_the_registry_is_replayed_once_from_the_console(
    console_env, rejected, page_as, users, shoot
):
    message_id, mother = rejected["message_id"], rejected["mother"]
    page = await page_as("operator")
    await page.click("nav.main a[href='/surat-mati']")
    await expect(page.locator("h1")).to_have_text("Surat mati & penolakan")
    group = _group(page, CODE, HOSPITAL)
    await expect(group).to_have_count(1)
    await expect(group.locator("td.count")).to_have_text("1")
    await expect(group).to_contain_text("NIK ibu tidak ditemukan")
    letters = _group(page, "DLQ-NOT-JSON")
    await expect(letters).to_have_attribute("data-kind", "dead-letter")
    await expect(letters.locator("td.count")).to_have_text("1")
    await expect(page.locator(f'#rejections tr[data-message-id="{message_id}"]')).to_contain_text(CODE)
    await expect(page.locator("#total-rejections")).to_contain_text("1")
    await shoot(page, "deadletters")

    await _add_to_registry(console_env, mother)  # the registry is fixed

    await group.locator("a.replay-group").click()
    await expect(page.locator("#replay-source")).to_have_value("rejected")
    await expect(page.locator("#replay-code")).to_have_value(CODE)
    await expect(page.locator("#replay-hospital")).to_have_value(HOSPITAL)
    await page.fill("#replay-reason", "ibu sudah ditambahkan ke data kependudukan")
    async with page.expect_navigation():
        await page.click("#preview-replay")
    await expect(page.locator("#nothing-written")).to_be_visible()
    await expect(page.locator("#preview-newly-processed")).to_have_text("1")
    for kind in ("already-processed", "rejected", "unreadable", "skipped"):
        await expect(page.locator(f"#preview-{kind}")).to_have_text("0")
    await shoot(page, "replay-preview")
    assert await _registrations(console_env, message_id) == 0, "a dry run registers nothing"
    assert await _results_now(console_env, message_id) == ["rejected"], "a dry run sends nothing"
    runs = await console_env.fetch("SELECT count(*) AS n FROM replay_runs")
    assert runs[0]["n"] == 0, "a dry run records no run"

    run_id = await _run_to_the_end(page)
    await expect(page.locator("#run-newly-processed")).to_have_text("1")
    await expect(page.locator("#replay-progress")).to_have_attribute("value", "1")
    await expect(page.locator("#replay-progress")).to_have_attribute("max", "1")
    await expect(page.locator("#replay-done")).to_have_text("1")
    await shoot(page, "replay-run")

    results = await console_env.results(message_id, count=2)
    assert [status_of(r.json()) for r in results] == ["rejected", "registered"]
    assert (results[1].key or b"").decode() == HOSPITAL
    assert await _registrations(console_env, message_id) == 1
    audit = await console_env.fetch(
        "SELECT actor, action, reason FROM audit_log WHERE subject = $1 ORDER BY id", f"replay-run:{run_id}"
    )
    actor = f"{users['operator'].username} (console)"
    reason = "ibu sudah ditambahkan ke data kependudukan"
    assert [tuple(a) for a in audit] == [(actor, "replay.start", reason), (actor, "replay.finish", reason)]
    state = await page.request.get(f"/api/v1/replays/{run_id}")
    assert state.ok
    body = await state.json()
    assert (body["finished"], body["done"], body["total"], body["counts"]["newly-processed"]) == (True, 1, 1, 1)

    await page.goto("/surat-mati")
    await expect(_group(page, CODE, HOSPITAL)).to_have_count(0)  # no longer rejected
    await expect(page.locator("#total-rejections")).to_contain_text("0")

    # Replaying the message again: already processed, no second registration, no third result.
    await page.select_option("#replay-source", "ids")
    await page.fill("#replay-ids", message_id)
    await page.fill("#replay-reason", "sekali lagi")
    async with page.expect_navigation():
        await page.click("#preview-replay")
    await expect(page.locator("#preview-already-processed")).to_have_text("1")
    await expect(page.locator("#preview-newly-processed")).to_have_text("0")
    await _run_to_the_end(page)
    await expect(page.locator("#run-already-processed")).to_have_text("1")
    await expect(page.locator("#run-newly-processed")).to_have_text("0")
    await expect(page.locator("#replay-progress")).to_have_attribute("value", "1")
    assert await _registrations(console_env, message_id) == 1
    assert await _results_now(console_env, message_id) == ["rejected", "registered"]

    # The dead letter, replayed: still unreadable, and not dead-lettered twice. The inbox and the
    # deliveries (where an unreadable message's replay looks first; CI once finished the run before
    # its page showed with the inbox alone locked) are locked once the run has started (a
    # dead-letter selection is checked without them), so that its page shows the run going and polls it.
    await page.goto("/surat-mati")
    await _group(page, "DLQ-NOT-JSON").locator("a.replay-group").click()
    await expect(page.locator("#replay-source")).to_have_value("dlq")
    await page.fill("#replay-reason", "cek surat mati")
    async with page.expect_navigation():
        await page.click("#preview-replay")
    await expect(page.locator("#preview-unreadable")).to_have_text("1")
    blocker = await asyncpg.connect(console_env.environment.owner_dsn)
    try:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE inbox, deliveries IN ACCESS EXCLUSIVE MODE")
            async with page.expect_navigation():
                await page.click("#run-replay")
            await expect(page.locator("#replay-run")).to_have_attribute("data-poll", RUN_API)
            await expect(page.locator("#replay-status")).to_contain_text("Berjalan")
            await expect(page.locator("#replay-done")).to_have_text("0")
    finally:
        await blocker.close()
    await expect(page.locator("#replay-status")).to_contain_text("Selesai", timeout=60_000)  # polled, then reloaded
    await expect(page.locator("#run-unreadable")).to_have_text("1")
    await expect(page.locator("#replay-progress")).to_have_attribute("value", "1")
    letters = await console_env.fetch("SELECT count(*) AS n FROM dead_letters WHERE reason = 'DLQ-NOT-JSON'")
    assert letters[0]["n"] == 1


async def test_a_replay_needs_a_reason_and_a_known_message(console_env, rejected, page_as):
    page = await page_as("operator", shared=True)
    await page.goto("/surat-mati")
    runs_before = (await console_env.fetch("SELECT count(*) AS n FROM replay_runs"))[0]["n"]
    await page.evaluate("document.getElementById('replay-reason').removeAttribute('required')")
    await page.select_option("#replay-source", "rejected")
    async with page.expect_navigation():
        await page.click("#preview-replay")
    await expect(page.locator("#action-error")).to_contain_text("Isi alasan putar ulang")

    await page.select_option("#replay-source", "ids")
    await page.fill("#replay-ids", "00000000-0000-4000-8000-000000000000")
    await page.fill("#replay-reason", "coba")
    async with page.expect_navigation():
        await page.click("#preview-replay")
    await expect(page.locator("#action-error")).to_contain_text("unknown message ids")
    await expect(page.locator("#replay-ids")).to_have_value("00000000-0000-4000-8000-000000000000")
    assert (await console_env.fetch("SELECT count(*) AS n FROM replay_runs"))[0]["n"] == runs_before


async def test_the_json_api_lists_failures_and_previews_a_replay(console_env, rejected, page_as):
    page = await page_as("operator", shared=True)
    letters = await (await page.request.get("/api/v1/dead-letters")).json()
    assert [(g["reason"], g["hospital_id"], g["count"]) for g in letters["groups"]] == [("DLQ-NOT-JSON", None, 1)]
    assert letters["dead_letters"][0]["reason"] == "DLQ-NOT-JSON"
    rejections = await page.request.get("/api/v1/rejections", params={"code": CODE})
    assert rejections.ok and isinstance((await rejections.json())["groups"], list)

    body = {"source": "dlq", "code": "DLQ-NOT-JSON", "dry_run": True, "reason": "cek"}
    refused = await page.request.post("/api/v1/replays", data=body)
    assert refused.status == 403 and (await refused.json())["code"] == "CSRF"
    session = await (await page.request.get("/api/v1/session")).json()
    preview = await page.request.post("/api/v1/replays", data=body, headers={"X-CSRF-Token": session["csrf_token"]})
    assert preview.ok, await preview.text()
    answer = await preview.json()
    assert (answer["dry_run"], answer["counts"]["unreadable"]) == (True, 1)
    missing = await page.request.get("/api/v1/replays/999999")
    assert missing.status == 404


async def test_an_officer_may_not_see_dead_letters_or_replay(console_env, page_as):
    page = await page_as("officer", shared=True)
    await expect(page.locator("nav.main a[href='/surat-mati']")).to_have_count(0)
    answer = await page.goto("/surat-mati")
    assert answer is not None and answer.status == 403
    await expect(page.locator("#forbidden")).to_be_visible()
    api = await page.request.get("/api/v1/dead-letters")
    assert api.status == 403
    session = await (await page.request.get("/api/v1/session")).json()
    replay = await page.request.post(
        "/api/v1/replays",
        data={"source": "rejected", "dry_run": False, "reason": "x"},
        headers={"X-CSRF-Token": session["csrf_token"]},
    )
    assert replay.status == 403
    officers = await console_env.fetch("SELECT count(*) AS n FROM replay_runs WHERE operator LIKE 'officer%'")
    assert officers[0]["n"] == 0


async def test_a_refused_run_is_neither_recorded_nor_audited(console_env, page_as):
    """The real run's selection is checked before its row and audit entry: unknown message ids are
    refused on the form, from the page (the run form sent without a preview) and the JSON API."""
    unknown = "00000000-0000-4000-8000-00000000dead"

    async def recorded() -> tuple[int, int]:
        runs = await console_env.fetch("SELECT count(*) AS n FROM replay_runs")
        started = await console_env.fetch("SELECT count(*) AS n FROM audit_log WHERE action = 'replay.start'")
        return runs[0]["n"], started[0]["n"]

    before = await recorded()
    page = await page_as("operator", shared=True)
    await page.goto("/surat-mati")
    await page.select_option("#replay-source", "ids")
    await page.fill("#replay-ids", unknown)
    await page.fill("#replay-reason", "langsung jalankan")
    await page.evaluate("document.getElementById('replay-form').action = '/surat-mati/putaran'")
    async with page.expect_navigation():
        await page.click("#preview-replay")
    await expect(page.locator("#action-error")).to_contain_text(f"unknown message ids: {unknown}")
    assert not RUN_PAGE.search(page.url.split("?")[0]), "no run page: nothing was started"
    await expect(page.locator("#replay-ids")).to_have_value(unknown)

    session = await (await page.request.get("/api/v1/session")).json()
    answer = await page.request.post(
        "/api/v1/replays",
        data={"source": "ids", "message_ids": [unknown], "dry_run": False, "reason": "langsung"},
        headers={"X-CSRF-Token": session["csrf_token"]},
    )
    assert answer.status == 400 and (await answer.json())["code"] == "REFUSED"
    assert await recorded() == before, "no replay_runs row and no replay.start entry for what never ran"


async def test_a_run_whose_row_is_unfinished_shows_as_running_elsewhere_or_interrupted(console_env, page_as):
    """A run known only from its row (the CLI's, or one the console was running when it stopped)
    without finished_at is not reported finished: the page says so and keeps polling."""
    selector = '{"source": "topic", "partitions": null, "from_offset": null, "to_offset": null, "since": null, '
    selector += '"until": null, "message_ids": [], "hospital": null, "code": null}'
    [row] = await console_env.fetch(
        """INSERT INTO replay_runs (operator, selector, dry_run, positions, counts)
           VALUES ('cli@host', $1::jsonb, false, '{"0": 3}', '{"already-processed": 3}') RETURNING id""",
        selector,
    )
    run_id = row["id"]
    page = await page_as("operator")
    await page.goto(f"/surat-mati/putaran/{run_id}")
    await expect(page.locator("#replay-status")).to_contain_text("Berjalan di tempat lain atau terhenti")
    await expect(page.locator("#replay-status")).to_contain_text(f"hub replay --resume {run_id}")
    await expect(page.locator("#replay-run")).to_have_attribute("data-poll", f"/api/v1/replays/{run_id}")
    await expect(page.locator("#replay-done")).to_have_text("3")
    state = await (await page.request.get(f"/api/v1/replays/{run_id}")).json()
    assert (state["finished"], state["running_here"], state["finished_at"], state["done"]) == (False, False, None, 3)

    await page.click("#language")  # in English
    await expect(page.locator("#replay-status")).to_contain_text("Running elsewhere or interrupted")

    await console_env.execute("UPDATE replay_runs SET finished_at = now() WHERE id = $1", run_id)  # the CLI ends it
    await expect(page.locator("#replay-status")).to_contain_text("Finished", timeout=15_000)  # polled, then reloaded
    await expect(page.locator("#replay-run")).to_have_attribute("data-finished", "true")

    await page.goto("/surat-mati")  # the rejection texts are words, not class names
    await expect(page.locator("#total-rejections")).to_contain_text("Rejections")
    await expect(page.locator("#replay-form")).to_contain_text("Rejection code or dead-letter reason")
    await expect(page.locator("#replay-form")).not_to_contain_text("RejectedNotification")
