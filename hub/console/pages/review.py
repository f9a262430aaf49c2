"""The console's review queue: the notifications the hub could not decide alone (issue #11).

GET  /antrean                                   open cases, oldest first (?status=approved|rejected|all)
GET  /antrean/{hospital}/{message}              one case: the notification beside the registry
                                                (differences highlighted), the mother's other births,
                                                the decision and the hospital's latest result   review.view
POST /antrean/{hospital}/{message}/setujui      approve, with a note                            review.decide
POST /antrean/{hospital}/{message}/tolak        reject, with a note                             review.decide

The same use cases as `hub review list|show|approve|reject` (hub.service.review.ReviewDecisions,
the read model's review_cases and trails); the officer recorded is the signed-in user. Message
ids are scoped by the sending hospital, so a case's URL names both (hospital ids are organisation
ids, not personal data). Names and dates are shown, since the officer decides on them; NIK and KK
numbers are masked like everywhere else (the comparison says whether they differ).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel, Field

from hub.console import i18n
from hub.console.web import actor, back_to, desk, failed, language, render, viewer
from hub.console.web import when as web_when
from hub.errors import OperatorError
from hub.service.accounts import SignedIn
from hub.service.review import Compared, ReviewComparison
from hub.service.trail_view import LatestResult, latest_result, masked

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["review"])

STATUSES = ("open", "approved", "rejected", "all")
MAX_NOTE = 2000

i18n.register(
    {
        "review.intro": (
            "Notifikasi yang sah tetapi perlu keputusan petugas Dukcapil. Yang terlama di atas. "
            "Setiap keputusan mengirim hasil kedua ke rumah sakit dan dicatat di log audit.",
            "Valid notifications that need a Dukcapil officer's decision, oldest first. Every decision "
            "sends the hospital its second result and goes to the audit log.",
        ),
        "review.filter": ("Tampilkan", "Show"),
        "review.status.open": ("terbuka", "open"),
        "review.status.approved": ("disetujui", "approved"),
        "review.status.rejected": ("ditolak", "rejected"),
        "review.status.all": ("semua", "all"),
        "review.reasons": ("Alasan verifikasi", "Review reasons"),
        "review.opened": ("Dibuka", "Opened"),
        "review.age": ("Umur", "Age"),
        "review.decided_by": ("Diputuskan oleh", "Decided by"),
        "review.none": ("Tidak ada kasus.", "No cases."),
        "review.case.title": ("Kasus verifikasi", "Review case"),
        "review.compare.title": ("Notifikasi dibandingkan dengan registri", "The notification beside the registry"),
        "review.compare.hint": (
            "Baris yang disorot berbeda: notifikasi menyebutkannya, tetapi registri mencatat lain atau tidak "
            "memiliki data tersebut.",
            "Highlighted rows differ: the notification states them, and the registry holds something else or nothing.",
        ),
        "review.compare.field": ("Data", "Field"),
        "review.compare.notification": ("Notifikasi rumah sakit", "Hospital's notification"),
        "review.compare.registry": ("Registri Dukcapil", "Dukcapil registry"),
        "review.compare.absent": ("tidak ada", "none"),
        "review.compare.not_found": ("tidak ditemukan", "not found"),
        "review.compare.differs": ("berbeda", "differs"),
        "review.field.mother.nik": ("NIK ibu", "Mother's NIK"),
        "review.field.mother.name": ("Nama ibu", "Mother's name"),
        "review.field.mother.birth_date": ("Tanggal lahir ibu", "Mother's date of birth"),
        "review.field.mother.kk": ("Nomor KK ibu", "Mother's family card"),
        "review.field.father.nik": ("NIK ayah", "Father's NIK"),
        "review.field.father.name": ("Nama ayah", "Father's name"),
        "review.newborn.title": ("Bayi (menurut notifikasi)", "The newborn (as notified)"),
        "review.newborn.name": ("Nama", "Name"),
        "review.newborn.sex": ("Jenis kelamin", "Sex"),
        "review.newborn.sex.male": ("laki-laki", "male"),
        "review.newborn.sex.female": ("perempuan", "female"),
        "review.newborn.born_at": ("Waktu lahir", "Born"),
        "review.newborn.order": ("Kelahiran ke / jumlah", "Birth order / plurality"),
        "review.newborn.single": ("tunggal", "single birth"),
        "review.newborn.of": ("ke-{order} dari {plurality}", "{order} of {plurality}"),
        "review.newborn.weight": ("Berat (g)", "Weight (g)"),
        "review.newborn.marriage": ("Status perkawinan orang tua", "Parents' marriage"),
        "review.marriage.married-recorded": ("kawin tercatat", "married, recorded"),
        "review.marriage.married-unrecorded": ("kawin belum tercatat", "married, not recorded"),
        "review.marriage.not-married": ("belum kawin", "not married"),
        "review.marriage.parents-unknown": ("orang tua tidak diketahui", "parents unknown"),
        "review.births.title": ("Kelahiran lain dari ibu ini di registri", "The mother's other births in the registry"),
        "review.births.hint": (
            "Baris yang disorot terlalu dekat untuk kehamilan lain dan bukan persalinan yang sama.",
            "Highlighted rows are too close for another pregnancy and not the same delivery.",
        ),
        "review.births.born_at": ("Waktu lahir", "Born"),
        "review.births.akta": ("Nomor akta", "Akta number"),
        "review.births.stillborn": ("lahir mati", "stillborn"),
        "review.removed": (
            "Isi notifikasi sudah dihapus karena masa simpan setelah keputusan telah lewat.",
            "The notification's content was removed: its retention period after the decision has passed.",
        ),
        "review.decision.title": ("Keputusan", "Decision"),
        "review.decision.by": ("{status} oleh {who} pada {when}", "{status} by {who} on {when}"),
        "review.result.title": ("Hasil untuk rumah sakit", "The hospital's result"),
        "review.result.line": ("Hasil ke-{sequence}: {status}", "Result #{sequence}: {status}"),
        "review.result.state.sent": ("terkirim ke rumah sakit", "sent to the hospital"),
        "review.result.state.queued": ("dalam antrean kirim", "queued for sending"),
        "review.result.state.preparing": (
            "menunggu dokumen ditandatangani",
            "waiting for its documents to be signed",
        ),
        "review.result.codes": ("Kode", "Codes"),
        "review.approve.title": ("Setujui", "Approve"),
        "review.approve.hint": (
            "Kelahiran dicatat lewat jalur biasa (semua aturan lain tetap berlaku); rumah sakit menerima NIK, "
            "akta dan KK.",
            "The birth is registered through the normal path (every other rule still applies); the hospital "
            "gets the NIK, akta and family card.",
        ),
        "review.approve.submit": ("Setujui dan catat kelahiran", "Approve and register the birth"),
        "review.approve.confirm": (
            "Setujui kasus ini dan catat kelahirannya?",
            "Approve this case and register the birth?",
        ),
        "review.reject.title": ("Tolak", "Reject"),
        "review.reject.hint": (
            "Rumah sakit menerima penolakan REVIEW-REJECTED dengan catatan di log audit.",
            "The hospital gets the rejection REVIEW-REJECTED; the note goes to the audit log.",
        ),
        "review.reject.submit": ("Tolak notifikasi", "Reject the notification"),
        "review.reject.confirm": ("Tolak notifikasi ini?", "Reject this notification?"),
        "review.note.hint": (
            "Wajib: alasan keputusan, dicatat di log audit.",
            "Required: why, recorded in the audit log.",
        ),
        "review.note.required": ("Keputusan memerlukan catatan.", "A decision needs a note."),
        "review.back": ("Kembali ke antrean", "Back to the queue"),
        "age.minutes": ("{n} menit", "{n} min"),
        "age.hours": ("{n} jam", "{n} h"),
        "age.days": ("{n} hari", "{n} d"),
        "done.review_approved": (
            "Kasus disetujui. Hasil kedua untuk rumah sakit sedang dikirim.",
            "Case approved. The hospital's second result is on its way.",
        ),
        "done.review_rejected": (
            "Kasus ditolak. Hasil kedua untuk rumah sakit sedang dikirim.",
            "Case rejected. The hospital's second result is on its way.",
        ),
    }
)


def when(moment: datetime | None, seconds: bool = False) -> str:
    return web_when(moment, seconds) or "-"


def age(opened_at: datetime, now: datetime, lang: str) -> str:
    """How long a case has waited, in its largest unit: 45 menit, 5 jam, 3 hari."""
    waited = max(now - opened_at, timedelta(0))
    if waited < timedelta(hours=1):
        return i18n.text("age.minutes", lang, n=int(waited.total_seconds() // 60))
    if waited < timedelta(days=1):
        return i18n.text("age.hours", lang, n=int(waited.total_seconds() // 3600))
    return i18n.text("age.days", lang, n=waited.days)


def code_text(code: str, lang: str) -> str:
    """What a hub code means, in the reader's language (the code itself if the catalogue lacks it)."""
    return i18n.code_meaning(code, lang) or code


