"""The console's admin area (users, audit, hospitals) through its ASGI app with in-memory accounts
and a stand-in read model and audit chain: permissions, the password shown once, nobody disabling
themselves, the audit verdict naming rows and never their contents, the hospital status."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from hub.console.app import create_console_app
from hub.console.pages.admin import hospital_status, when
from hub.service.accounts import ROLES, Accounts
from tests.fakes import FakeState, FakeUnitOfWork

PASSWORD = "kata-sandi-uji-12345"
NOW = datetime.now(UTC)
SECRET_REASON = "Isi Rahasia Baris"


@dataclass
class Finding:
    row: int | None
    line: int | None
    problem: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    rows: int = 3
    head: tuple[int, str] | None = (3, "abc")
    anchors_checked: int = 1
    newest_anchor: object = None
    unlisted: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


class Chain:
    def __init__(self) -> None:
        self.report = Report()

    async def verify(self) -> Report:
        return self.report


class View:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def audit_entries(self, limit: int) -> list[dict]:
        rows = [
            {
                "id": n,
                "at": NOW.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "reason": e.reason,
            }
            for n, e in enumerate(self.state.audit, start=1)
        ]
        return list(reversed(rows))[:limit]

    async def hospitals(self, since: datetime) -> list[dict]:
        return [
            {"org_id": "101271001", "name": "RS Satu", "regency": "1271", "regency_name": "Kota Medan", "active": True,
             "received": 2, "registered": 1, "rejected": 1, "last_message_at": NOW - timedelta(hours=1)},
            {"org_id": "100000000", "name": "RS Tutup", "regency": "1271", "regency_name": "Kota Medan",
             "active": False, "received": 0, "registered": 0, "rejected": 0, "last_message_at": None},
        ]  # fmt: skip


@pytest.fixture
async def console():
    state, chain = FakeState(), Chain()
    accounts = Accounts(lambda: FakeUnitOfWork(state), _Passwords(), lambda: datetime.now(UTC))
    for role in ROLES:
        await accounts.add(role, f"Uji {role}", role, PASSWORD, "test@host", "test account")
    desk = SimpleNamespace(
        settings=SimpleNamespace(console_secure_cookie=False),
        actions=SimpleNamespace(view=View(state)),
        accounts=accounts,
        audit=chain,
    )
    return create_console_app(desk), state, chain  # type: ignore[arg-type]


class _Passwords:
    """Plain text stands in for argon2id here (tests/unit/test_console_accounts.py covers hashing)."""

    def hash(self, password: str) -> str:
        return "plain$" + password

    def verify(self, stored_hash: str, password: str) -> bool:
        return stored_hash == "plain$" + password

    def needs_rehash(self, stored_hash: str) -> bool:
        return False


@contextlib.asynccontextmanager
async def signed_in(app, role: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client signed in through the sign-in form, with its session's CSRF token."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as browser:
        answer = await browser.post("/masuk", data={"username": role, "password": PASSWORD, "next": "/"})
        assert answer.status_code == 303, answer.text
        me = await browser.get("/api/v1/session")
        yield browser, me.json()["csrf_token"]


def test_the_hospital_status_comes_from_the_flag_and_the_last_message():
    since = NOW - timedelta(days=7)
    assert hospital_status(False, NOW, since) == "inactive"
    assert hospital_status(True, NOW - timedelta(days=1), since) == "active"
    assert hospital_status(True, NOW - timedelta(days=8), since) == "quiet"
    assert hospital_status(True, None, since) == "quiet"


def test_times_are_shown_in_utc():
    moment = datetime(2026, 11, 30, 15, 4, 5, tzinfo=UTC)
    assert when(moment) == "2026-11-30 15:04 UTC"
    assert when("2026-11-30T22:04:05+07:00", seconds=True) == "2026-11-30 15:04:05 UTC"
    assert when(None) == ""


async def test_an_added_user_gets_a_password_shown_once_and_the_change_is_audited(console):
    app, state, _ = console
    async with signed_in(app, "operator") as (browser, token):
        answer = await browser.post(
            "/pengguna/tambah",
            data={"csrf_token": token, "username": "baru", "display_name": "Baru", "role": "officer", "reason": "r1"},
        )
        assert answer.status_code == 200
        shown = re.search(r'id="new-password">([^<]+)<', answer.text)
        assert shown is not None and len(shown.group(1)) >= 12
        assert state.console_users["baru"].password_hash == "plain$" + shown.group(1)
        assert shown.group(1) not in (await browser.get("/pengguna")).text
        entry = state.audit[-1]
        assert (entry.actor, entry.action, entry.subject, entry.reason) == (
            "operator (console)",
            "users.add",
            "baru",
            "r1",
        )

        typed = await browser.post(
            "/pengguna/tambah",
            data={
                "csrf_token": token,
                "username": "ketik",
                "display_name": "K",
                "role": "auditor",
                "password": "x" * 12,
            },
        )
        assert typed.status_code == 303 and typed.headers["location"] == "/pengguna?selesai=user_added"

        short = await browser.post(
            "/pengguna/tambah",
            data={"csrf_token": token, "username": "pendek", "display_name": "P", "role": "officer", "password": "x"},
        )
        assert short.status_code == 400 and 'id="action-error"' in short.text and "pendek" not in state.console_users


async def test_nobody_disables_their_own_account(console):
    app, state, _ = console
    async with signed_in(app, "operator") as (browser, token):
        page = await browser.post(
            "/pengguna/nonaktifkan", data={"csrf_token": token, "username": "operator", "reason": "coba"}
        )
        assert page.status_code == 400 and "akun Anda sendiri" in page.text
        api = await browser.post(
            "/api/v1/users/operator/disable", json={"reason": "coba"}, headers={"X-CSRF-Token": token}
        )
        assert api.status_code == 400
        assert state.console_users["operator"].disabled_at is None
        assert not [e for e in state.audit if e.action == "users.disable"]
        assert (await browser.get("/pengguna")).status_code == 200  # still signed in


async def test_disable_needs_a_reason_and_ends_the_sessions(console):
    app, state, _ = console
    async with signed_in(app, "officer") as (officer, _), signed_in(app, "operator") as (browser, token):
        empty = await browser.post("/pengguna/nonaktifkan", data={"csrf_token": token, "username": "officer"})
        assert empty.status_code == 400 and state.console_users["officer"].disabled_at is None
        done = await browser.post(
            "/pengguna/nonaktifkan", data={"csrf_token": token, "username": "officer", "reason": "pindah"}
        )
        assert done.status_code == 303 and done.headers["location"] == "/pengguna?selesai=user_disabled"
        assert (await officer.get("/")).status_code == 303  # back to the sign-in page
        reset = await browser.post(
            "/api/v1/users/officer/reset", json={"reason": "lupa"}, headers={"X-CSRF-Token": token}
        )
        assert reset.status_code == 200 and len(reset.json()["password"]) >= 12


@pytest.mark.parametrize("role", ["officer", "supervisor"])
async def test_only_the_operator_manages_users(console, role):
    app, state, _ = console
    async with signed_in(app, role) as (browser, token):
        if role == "officer":
            assert (await browser.get("/pengguna")).status_code == 403
        answer = await browser.post(
            "/api/v1/users",
            json={"username": "x1", "display_name": "X", "role": "operator"},
            headers={"X-CSRF-Token": token},
        )
        assert answer.status_code == 403 and "x1" not in state.console_users


async def test_the_audit_verdict_names_rows_never_their_contents(console):
    app, _, chain = console
    async with signed_in(app, "auditor") as (browser, token):
        page = await browser.get("/audit")
        assert page.status_code == 200 and "users.add" in page.text
        intact = await browser.post("/audit/verifikasi", data={"csrf_token": token})
        assert intact.status_code == 200 and 'data-intact="true"' in intact.text and "utuh" in intact.text

        chain.report = Report(findings=[Finding(2, None, "contents do not match the hash (the row was changed)")])
        broken = await browser.post("/audit/verifikasi", data={"csrf_token": token})
        assert 'data-intact="false"' in broken.text and 'data-row="2"' in broken.text
        verdict = broken.text.split('id="verdict"', 1)[1].split("</section>", 1)[0]
        assert "baris 2" in verdict and SECRET_REASON not in verdict
        api = await browser.post("/api/v1/audit/verify", headers={"X-CSRF-Token": token})
        assert api.json()["intact"] is False and api.json()["findings"][0]["row"] == 2
        assert (await browser.post("/audit/verifikasi", data={})).status_code == 403  # no CSRF token


async def test_the_hospitals_show_their_status_and_no_invented_credentials(console):
    app, _, _ = console
    async with signed_in(app, "auditor") as (browser, _):
        page = await browser.get("/rumah-sakit")
        assert page.status_code == 200 and "Kota Medan" in page.text and 'id="credentials-note"' in page.text
        listed = (await browser.get("/api/v1/hospitals")).json()["hospitals"]
        assert {h["org_id"]: h["status"] for h in listed} == {"101271001": "active", "100000000": "inactive"}
    async with signed_in(app, "officer") as (officer, _):
        assert (await officer.get("/rumah-sakit")).status_code == 403
