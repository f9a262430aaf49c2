"""The console's admin area: hospitals, console users and the audit log (issue #11).

GET  /rumah-sakit               hospitals and their traffic of the last 7 days (hospitals.view)
GET  /pengguna                  console accounts (users.view)
POST /pengguna/tambah           add an account; a generated password is shown once (users.manage)
POST /pengguna/nonaktifkan      disable an account and end its sessions (users.manage, a reason)
POST /pengguna/aktifkan         enable it again (users.manage, a reason)
POST /pengguna/atur-ulang       a new password, shown once when generated (users.manage, a reason)
GET  /audit                     the newest audit entries (audit.view)
POST /audit/verifikasi          check the hash chain and its anchors, as `hub audit verify` (audit.view)

Usernames travel in form fields, never in a page's URL. The accounts are the same use case as
`hub users` (hub.service.accounts.Accounts) with the signed-in user as the actor; the audit
verification is `hub audit verify`'s (the chain and the anchors); the hospitals come from the
operators' read model. Hospital credentials and keys (Kafka principals, signing keys) are not
managed here yet: they arrive with the hospital onboarding work.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field

from hub.bootstrap import verify_audit
from hub.console import i18n
from hub.console.web import actor, back_to, desk, failed, language, render, viewer, when
from hub.errors import OperatorError
from hub.service.accounts import CONSOLE_MANAGED_ROLES, MIN_PASSWORD, ROLES, SignedIn, new_password
from hub.service.ports import ConsoleAccount

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["admin"])

WINDOW = timedelta(days=7)  # the hospitals page's traffic window
AUDIT_SHOWN = 200  # audit entries on the page (the API takes up to AUDIT_MOST)
AUDIT_MOST = 1000
HospitalStatus = Literal["active", "quiet", "inactive"]

i18n.register(
    {
        # hospitals
        "hospitals.intro": (
            "Rumah sakit yang terdaftar di hub dan pemberitahuan kelahiran yang dikirimnya dalam 7 hari terakhir.",
            "The hospitals registered with the hub and the birth notifications they sent in the last 7 days.",
        ),
        "hospitals.credentials": (
            "Kredensial Kafka dan kunci penandatanganan rumah sakit belum dikelola di halaman ini: "
            "keduanya hadir bersama pekerjaan pendaftaran (onboarding) rumah sakit.",
            "Hospital Kafka credentials and signing keys are not managed on this page yet: "
            "they arrive with the hospital onboarding work.",
        ),
        "hospitals.org_id": ("ID organisasi", "Organisation id"),
        "hospitals.name": ("Nama", "Name"),
        "hospitals.regency": ("Kabupaten/kota", "Regency"),
        "hospitals.received": ("Diterima (7 hari)", "Received (7 days)"),
        "hospitals.registered": ("Terdaftar (7 hari)", "Registered (7 days)"),
        "hospitals.rejected": ("Ditolak (7 hari)", "Rejected (7 days)"),
        "hospitals.last_message": ("Pesan terakhir", "Last message"),
        "hospitals.never": ("belum pernah", "never"),
        "hospitals.status.active": ("aktif", "active"),
        "hospitals.status.quiet": ("sepi", "quiet"),
        "hospitals.legend": (
            "Status: aktif = terdaftar dan mengirim pemberitahuan dalam 7 hari terakhir; sepi = terdaftar, "
            "tetapi tidak mengirim apa pun dalam 7 hari terakhir; nonaktif = dinonaktifkan di hub. Waktu dalam UTC.",
            "Status: active = registered and sent notifications in the last 7 days; quiet = registered, but sent "
            "nothing in the last 7 days; inactive = switched off in the hub. Times in UTC.",
        ),
        "hospitals.status.inactive": ("nonaktif", "inactive"),
        "hospitals.count": ("{n} rumah sakit", "{n} hospitals"),
        # users
        "users.intro": (
            "Akun konsol. Setiap perubahan dicatat di log audit dengan nama Anda dan alasannya.",
            "The console's accounts. Every change goes to the audit log with your name and the reason.",
        ),
        "users.cli_only": (
            "Di sini hanya akun petugas dan auditor. Akun supervisor dan operator dikelola dengan `hub users` "
            "di baris perintah, sehingga tidak ada pengguna konsol yang dapat membuat atau mengambil alih akun "
            "yang lebih berkuasa.",
            "Officer and auditor accounts only. Supervisor and operator accounts are managed with `hub users` on "
            "the command line, so no console user can make or take over a more powerful account.",
        ),
        "users.username": ("Nama pengguna", "Username"),
        "users.name": ("Nama", "Name"),
        "users.role": ("Peran", "Role"),
        "users.created": ("Dibuat", "Created"),
        "users.password_set": ("Kata sandi diatur", "Password set"),
        "users.state": ("Keadaan", "State"),
        "users.state.active": ("aktif", "active"),
        "users.state.disabled": ("nonaktif sejak {when}", "disabled since {when}"),
        "users.state.locked": ("terkunci sampai {when}", "locked until {when}"),
        "users.add.title": ("Tambah pengguna", "Add a user"),
        "users.add.submit": ("Tambah", "Add"),
        "users.password": ("Kata sandi (opsional)", "Password (optional)"),
        "users.password.hint": (
            "Kosongkan agar konsol membuat kata sandi dan menampilkannya sekali. Minimal {n} karakter.",
            "Leave it empty to have the console generate one and show it once. At least {n} characters.",
        ),
        "users.reason.add": ("Alasan (opsional)", "Reason (optional)"),
        "users.manage.title": ("Ubah akun", "Change an account"),
        "users.manage.user": ("Akun", "Account"),
        "users.disable": ("Nonaktifkan", "Disable"),
        "users.enable": ("Aktifkan", "Enable"),
        "users.reset": ("Atur ulang kata sandi", "Reset the password"),
        "users.manage.hint": (
            "Menonaktifkan akun atau mengatur ulang kata sandinya langsung mengakhiri sesinya yang terbuka.",
            "Disabling an account or resetting its password ends its open sessions at once.",
        ),
        "users.generated.title": ("Kata sandi baru untuk {username}", "New password for {username}"),
        "users.generated.body": (
            "Kata sandi ini hanya ditampilkan sekali ini. Serahkan langsung kepada pemiliknya; "
            "konsol tidak menyimpannya.",
            "This password is shown this once only. Hand it over in person; the console does not keep it.",
        ),
        "users.self_disable": (
            "Anda tidak dapat menonaktifkan akun Anda sendiri; minta operator lain.",
            "You cannot disable your own account; ask another operator.",
        ),
        "done.user_added": ("Pengguna ditambahkan.", "User added."),
        "done.user_disabled": ("Akun dinonaktifkan; sesinya diakhiri.", "Account disabled; its sessions ended."),
        "done.user_enabled": ("Akun diaktifkan kembali.", "Account enabled again."),
        "done.user_reset": ("Kata sandi diatur ulang; sesinya diakhiri.", "Password reset; its sessions ended."),
        # audit
        "audit.intro": (
            "Setiap tindakan operator dan pengguna konsol, terbaru di atas ({n} entri terbaru). "
            "Entri dirantai dengan hash dan dijangkarkan di luar basis data.",
            "Every action of operators and console users, newest first (the newest {n} entries). "
            "Entries are hash-chained and anchored outside the database.",
        ),
        "audit.id": ("No.", "No."),
        "audit.actor": ("Pelaku", "Actor"),
        "audit.action": ("Tindakan", "Action"),
        "audit.subject": ("Subjek", "Subject"),
        "audit.verify": ("Verifikasi rantai", "Verify the chain"),
        "audit.verify.hint": (
            "Menghitung ulang rantai hash dan memeriksa setiap jangkar, seperti `hub audit verify`. Tidak mengubah apa pun.",
            "Recomputes the hash chain and checks every anchor, as `hub audit verify` does. Changes nothing.",
        ),
        "audit.intact": ("Log audit utuh", "The audit log is intact"),
        "audit.tampered": ("Log audit TELAH DIUBAH", "The audit log was TAMPERED with"),
        "audit.summary": (
            "{rows} baris, {anchors} jangkar diperiksa.",
            "{rows} rows, {anchors} anchors checked.",
        ),
        "audit.newest_anchor": ("Jangkar terbaru: baris {row} ({at}).", "Newest anchor: row {row} ({at})."),
        "audit.no_anchor": ("Belum ada jangkar.", "No anchor yet."),
        "audit.findings": (
            "Baris dan jangkar yang bermasalah (isi baris tidak pernah ditampilkan):",
            "The rows and anchors concerned (a row's contents are never shown):",
        ),
        "audit.finding.row": ("baris {row}", "row {row}"),
        "audit.finding.line": ("baris berkas jangkar {line}", "anchor file line {line}"),
        "audit.finding.anchors": ("jangkar", "anchors"),
        "audit.more": ("... dan {n} temuan lainnya", "... and {n} more findings"),
        "audit.notes": ("Catatan", "Notes"),
    }
)


# --- shared helpers ----------------------------------------------------------------------------


def hospital_status(active: bool, last_message_at: datetime | None, since: datetime) -> HospitalStatus:
    """`inactive` when the hospital is switched off; `active` when it sent a notification since
    `since`; `quiet` when it is on but sent nothing in that window."""
    if not active:
        return "inactive"
    if last_message_at is not None and last_message_at >= since:
        return "active"
    return "quiet"


def is_locked(account: ConsoleAccount, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def _refuse_self(user: SignedIn, username: str, text: str) -> None:
    if username.strip() == user.username:
        raise OperatorError(text)


async def _hospitals(request: Request) -> tuple[list[dict[str, Any]], datetime]:
    since = datetime.now(UTC) - WINDOW
    rows = await desk(request).actions.view.hospitals(since)
    return [{**row, "status": hospital_status(row["active"], row["last_message_at"], since)} for row in rows], since


# --- hospitals ---------------------------------------------------------------------------------


@pages.get("/rumah-sakit")
async def hospitals_page(request: Request, user: Annotated[SignedIn, Depends(viewer("hospitals.view"))]):
    hospitals, _ = await _hospitals(request)
    return render(request, "admin/hospitals.html", hospitals=hospitals, when=when)


# --- users -------------------------------------------------------------------------------------


async def _users_page(request: Request, status_code: int = 200, **context: Any):
    accounts = await desk(request).accounts.listed()
    values = {"error": None, "generated": None, "form": {}, **context}
    return render(
        request,
        "admin/users.html",
        status_code,
        accounts=accounts,
        roles=[role for role in ROLES if role in CONSOLE_MANAGED_ROLES],
        now=datetime.now(UTC),
        is_locked=is_locked,
        when=when,
        min_password=MIN_PASSWORD,
        **values,
    )


@pages.get("/pengguna")
async def users_page(request: Request, user: Annotated[SignedIn, Depends(viewer("users.view"))]):
    return await _users_page(request)


@pages.post("/pengguna/tambah")
async def users_add(
    request: Request,
    user: Annotated[SignedIn, Depends(actor("users.manage"))],
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
):
    username = username.strip()
    chosen, generated = (password, False) if password else (new_password(), True)
    try:
        await desk(request).accounts.add(
            username, display_name, role, chosen, user.actor, reason.strip(), manageable=CONSOLE_MANAGED_ROLES
        )
    except OperatorError as exc:
        form = {"username": username, "display_name": display_name, "role": role, "reason": reason}
        return await _users_page(request, 400, error=failed(request, exc), form=form)
    if not generated:
        return back_to("/pengguna", done="user_added")
    return await _users_page(request, generated={"username": username, "password": chosen, "done": "user_added"})


@pages.post("/pengguna/nonaktifkan")
async def users_disable(
    request: Request,
    user: Annotated[SignedIn, Depends(actor("users.manage"))],
    username: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
):
    try:
        _refuse_self(user, username, i18n.text("users.self_disable", language(request)))
        await desk(request).accounts.disable(
            username.strip(), user.actor, reason.strip(), manageable=CONSOLE_MANAGED_ROLES
        )
    except OperatorError as exc:
        return await _users_page(request, 400, error=failed(request, exc))
    return back_to("/pengguna", done="user_disabled")


@pages.post("/pengguna/aktifkan")
async def users_enable(
    request: Request,
    user: Annotated[SignedIn, Depends(actor("users.manage"))],
    username: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
):
    try:
        await desk(request).accounts.enable(
            username.strip(), user.actor, reason.strip(), manageable=CONSOLE_MANAGED_ROLES
        )
    except OperatorError as exc:
        return await _users_page(request, 400, error=failed(request, exc))
    return back_to("/pengguna", done="user_enabled")


@pages.post("/pengguna/atur-ulang")
async def users_reset(
    request: Request,
    user: Annotated[SignedIn, Depends(actor("users.manage"))],
    username: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
):
    username, password = username.strip(), new_password()
    try:
        await desk(request).accounts.reset(
            username, password, user.actor, reason.strip(), manageable=CONSOLE_MANAGED_ROLES
        )
    except OperatorError as exc:
        return await _users_page(request, 400, error=failed(request, exc))
    return await _users_page(request, generated={"username": username, "password": password, "done": "user_reset"})


# --- audit -------------------------------------------------------------------------------------


async def _audit_page(request: Request, status_code: int = 200, **context: Any):
    entries = await desk(request).actions.view.audit_entries(AUDIT_SHOWN)
    values = {"error": None, "report": None, **context}
    return render(request, "admin/audit.html", status_code, entries=entries, shown=AUDIT_SHOWN, when=when, **values)


@pages.get("/audit")
async def audit_page(request: Request, user: Annotated[SignedIn, Depends(viewer("audit.view"))]):
    return await _audit_page(request)


@pages.post("/audit/verifikasi")
async def audit_verify(request: Request, user: Annotated[SignedIn, Depends(actor("audit.view"))]):
    """Verification changes nothing; it is a POST because it is work (it reads the whole chain)."""
    try:
        report = await verify_audit(desk(request).audit)
    except OperatorError as exc:
        return await _audit_page(request, 400, error=failed(request, exc))
    return await _audit_page(request, report=report)


# --- the JSON API ------------------------------------------------------------------------------


class Hospital(BaseModel):
    org_id: str = Field(description="The SATUSEHAT organisation id.")
    name: str
    regency: str = Field(description="The 4-digit Kemendagri regency code.")
    regency_name: str | None = Field(description="The regency's name (None if the code is unknown).")
    active: bool = Field(description="The hospital's `active` flag.")
    status: HospitalStatus = Field(
        description="inactive: switched off; active: sent a notification in the window; quiet: on, but nothing sent."
    )
    received: int = Field(description="Notifications received in the last 7 days.")
    registered: int = Field(description="Of those, registered.")
    rejected: int = Field(description="Of those, rejected.")
    last_message_at: datetime | None = Field(description="When its newest notification was processed.")


class HospitalList(BaseModel):
    since: datetime = Field(description="The start of the 7-day window the counts cover.")
    credentials: str = Field(description="Where hospital credentials and keys are managed.")
    hospitals: list[Hospital]


@api.get("/hospitals", response_model=HospitalList)
async def api_hospitals(request: Request, user: Annotated[SignedIn, Depends(viewer("hospitals.view"))]):
    """The hospitals with their notifications of the last 7 days. Kafka credentials and signing
    keys of hospitals are not part of this yet: they arrive with the hospital onboarding work."""
    hospitals, since = await _hospitals(request)
    return HospitalList(
        since=since,
        credentials="not managed by the console yet: they arrive with the hospital onboarding work",
        hospitals=[Hospital.model_validate(h) for h in hospitals],
    )


class User(BaseModel):
    username: str
    display_name: str
    role: str
    created_at: datetime
    password_set_at: datetime
    disabled_at: datetime | None
    locked_until: datetime | None
    locked: bool = Field(description="Locked now (too many wrong passwords).")


def _user(account: ConsoleAccount, now: datetime) -> User:
    return User(
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        created_at=account.created_at,
        password_set_at=account.password_set_at,
        disabled_at=account.disabled_at,
        locked_until=account.locked_until,
        locked=is_locked(account, now),
    )


class NewUser(BaseModel):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=200)
    role: Literal["officer", "supervisor", "operator", "auditor"]
    password: str | None = Field(
        None, max_length=1024, description=f"At least {MIN_PASSWORD} characters; omitted: one is generated."
    )
    reason: str = Field("", max_length=500)


class Reason(BaseModel):
    reason: str = Field(max_length=500, description="Why (recorded in the audit log); required.")


class PasswordGiven(BaseModel):
    username: str
    password: str | None = Field(description="The generated password, returned this once (None if one was given).")


class Disabled(BaseModel):
    username: str
    sessions_ended: int


class Enabled(BaseModel):
    username: str


@api.get("/users", response_model=list[User])
async def api_users(request: Request, user: Annotated[SignedIn, Depends(viewer("users.view"))]):
    now = datetime.now(UTC)
    return [_user(a, now) for a in await desk(request).accounts.listed()]


@api.post("/users", response_model=PasswordGiven, status_code=201)
async def api_users_add(request: Request, user: Annotated[SignedIn, Depends(actor("users.manage"))], body: NewUser):
    """Add an account. Without a password one is generated and returned this once."""
    password = body.password or new_password()
    username = body.username.strip()
    await desk(request).accounts.add(
        username,
        body.display_name,
        body.role,
        password,
        user.actor,
        body.reason.strip(),
        manageable=CONSOLE_MANAGED_ROLES,
    )
    return PasswordGiven(username=username, password=None if body.password else password)


@api.post("/users/{username}/disable", response_model=Disabled)
async def api_users_disable(
    request: Request, user: Annotated[SignedIn, Depends(actor("users.manage"))], username: str, body: Reason
):
    """Disable an account and end its sessions. Nobody may disable their own account."""
    _refuse_self(user, username, "you cannot disable your own account; ask another operator")
    ended = await desk(request).accounts.disable(
        username, user.actor, body.reason.strip(), manageable=CONSOLE_MANAGED_ROLES
    )
    return Disabled(username=username, sessions_ended=ended)


@api.post("/users/{username}/enable", response_model=Enabled)
async def api_users_enable(
    request: Request, user: Annotated[SignedIn, Depends(actor("users.manage"))], username: str, body: Reason
):
    await desk(request).accounts.enable(username, user.actor, body.reason.strip(), manageable=CONSOLE_MANAGED_ROLES)
    return Enabled(username=username)


@api.post("/users/{username}/reset", response_model=PasswordGiven)
async def api_users_reset(
    request: Request, user: Annotated[SignedIn, Depends(actor("users.manage"))], username: str, body: Reason
):
    """A new generated password (returned this once); clears a lockout and ends the account's sessions."""
    password = new_password()
    await desk(request).accounts.reset(
        username, password, user.actor, body.reason.strip(), manageable=CONSOLE_MANAGED_ROLES
    )
    return PasswordGiven(username=username, password=password)