def case_path(hospital_id: str, message_id: str) -> str:
    return f"/antrean/{quote(hospital_id, safe='')}/{quote(message_id, safe='')}"


def _status(status: str) -> str:
    return status if status in STATUSES else "open"


# --- pages -------------------------------------------------------------------------------------


@pages.get("/antrean")
async def queue(request: Request, user: Annotated[SignedIn, Depends(viewer("review.view"))], status: str = "open"):
    chosen = _status(status)
    cases = await desk(request).actions.view.review_cases(None if chosen == "all" else chosen)
    now, lang = datetime.now(UTC), language(request)
    rows = [
        {**case, "age": age(case["opened_at"], now, lang), "path": case_path(case["hospital_id"], case["message_id"])}
        for case in cases
    ]
    return render(
        request, "review/queue.html", cases=rows, status=chosen, statuses=STATUSES, when=when, code_text=code_text
    )


@pages.get("/antrean/{hospital_id}/{message_id}")
async def case_page(
    request: Request, hospital_id: str, message_id: str, user: Annotated[SignedIn, Depends(viewer("review.view"))]
):
    return await _case_page(request, hospital_id, message_id)


@pages.post("/antrean/{hospital_id}/{message_id}/setujui")
async def approve(
    request: Request,
    hospital_id: str,
    message_id: str,
    user: Annotated[SignedIn, Depends(actor("review.decide"))],
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
):
    return await _decide_page(request, user, hospital_id, message_id, note, approve=True)


