"""The console's search and trace: what happened to a notification, from the day it arrived (issue #11).

GET  /cari              the search form                                                 search.view
POST /cari              search by message id, akta number, KK number or mother's NIK: each
                        notification found with its trail, personal data masked          search.view
POST /cari/tampilkan    the same, unmasked for this answer only, with a reason (audited)  personal.reveal

The same read model as `hub status QUERY` (messages_for, trails) and its timeline and masking
(hub.service.trail_view); revealing writes the same audit entry as `hub status
--show-personal-data` (note_personal_data_view), with the signed-in user as the actor. The names
shown are those of the birth's current akta kelahiran (hub.service.document_desk). The query is a
form field, never part of a URL: it is a NIK or KK number as often as not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field

from hub.console import i18n
from hub.console.pages.review import case_path, code_text, when
from hub.console.web import Forbidden, actor, check_csrf, desk, language, render, viewer
from hub.domain.documents import AktaContent, DocumentKind
from hub.errors import OperatorError
from hub.service.accounts import SignedIn
from hub.service.trail_view import Step, initials, masked, masked_date, timeline

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["search"])

MAX_QUERY = 200
MAX_REASON = 500
MAX_RESULTS = 20
_SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")
_SEPARATORS = re.compile(r"[\s.\-]")

i18n.register(
    {
        "search.intro": (
            "Telusuri satu notifikasi dari saat diterima: keputusan dan kodenya, pencatatan di registri, "
            "hasil dan peristiwa yang dikirim, dokumen, serta tindakan petugas. Data pribadi disamarkan.",
            "Trace a notification from the moment it arrived: decisions and codes, registry writes, results and "
            "events sent, documents and officers' actions. Personal data is masked.",
        ),
        "search.query": (
            "ID pesan, nomor akta kelahiran, nomor KK, atau NIK ibu",
            "Message id, birth certificate number, family card number or mother's NIK",
        ),
        "search.submit": ("Cari", "Search"),
        "search.none": ("Tidak ada notifikasi yang cocok.", "No notification matches."),
        "search.found": ("{n} notifikasi ditemukan.", "{n} notification(s) found."),
        "search.more": (
            "Hanya {n} yang pertama ditampilkan; persempit pencarian.",
            "Only the first {n} are shown; narrow the search.",
        ),
        "search.reveal.title": ("Tampilkan data pribadi", "Show personal data"),
        "search.reveal.hint": (
            "NIK, nama dan tanggal lahir ditampilkan untuk jawaban ini saja. Alasan Anda dicatat di log audit.",
            "NIKs, names and dates of birth are shown for this answer only. Your reason goes to the audit log.",
        ),
        "search.reveal.reason": ("Alasan", "Reason"),
        "search.reveal.submit": ("Tampilkan data pribadi", "Show personal data"),
        "search.reveal.required": (
            "Menampilkan data pribadi memerlukan alasan.",
            "Showing personal data needs a reason.",
        ),
        "search.revealed": (
            "Data pribadi ditampilkan untuk jawaban ini saja; tindakan ini tercatat di log audit atas nama Anda.",
            "Personal data is shown for this answer only; this was recorded in the audit log under your name.",
        ),
        "search.masked": ("Data pribadi disamarkan.", "Personal data is masked."),
        "search.status.none": ("belum diproses", "not processed"),
        "search.codes": ("Kode", "Codes"),
        "search.people": ("Orang", "People"),
        "search.person.child": ("Anak", "Child"),
        "search.person.mother": ("Ibu", "Mother"),
        "search.person.father": ("Ayah", "Father"),
        "search.person.name": ("Nama", "Name"),
        "search.person.nik": ("NIK", "NIK"),
        "search.person.birth": ("Waktu lahir", "Born"),
        "search.akta": ("Nomor akta", "Akta number"),
        "search.kk": ("Nomor KK", "Family card"),
        "search.trail": ("Jejak", "Trail"),
        "search.step.when": ("Waktu", "When"),
        "search.step.what": ("Kejadian", "What"),
        "search.step.where": ("Di mana", "Where"),
        "search.step.detail": ("Rincian", "Detail"),
        "search.review_case": ("Buka kasus verifikasi", "Open the review case"),
        "search.document": ("Buka dokumen", "Open the document"),
        "trail.received": ("Diterima", "Received"),
        "trail.registered": ("Dicatat di registri", "Registered"),
        "trail.review-opened": ("Verifikasi dibuka", "Review opened"),
        "trail.review-decided": ("Verifikasi {status}", "Review {status}"),
        "trail.saga-opened": ("Saga registri dibuka", "Registry saga opened"),
        "trail.saga-state": ("Saga registri: {state}", "Registry saga: {state}"),
        "trail.queued": ("Dalam antrean kirim", "Queued"),
        "trail.published": ("Dikirim", "Published"),
        "trail.operator": ("Tindakan petugas: {action}", "Operator: {action}"),
        "trail.documents-made": ("Dokumen dibuat ({reason})", "Documents made ({reason})"),
        "trail.documents-pending": ("Dokumen menunggu ({reason})", "Documents pending ({reason})"),
        "trail.document-issued": ("Dokumen terbit ({reason})", "Document issued ({reason})"),
    }
)


def normalised(query: str) -> str:
    """The query as the read model takes it: a NIK or KK number typed in groups (`3201 0123 ...`)
    loses its separators; anything else is only stripped."""
    stripped = query.strip()
    compact = _SEPARATORS.sub("", stripped)
    return compact if _SIXTEEN_DIGITS.fullmatch(compact) else stripped


@dataclass(frozen=True)
class Person:
    role: str  # child, mother, father
    name: str | None = None
    nik: str | None = None
    born: str | None = None


@dataclass(frozen=True)
class Traced:
    """One notification found, as shown: masked unless revealed."""

    hospital_id: str
    message_id: str
    status: str | None
    codes: tuple[str, ...]
    akta_number: str | None
    kk_number: str | None
    people: tuple[Person, ...]
    steps: tuple[Step, ...]
    review: bool  # it has a review case
    documents: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class Found:
    traced: list[Traced]
    total: int


async def trace(request: Request, query: str, *, reveal: tuple[SignedIn, str] | None = None) -> Found:
    """The notifications matching `query` with their trails; `reveal` (who, why) shows personal data
    and records that in the audit log first (nothing is shown unmasked if that fails)."""
    actions = desk(request).actions
    wanted = normalised(query)
    found = list(await actions.view.messages_for(wanted))
    if _SIXTEEN_DIGITS.fullmatch(wanted):  # a mother's NIK, or a family card's number
        found += await actions.view.messages_for_family_card(wanted)
    distinct = list(dict.fromkeys(found))
    shown = distinct[:MAX_RESULTS]
    if not shown:
        return Found([], 0)
    if reveal is not None:
        user, reason = reveal
        await actions.view.note_personal_data_view(user.actor, shown, reason, datetime.now(UTC))
    trails = await actions.view.trails(shown)
    return Found([await _traced(request, trail, revealed=reveal is not None) for trail in trails], len(distinct))


async def _traced(request: Request, trail: dict[str, Any], *, revealed: bool) -> Traced:
    inbox, registration = trail["inbox"] or {}, trail["registration"] or {}
    akta = await _current_akta(request, trail)
    people = _people(akta, inbox, registration)
    if not revealed:
        people = [_masked_person(p) for p in people]
        trail = masked(trail)
    kk_number = registration.get("kk_number")
    return Traced(
        trail["hospital_id"],
        trail["message_id"],
        inbox.get("status"),
        tuple(inbox.get("codes") or ()),
        registration.get("akta_number"),
        kk_number if revealed or kk_number is None else masked(kk_number),
        tuple(people),
        tuple(timeline(trail)),
        trail["review"] is not None,
        tuple(trail.get("documents", [])),
    )


async def _current_akta(request: Request, trail: dict[str, Any]) -> AktaContent | None:
    """The content of the birth's newest akta version (names as corrected), if documents were issued."""
    aktas = [d for d in trail.get("documents", []) if d["kind"] == DocumentKind.AKTA.value]
    if not aktas:
        return None
    newest = max(aktas, key=lambda d: d["version"])
    try:
        content = (await desk(request).actions.documents.get(newest["document_id"])).content
    except OperatorError:  # removed meanwhile
        return None
    return content if isinstance(content, AktaContent) else None