class AuditRow(BaseModel):
    id: int
    at: str = Field(description="ISO 8601, as hashed.")
    actor: str
    action: str
    subject: str
    reason: str


class AuditFinding(BaseModel):
    row: int | None = Field(description="The audit row concerned, if any.")
    anchor_line: int | None = Field(description="The anchor file's line concerned, if any.")
    problem: str = Field(description="What does not hold (never a row's contents).")


class AuditVerdict(BaseModel):
    intact: bool
    rows: int
    head_row: int | None
    head_hash: str | None
    anchors_checked: int
    newest_anchor_row: int | None
    newest_anchor_at: str | None
    findings: list[AuditFinding]
    unlisted_findings: int
    notes: list[str]


@api.get("/audit", response_model=list[AuditRow])
async def api_audit(
    request: Request,
    user: Annotated[SignedIn, Depends(viewer("audit.view"))],
    limit: Annotated[int, Query(ge=1, le=AUDIT_MOST)] = AUDIT_SHOWN,
):
    """The newest audit entries, newest first."""
    return [AuditRow.model_validate(row) for row in await desk(request).actions.view.audit_entries(limit)]


@api.post("/audit/verify", response_model=AuditVerdict, responses={400: {"description": "The anchor key is unusable"}})
async def api_audit_verify(request: Request, user: Annotated[SignedIn, Depends(actor("audit.view"))]):
    """Check the hash chain and every anchor, as `hub audit verify`. Changes nothing."""
    report = await verify_audit(desk(request).audit)
    newest = report.newest_anchor
    return AuditVerdict(
        intact=report.intact,
        rows=report.rows,
        head_row=None if report.head is None else report.head[0],
        head_hash=None if report.head is None else report.head[1],
        anchors_checked=report.anchors_checked,
        newest_anchor_row=None if newest is None else newest.row,
        newest_anchor_at=None if newest is None else newest.at,
        findings=[AuditFinding(row=f.row, anchor_line=f.line, problem=f.problem) for f in report.findings],
        unlisted_findings=report.unlisted,
        notes=report.notes,
    )