@pages.post("/antrean/{hospital_id}/{message_id}/tolak")
async def reject(
    request: Request,
    hospital_id: str,
    message_id: str,
    user: Annotated[SignedIn, Depends(actor("review.decide"))],
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
):
    return await _decide_page(request, user, hospital_id, message_id, note, approve=False)


async def _decide_page(
    request: Request, user: SignedIn, hospital_id: str, message_id: str, note: str, *, approve: bool
):
    try:
        await _decide(request, user, hospital_id, message_id, note, approve=approve)
    except OperatorError as exc:
        form = {"approve_note" if approve else "reject_note": note}
        return await _case_page(request, hospital_id, message_id, 400, error=failed(request, exc), form=form)
    return back_to(case_path(hospital_id, message_id), done="review_approved" if approve else "review_rejected")


async def _decide(request: Request, user: SignedIn, hospital_id: str, message_id: str, note: str, *, approve: bool):
    """Decide a case that exists (404 otherwise): the CLI's approve/reject, with the user as the officer."""
    reviews = desk(request).actions.reviews
    if await desk(request).actions.view.review_case(hospital_id, message_id) is None:
        raise HTTPException(status_code=404)
    if not note.strip():
        raise OperatorError(i18n.text("review.note.required", language(request)))
    decide = reviews.approve if approve else reviews.reject
    return await decide(hospital_id, message_id, user.actor, note.strip())


@dataclass(frozen=True)
class CaseView:
    comparison: ReviewComparison
    result: LatestResult | None

    @property
    def finished(self) -> bool:
        """Nothing more to wait for: the case is open, or its decision's result reached the broker."""
        return self.comparison.case.status == "open" or (self.result is not None and self.result.state == "sent")


async def _case(request: Request, hospital_id: str, message_id: str) -> CaseView:
    actions = desk(request).actions
    comparison = await actions.reviews.compare(hospital_id, message_id)
    if comparison is None:
        raise HTTPException(status_code=404)
    [trail] = await actions.view.trails([(hospital_id, message_id)])
    return CaseView(comparison, latest_result(trail))


async def _case_page(
    request: Request,
    hospital_id: str,
    message_id: str,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
):
    view = await _case(request, hospital_id, message_id)
    lang = language(request)
    case = view.comparison.case
    return render(
        request,
        "review/case.html",
        status_code,
        case=case,
        path_of_case=case_path(hospital_id, message_id),
        api_path="/api/v1/reviews/" + case_path(hospital_id, message_id).removeprefix("/antrean/"),
        age=age(case.opened_at, datetime.now(UTC), lang),
        fields=[_shown_field(f) for f in view.comparison.fields],
        notice=view.comparison.notice,
        births=view.comparison.births,
        result=view.result,
        finished=view.finished,
        when=when,
        code_text=code_text,
        error=error,
        form=form or {},
    )


def _shown_field(field: Compared) -> dict[str, Any]:
    """A compared fact for the page and the API: NIK and KK numbers masked."""
    return {
        "field": field.field,
        "notification": masked(field.notification),
        "registry": masked(field.registry),
        "differs": field.differs,
    }


# --- JSON API ----------------------------------------------------------------------------------


class ReviewSummary(BaseModel):
    hospital_id: str
    message_id: str
    reasons: list[str]
    status: str
    opened_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None


class ComparedField(BaseModel):
    field: str = Field(description="mother.nik, mother.name, mother.birth_date, mother.kk, father.nik, father.name")
    notification: str | None = Field(description="As the notification states it (NIK/KK numbers masked).")
    registry: str | None = Field(description="As the registry holds it; null: no such record.")
    differs: bool


