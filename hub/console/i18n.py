"""The console's texts, in Indonesian (the default) and English.

Each area registers its own texts as {key: (indonesian, english)}; templates call `t("key")`.
A key missing in the table is a bug: tests/unit/test_console_texts.py checks every key the
templates and pages use, and `t` shows the key itself rather than failing a page.
"""

from __future__ import annotations

from hub.domain.codes import CATALOGUE

LANGUAGES = ("id", "en")
DEFAULT = "id"
_TEXTS: dict[str, tuple[str, str]] = {}


def register(texts: dict[str, tuple[str, str]]) -> None:
    for key, pair in texts.items():
        if key in _TEXTS and _TEXTS[key] != pair:
            raise ValueError(f"console text {key!r} registered twice with different words")
        _TEXTS[key] = pair


def text(key: str, language: str, **values: object) -> str:
    pair = _TEXTS.get(key)
    if pair is None:
        return key
    chosen = pair[1] if language == "en" else pair[0]
    return chosen.format(**values) if values else chosen


def code_meaning(code: str, language: str) -> str:
    """What a hub code means, from the code catalogue, in the reader's language ('' if unknown)."""
    entry = CATALOGUE.get(code)
    if entry is None:
        return ""
    return entry.en if language == "en" else entry.id


def known() -> dict[str, tuple[str, str]]:
    return dict(_TEXTS)


register(
    {
        "app.title": ("Konsol Dukcapil", "Dukcapil console"),
        "app.subtitle": ("Pencatatan kelahiran", "Birth registration"),
        "nav.dashboard": ("Dasbor", "Dashboard"),
        "nav.review": ("Antrean verifikasi", "Review queue"),
        "nav.search": ("Cari & telusuri", "Search & trace"),
        "nav.documents": ("Dokumen", "Documents"),
        "nav.deadletters": ("Surat mati & penolakan", "Dead letters & rejections"),
        "nav.hospitals": ("Rumah sakit", "Hospitals"),
        "nav.users": ("Pengguna", "Users"),
        "nav.audit": ("Log audit", "Audit log"),
        "nav.signout": ("Keluar", "Sign out"),
        "nav.language": ("Bahasa", "Language"),
        "signin.title": ("Masuk", "Sign in"),
        "signin.username": ("Nama pengguna", "Username"),
        "signin.password": ("Kata sandi", "Password"),
        "signin.submit": ("Masuk", "Sign in"),
        "signin.refused": (
            "Nama pengguna atau kata sandi salah, atau akun dinonaktifkan atau terkunci.",
            "Wrong username or password, or the account is disabled or locked.",
        ),
        "signin.expired": (
            "Sesi Anda telah berakhir. Silakan masuk lagi.",
            "Your session ended. Please sign in again.",
        ),
        "role.officer": ("Petugas", "Officer"),
        "role.supervisor": ("Supervisor", "Supervisor"),
        "role.operator": ("Operator", "Operator"),
        "role.auditor": ("Auditor", "Auditor"),
        "error.forbidden.title": ("Akses ditolak", "Access denied"),
        "error.forbidden.body": (
            "Peran Anda ({role}) tidak boleh membuka halaman ini atau melakukan tindakan ini.",
            "Your role ({role}) may not open this page or take this action.",
        ),
        "error.csrf.title": ("Permintaan ditolak", "Request refused"),
        "error.csrf.body": (
            "Formulir ini kedaluwarsa atau tidak berasal dari konsol. Muat ulang halaman dan coba lagi; tidak ada yang diubah.",
            "This form is stale or did not come from the console. Reload the page and try again; nothing was changed.",
        ),
        "error.notfound.title": ("Tidak ditemukan", "Not found"),
        "error.notfound.body": ("Halaman atau data ini tidak ada.", "This page or record does not exist."),
        "error.unavailable.title": ("Layanan tidak tersedia", "Service unavailable"),
        "error.unavailable.body": (
            "Basis data atau layanan lain tidak menjawab. Tidak ada yang diubah; coba lagi sebentar lagi.",
            "The database or another service did not answer. Nothing was changed; try again shortly.",
        ),
        "error.failed": ("Tindakan gagal, tidak ada yang diubah:", "The action failed; nothing was changed:"),
        "error.data": (
            "Sebuah nilai tidak dapat disimpan (misalnya karakter kendali). Periksa isian Anda.",
            "A value could not be stored (a control character, say). Check what you typed.",
        ),
        "common.back": ("Kembali", "Back"),
        "common.reason": ("Alasan", "Reason"),
        "common.note": ("Catatan", "Note"),
        "common.submit": ("Kirim", "Submit"),
        "common.none": ("Tidak ada.", "None."),
        "common.done": ("Selesai.", "Done."),
        "common.hospital": ("Rumah sakit", "Hospital"),
        "common.message_id": ("ID pesan", "Message id"),
        "common.status": ("Status", "Status"),
        "common.when": ("Waktu", "When"),
    }
)