def _people(akta: AktaContent | None, inbox: dict[str, Any], registration: dict[str, Any]) -> list[Person]:
    mother_nik = registration.get("mother_nik") or inbox.get("mother_nik")
    if akta is None:
        return [Person("mother", nik=mother_nik)] if mother_nik else []
    people = [
        Person("child", akta.child_name, akta.child_nik, akta.born_at.isoformat(timespec="minutes")),
        Person("mother", akta.mother_name, mother_nik),
    ]
    if akta.father_name:
        people.append(Person("father", akta.father_name))
    return people


def _masked_person(person: Person) -> Person:
    return Person(
        person.role,
        initials(person.name),
        None if person.nik is None else masked(person.nik),
        masked_date(person.born),
    )


def _step_label(step: Step, lang: str) -> str:
    values = dict(step.values)
    if step.kind == "review-decided" and "status" in values:
        values["status"] = i18n.text(f"review.status.{values['status']}", lang)
    return i18n.text(f"trail.{step.kind}", lang, **values)


# --- pages -------------------------------------------------------------------------------------


def _page(request: Request, status_code: int = 200, **context: Any):
    lang = language(request)
    found: Found | None = context.pop("found", None)
    return render(
        request,
        "search/index.html",
        status_code,
        query=context.pop("query", ""),
        searched=found is not None,
        results=[] if found is None else found.traced,
        total=0 if found is None else found.total,
        max_results=MAX_RESULTS,
        revealed=context.pop("revealed", False),
        reason=context.pop("reason", ""),
        step_label=lambda step: _step_label(step, lang),
        when=when,
        code_text=code_text,
        case_path=case_path,
        **context,
    )