class OtherBirthOut(BaseModel):
    born_at: datetime
    hospital_id: str
    message_id: str
    akta_number: str | None
    stillborn: bool
    too_close: bool = Field(description="Not the same delivery, and sooner than another pregnancy allows.")


class Newborn(BaseModel):
    name: str
    sex: str
    born_at: datetime
    birth_order: int
    plurality: int
    weight_g: int
    marriage: str


class ResultOut(BaseModel):
    sequence: int
    status: str
    codes: list[str]
    state: str = Field(description="sent (the broker has it), queued, or preparing (its documents are being signed)")


class ReviewDetail(ReviewSummary):
    note: str | None = None
    notification_kept: bool = Field(description="False once the retention period after the decision has passed.")
    fields: list[ComparedField]
    newborn: Newborn | None
    other_births: list[OtherBirthOut]
    latest_result: ResultOut | None = Field(description="The hospital's latest result (the second after a decision).")
    finished: bool = Field(description="True when open, or when the decision's result has been sent.")


class DecisionIn(BaseModel):
    note: str = Field(min_length=1, max_length=MAX_NOTE, description="Why (recorded in the audit log).")


class DecisionOut(BaseModel):
    hospital_id: str
    message_id: str
    outcome: str
    codes: list[str]


@api.get("/reviews", response_model=list[ReviewSummary])
async def api_queue(
    request: Request,
    user: Annotated[SignedIn, Depends(viewer("review.view"))],
    status: Literal["open", "approved", "rejected", "all"] = "open",
):
    """Review cases with their reasons, oldest first (`hub review list`)."""
    cases = await desk(request).actions.view.review_cases(None if status == "all" else status)
    return [ReviewSummary(**{k: case[k] for k in ReviewSummary.model_fields}) for case in cases]


@api.get("/reviews/{hospital_id}/{message_id}", response_model=ReviewDetail)
async def api_case(
    request: Request, hospital_id: str, message_id: str, user: Annotated[SignedIn, Depends(viewer("review.view"))]
):
    """One case: the notification beside the registry, the mother's other births, the decision and
    the hospital's latest result (`hub review show`)."""
    return _detail(await _case(request, hospital_id, message_id))


@api.post("/reviews/{hospital_id}/{message_id}/approve", response_model=DecisionOut)
async def api_approve(
    request: Request,
    hospital_id: str,
    message_id: str,
    decision: DecisionIn,
    user: Annotated[SignedIn, Depends(actor("review.decide"))],
):
    """Approve: register the birth through the normal path and send the hospital its second result."""
    handled = await _decide(request, user, hospital_id, message_id, decision.note, approve=True)
    return DecisionOut(
        hospital_id=hospital_id, message_id=message_id, outcome=handled.outcome, codes=list(handled.codes)
    )


@api.post("/reviews/{hospital_id}/{message_id}/reject", response_model=DecisionOut)
async def api_reject(
    request: Request,
    hospital_id: str,
    message_id: str,
    decision: DecisionIn,
    user: Annotated[SignedIn, Depends(actor("review.decide"))],
):
    """Reject: the hospital's second result is fatal-error REVIEW-REJECTED."""
    handled = await _decide(request, user, hospital_id, message_id, decision.note, approve=False)
    return DecisionOut(
        hospital_id=hospital_id, message_id=message_id, outcome=handled.outcome, codes=list(handled.codes)
    )


def _detail(view: CaseView) -> ReviewDetail:
    comparison = view.comparison
    case, notice, result = comparison.case, comparison.notice, view.result
    return ReviewDetail(
        hospital_id=case.hospital_id,
        message_id=case.message_id,
        reasons=list(case.reasons),
        status=case.status,
        opened_at=case.opened_at,
        decided_at=case.decided_at,
        decided_by=case.decided_by,
        note=case.note,
        notification_kept=case.document is not None,
        fields=[ComparedField(**_shown_field(f)) for f in comparison.fields],
        newborn=None
        if notice is None
        else Newborn(
            name=notice.child_name,
            sex=notice.sex.value,
            born_at=notice.born_at,
            birth_order=notice.birth_order,
            plurality=notice.plurality,
            weight_g=notice.weight_g,
            marriage=notice.marriage.value,
        ),
        other_births=[
            OtherBirthOut(
                born_at=b.born_at,
                hospital_id=b.hospital_id,
                message_id=b.message_id,
                akta_number=b.akta_number,
                stillborn=b.stillborn,
                too_close=b.too_close,
            )
            for b in comparison.births
        ],
        latest_result=None
        if result is None
        else ResultOut(sequence=result.sequence, status=result.status, codes=list(result.codes), state=result.state),
        finished=view.finished,
    )