@pages.get("/cari")
async def search_form(request: Request, user: Annotated[SignedIn, Depends(viewer("search.view"))]):
    return _page(request)


@pages.post("/cari")
async def search(
    request: Request,
    user: Annotated[SignedIn, Depends(actor("search.view"))],
    query: Annotated[str, Form(max_length=MAX_QUERY)] = "",
):
    if not query.strip():
        return _page(request)
    return _page(request, query=query.strip(), found=await trace(request, query))


@pages.post("/cari/tampilkan")
async def reveal(
    request: Request,
    user: Annotated[SignedIn, Depends(actor("personal.reveal"))],
    query: Annotated[str, Form(max_length=MAX_QUERY)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
):
    if not query.strip():
        return _page(request)
    if not reason.strip():
        refused = i18n.text("search.reveal.required", language(request))
        return _page(request, 400, query=query.strip(), found=await trace(request, query), error=refused)
    found = await trace(request, query, reveal=(user, reason.strip()))
    return _page(request, query=query.strip(), found=found, revealed=bool(found.traced))


# --- JSON API ----------------------------------------------------------------------------------


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=MAX_QUERY, description="Message id, akta number, KK number or NIK.")
    reveal_reason: str | None = Field(
        None,
        max_length=MAX_REASON,
        description="Show personal data unmasked, for this answer only: needs the personal.reveal permission "
        "and the X-CSRF-Token header; the reason is recorded in the audit log.",
    )


class PersonOut(BaseModel):
    role: str = Field(description="child, mother or father")
    name: str | None = Field(description="Initials unless revealed.")
    nik: str | None = Field(description="Masked unless revealed.")
    born: str | None = Field(description="Date and time of birth (children), masked unless revealed.")


class StepOut(BaseModel):
    at: datetime | None
    kind: str = Field(
        description="received, registered, review-opened, review-decided, saga-opened, saga-state, "
        "queued, published, operator, documents-made, documents-pending, document-issued"
    )
    what: str = Field(description="As `hub status` names it.")
    where: str
    detail: str | None


class TracedOut(BaseModel):
    hospital_id: str
    message_id: str
    status: str | None = Field(description="The latest result's status; null: not processed.")
    codes: list[str]
    akta_number: str | None
    kk_number: str | None
    people: list[PersonOut]
    steps: list[StepOut]


class SearchOut(BaseModel):
    revealed: bool
    total: int = Field(description=f"How many notifications match (at most {MAX_RESULTS} are returned).")
    results: list[TracedOut]


@api.post("/search", response_model=SearchOut)
async def api_search(request: Request, body: SearchIn, user: Annotated[SignedIn, Depends(viewer("search.view"))]):
    """Find notifications by message id, akta number, KK number or mother's NIK, each with its trail
    (`hub status`). Personal data is masked unless `reveal_reason` is given (`--show-personal-data`)."""
    reveal = None
    if body.reveal_reason is not None:
        if not user.may("personal.reveal"):
            raise Forbidden("personal.reveal")
        check_csrf(request, user.csrf_token, request.headers.get("x-csrf-token"))
        if not body.reveal_reason.strip():
            raise OperatorError("reveal_reason: say why personal data is needed")
        reveal = (user, body.reveal_reason.strip())
    found = await trace(request, body.query, reveal=reveal)
    return SearchOut(
        revealed=reveal is not None and bool(found.traced),
        total=found.total,
        results=[
            TracedOut(
                hospital_id=t.hospital_id,
                message_id=t.message_id,
                status=t.status,
                codes=list(t.codes),
                akta_number=t.akta_number,
                kk_number=t.kk_number,
                people=[PersonOut(role=p.role, name=p.name, nik=p.nik, born=p.born) for p in t.people],
                steps=[StepOut(at=s.at, kind=s.kind, what=s.what, where=s.where, detail=s.detail) for s in t.steps],
            )
            for t in found.traced
        ],
    )
