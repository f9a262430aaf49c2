"""The console's documents area: look up, view, reprint, correct (pembetulan) and revoke the signed
akta kelahiran and family cards, with their version history (issue #11).

GET  /dokumen                          the search form, and the correction proposals to decide
                                       (supervisors) or one's own (officers)             documents.view
POST /dokumen/cari                     find by akta number, KK number or document id     documents.view
GET  /dokumen/{id}                     one version: metadata, status, content, history
                                       (audited: documents.view)                         documents.view
GET  /dokumen/{id}/pdf                 the stored PDF, inline (audited: documents.view)  documents.view
POST /dokumen/{id}/cetak-ulang         reprint: audited with a reason, then the PDF      documents.reprint
GET  /dokumen/{id}/pembetulan          the correction form                               documents.propose
POST /dokumen/{id}/pembetulan          a supervisor's correction is applied; an officer's becomes a
                                       proposal                              documents.correct / .propose
POST /dokumen/{id}/cabut               revoke this version, with a reason                documents.revoke
GET  /dokumen/usulan/{pid}             a proposal: the current and the proposed values (one's
                                       own, or any with proposals.decide; else 404)      documents.view
POST /dokumen/usulan/{pid}/setujui     approve: the correction is applied                proposals.decide
POST /dokumen/usulan/{pid}/tolak       reject, with a note                               proposals.decide

The same use cases as `hub documents show|get|correct|revoke` (hub.service.document_desk) plus
the proposals (hub.service.proposals); the actor is the signed-in user. NIKs and KK numbers are
masked as search masks them (hub.service.trail_view.masked). Numbers and names travel
in POST bodies only: URLs carry document ids (UUIDs) and proposal ids. After a correction the
document worker of `hub run` issues the new versions; the page polls until they are there.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from hub.console import i18n
from hub.console.web import actor, back_to, desk, failed, render, viewer, when
from hub.domain.documents import AktaContent, DocumentKind, DocumentStatus, KkContent
from hub.errors import OperatorError
from hub.service.accounts import SignedIn
from hub.service.ports import CorrectionProposal, StoredDocument
from hub.service.proposals import FIELDS, OPEN, checked_correction
from hub.service.trail_view import masked

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["documents"])

MAX_PROPOSALS_SHOWN = 100
BADGE = {DocumentStatus.ACTIVE: "ok", DocumentStatus.SUPERSEDED: "warn", DocumentStatus.REVOKED: "bad"}

i18n.register(
    {
        "documents.intro": (
            "Akta kelahiran dan kartu keluarga yang ditandatangani hub: lihat, cetak ulang, betulkan, dan cabut. "
            "Setiap tindakan dicatat di log audit.",
            "The signed birth certificates and family cards the hub issued: view, reprint, correct and revoke. "
            "Every action goes to the audit log.",
        ),
        "documents.search.title": ("Cari dokumen", "Find a document"),
        "documents.search.number": (
            "Nomor akta kelahiran, nomor KK, atau ID dokumen",
            "Birth certificate number, family card number or document id",
        ),
        "documents.search.submit": ("Cari", "Search"),
        "documents.search.none": ("Tidak ada dokumen dengan nomor ini.", "No document has this number."),
        "documents.search.results": ("Versi dokumen", "Document versions"),
        "documents.kind.akta-kelahiran": ("Akta kelahiran", "Birth certificate"),
        "documents.kind.kartu-keluarga": ("Kartu keluarga", "Family card"),
        "documents.status.active": ("aktif", "active"),
        "documents.status.superseded": ("digantikan", "superseded"),
        "documents.status.revoked": ("dicabut", "revoked"),
        "documents.kind": ("Jenis", "Kind"),
        "documents.number": ("Nomor", "Number"),
        "documents.version": ("Versi", "Version"),
        "documents.issued_at": ("Diterbitkan", "Issued"),
        "documents.reason": ("Alasan terbit", "Issued because"),
        "documents.reason.registration": ("pencatatan", "registration"),
        "documents.reason.correction": ("pembetulan", "correction"),
        "documents.key": ("Kunci penanda tangan", "Signing key"),
        "documents.document_id": ("ID dokumen", "Document id"),
        "documents.status_reason": ("Keterangan status", "Status note"),
        "documents.supersedes": ("Menggantikan", "Replaces"),
        "documents.status_list": ("Daftar status", "Status list"),
        "documents.open": ("Buka", "Open"),
        "documents.this": ("(halaman ini)", "(this page)"),
        "documents.detail.title": ("{kind} versi {version}", "{kind} version {version}"),
        "documents.metadata": ("Data dokumen", "Document data"),
        "documents.content": ("Isi dokumen", "What the document states"),
        "documents.history": ("Riwayat versi", "Version history"),
        "documents.newer": (
            "Versi ini sudah digantikan. Versi yang berlaku:",
            "This version has been superseded. The version in force:",
        ),
        "documents.newer.link": ("versi {version}", "version {version}"),
        "documents.issuing": (
            "Versi baru sedang diterbitkan (tugas tersisa: {n}). Halaman ini dimuat ulang setelah selesai.",
            "The new version is being issued ({n} job(s) left). This page reloads when it is done.",
        ),
        "documents.issuing.reload": ("Muat ulang", "Reload"),
        "documents.pdf.view": ("Lihat PDF", "View the PDF"),
        "documents.reprint.title": ("Cetak ulang", "Reprint"),
        "documents.reprint.hint": (
            "Salinan PDF yang identik dengan yang diterbitkan. Alasan dicatat di log audit; jangan tulis data pribadi.",
            "A copy identical to the PDF as issued. The reason goes to the audit log; no personal data please.",
        ),
        "documents.reprint.submit": ("Cetak ulang (unduh PDF)", "Reprint (download the PDF)"),
        "documents.correct.title": ("Pembetulan", "Correction"),
        "documents.correct.open": ("Betulkan data…", "Correct the data…"),
        "documents.correct.propose_open": ("Usulkan pembetulan…", "Propose a correction…"),
        "documents.correct.intro": (
            "Ubah hanya kolom yang salah; kolom yang tidak diubah tetap. Akta dan kartu keluarga diterbitkan ulang "
            "sebagai versi baru, versi lama menjadi ‘digantikan’, dan rumah sakit menerima dokumen baru.",
            "Change only the fields that are wrong; the others stay. The akta and the family card are reissued as "
            "new versions, the old ones become ‘superseded’, and the hospital receives the new documents.",
        ),
        "documents.correct.proposal_note": (
            "Sebagai petugas, Anda mengusulkan pembetulan; supervisor menyetujui atau menolaknya.",
            "As an officer you propose the correction; a supervisor approves or rejects it.",
        ),
        "documents.correct.submit": ("Terapkan pembetulan", "Apply the correction"),
        "documents.correct.propose": ("Kirim usulan", "Send the proposal"),
        "documents.correct.reason_hint": (
            "Misalnya nomor permohonan. Dicatat di log audit; jangan tulis data pribadi.",
            "For instance the request's reference. Goes to the audit log; no personal data please.",
        ),
        "documents.correct.only_akta": (
            "Hanya akta kelahiran yang aktif yang dibetulkan; kartu keluarga ikut diterbitkan ulang.",
            "Only an active birth certificate is corrected; the family card is reissued with it.",
        ),
        "documents.correct.confirm": (
            "Terapkan pembetulan ini dan terbitkan ulang dokumennya?",
            "Apply this correction and reissue the documents?",
        ),
        "documents.revoke.title": ("Cabut dokumen", "Revoke the document"),
        "documents.revoke.hint": (
            "Versi ini tidak berlaku lagi: QR-nya terverifikasi sebagai ‘dicabut’. Tidak dapat dibatalkan.",
            "This version stops being valid: its QR verifies as ‘revoked’. This cannot be undone.",
        ),
        "documents.revoke.submit": ("Cabut", "Revoke"),
        "documents.revoke.confirm": (
            "Cabut versi dokumen ini? Tindakan ini tidak dapat dibatalkan.",
            "Revoke this document version? This cannot be undone.",
        ),
        "documents.field.child_name": ("Nama anak", "Child's name"),
        "documents.field.mother_name": ("Nama ibu", "Mother's name"),
        "documents.field.father_name": ("Nama ayah", "Father's name"),
        "documents.field.place_of_birth": ("Tempat lahir", "Place of birth"),
        "documents.field.child_nik": ("NIK anak", "Child's NIK"),
        "documents.field.sex": ("Jenis kelamin", "Sex"),
        "documents.field.born_at": ("Waktu lahir", "Born at"),
        "documents.field.registration_type": ("Jenis pencatatan", "Registration type"),
        "documents.field.variant": ("Varian akta", "Akta variant"),
        "documents.field.issuing_regency_name": ("Diterbitkan oleh", "Issued by"),
        "documents.field.issued_on": ("Tanggal terbit", "Issue date"),
        "documents.field.kk_number": ("Nomor KK", "Family card number"),
        "documents.field.head_name": ("Kepala keluarga", "Head of family"),
        "documents.field.address": ("Alamat", "Address"),
        "documents.field.members": ("Anggota", "Members"),
        "documents.field.relationship": ("Hubungan", "Relationship"),
        "documents.field.name": ("Nama", "Name"),
        "documents.field.nik": ("NIK", "NIK"),
        "documents.sex.male": ("laki-laki", "male"),
        "documents.sex.female": ("perempuan", "female"),
        "documents.current_value": ("Sekarang", "Now"),
        "documents.proposed_value": ("Diusulkan", "Proposed"),
        "proposals.title": ("Usulan pembetulan", "Correction proposals"),
        "proposals.open": ("Usulan menunggu keputusan", "Proposals awaiting a decision"),
        "proposals.mine": ("Usulan saya", "My proposals"),
        "proposals.for_document": (
            "Usulan pembetulan terbuka untuk akta ini",
            "Open correction proposals for this certificate",
        ),
        "proposals.detail.title": ("Usulan pembetulan #{id}", "Correction proposal #{id}"),
        "proposals.id": ("No.", "No."),
        "proposals.akta": ("Nomor akta", "Akta number"),
        "proposals.fields": ("Kolom", "Fields"),
        "proposals.proposed_by": ("Diusulkan oleh", "Proposed by"),
        "proposals.proposed_at": ("Diusulkan", "Proposed"),
        "proposals.decided_by": ("Diputuskan oleh", "Decided by"),
        "proposals.decided_at": ("Diputuskan", "Decided"),
        "proposals.status.open": ("menunggu", "open"),
        "proposals.status.approved": ("disetujui", "approved"),
        "proposals.status.rejected": ("ditolak", "rejected"),
        "proposals.document": ("Dokumen yang berlaku", "The document in force"),
        "proposals.no_document": ("Tidak ada akta aktif dengan nomor ini.", "No active akta has this number."),
        "proposals.approve": ("Setujui dan terapkan", "Approve and apply"),
        "proposals.reject": ("Tolak", "Reject"),
        "proposals.note_optional": ("Catatan (opsional)", "Note (optional)"),
        "proposals.note_required": ("Catatan (wajib, dikirim ke pengusul)", "Note (required, for the proposer)"),
        "proposals.own": (
            "Ini usulan Anda sendiri; supervisor lain yang memutuskannya.",
            "This is your own proposal; another supervisor decides it.",
        ),
        "proposals.approve.confirm": (
            "Setujui usulan ini dan terbitkan ulang dokumennya?",
            "Approve this proposal and reissue the documents?",
        ),
        "done.document_corrected": (
            "Pembetulan dicatat; versi baru sedang diterbitkan.",
            "Correction recorded; the new version is being issued.",
        ),
        "done.correction_proposed": (
            "Usulan pembetulan dikirim; supervisor akan memutuskannya.",
            "Correction proposal sent; a supervisor will decide it.",
        ),
        "done.document_revoked": ("Dokumen dicabut.", "Document revoked."),
        "done.proposal_approved": (
            "Usulan disetujui; versi baru sedang diterbitkan.",
            "Proposal approved; the new version is being issued.",
        ),
        "done.proposal_rejected": ("Usulan ditolak.", "Proposal rejected."),
    }
)


# --- helpers -----------------------------------------------------------------------------------


def document_filename(document: StoredDocument) -> str:
    """The download's name: kind, version and the id's start; no number, no name."""
    return f"{document.ref.kind.value}-v{document.ref.version}-{document.ref.document_id[:8]}.pdf"


def changed_fields(content: AktaContent, values: Mapping[str, str | None]) -> dict[str, str | None]:
    """The form's values that differ from what the akta states (a prefilled field left as it is
    is no correction)."""
    kept: dict[str, str | None] = {}
    for name in FIELDS:
        value = " ".join((values.get(name) or "").split())
        if value and value != (getattr(content, name) or ""):
            kept[name] = value
    return kept


def summary(document: StoredDocument) -> dict[str, Any]:
    """A version's metadata, as the pages and the API show it (a KK number masked)."""
    ref = document.ref
    return {
        "document_id": ref.document_id,
        "kind": ref.kind.value,
        "number": masked(ref.number),
        "version": ref.version,
        "status": ref.status.value,
        "issued_at": ref.issued_at,
        "key_id": document.key_id,
        "reason": document.reason,
        "supersedes": document.supersedes,
        "status_reason": document.status_reason,
        "status_list": f"{ref.slot.regency}/{ref.slot.year}#{ref.slot.index}",
    }


def content_of(document: StoredDocument) -> dict[str, Any]:
    """What the document states, as the page and the API show it: NIKs and the KK number masked
    as search masks them (trail_view's masking, the first six digits: the born_at and sex shown
    here give digits 7 to 12 away, so no more may be shown than the region)."""
    content = document.content
    if isinstance(content, AktaContent):
        return {
            "akta_number": content.akta_number,
            "registration_type": content.registration_type,
            "variant": content.variant.value,
            "child_nik": masked(content.child_nik),
            "child_name": content.child_name,
            "sex": content.sex.value,
            "born_at": content.born_at.isoformat(timespec="minutes"),
            "place_of_birth": content.place_of_birth,
            "mother_name": content.mother_name,
            "father_name": content.father_name,
            "issuing_regency_name": content.issuing_regency_name,
            "issued_on": content.issued_on.isoformat(),
        }
    assert isinstance(content, KkContent)
    return {
        "kk_number": masked(content.kk_number),
        "head_name": content.head_name,
        "address": content.address,
        "issuing_regency_name": content.regency_name,
        "issued_on": content.issued_on.isoformat(),
        "members": [{"nik": masked(m.nik), "name": m.name, "relationship": m.relationship} for m in content.members],
    }


def _document_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise HTTPException(404) from None


async def _found(request: Request, number: str) -> list[StoredDocument]:
    """Every version of the document with this akta number, KK number or document id."""
    number = number.strip()
    if not number:
        return []
    if len(number) == 36 and number.count("-") == 4:  # read as a document id: a malformed one finds nothing
        try:
            number = str(uuid.UUID(number))
        except ValueError:
            return []
    return await desk(request).actions.documents.find(number)


def _proposal_id(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**62:
        raise HTTPException(404)
    return int(value)


async def _stored(request: Request, document_id: str) -> StoredDocument:
    try:
        return await desk(request).actions.documents.get(_document_id(document_id))
    except OperatorError:
        raise HTTPException(404) from None


async def _shown(request: Request, document_id: str, user: SignedIn) -> StoredDocument:
    """The document for its page or the API, audited (documents.view): it states names, the date
    of birth, the address."""
    try:
        return await desk(request).actions.documents.show(_document_id(document_id), user.actor)
    except OperatorError:
        raise HTTPException(404) from None


async def _proposal(request: Request, proposal_id: str, user: SignedIn) -> CorrectionProposal:
    """One proposal, by the list's rule: a supervisor's (proposals.decide) any, others their own;
    someone else's is not found."""
    try:
        found = await desk(request).proposals.get(_proposal_id(proposal_id))
    except OperatorError:
        raise HTTPException(404) from None
    if not _visible(user, [found]):
        raise HTTPException(404)
    return found


async def _issuing(request: Request, document: StoredDocument) -> int:
    """Document jobs still owed for the notification behind this document (a correction's new
    versions being issued)."""
    [trail] = await desk(request).actions.view.trails([(document.hospital_id or "", document.message_id)])
    return sum(1 for job in trail["document_jobs"] if job["state"] == "pending")


def _active(versions: list[StoredDocument]) -> StoredDocument | None:
    return next((d for d in versions if d.ref.status is DocumentStatus.ACTIVE), None)


async def _current_akta(request: Request, akta_number: str) -> StoredDocument | None:
    found = await desk(request).actions.documents.find(akta_number)
    active = _active(found)
    return active if active is not None and active.ref.kind is DocumentKind.AKTA else None


def _visible(user: SignedIn, proposals: list[CorrectionProposal]) -> list[CorrectionProposal]:
    """Supervisors see every proposal; others see their own."""
    if user.may("proposals.decide"):
        return proposals
    return [p for p in proposals if p.proposed_by == user.actor]


async def _proposals_shown(request: Request, user: SignedIn) -> list[CorrectionProposal]:
    if user.may("proposals.decide"):
        return (await desk(request).proposals.listed(OPEN))[:MAX_PROPOSALS_SHOWN]
    mine = _visible(user, await desk(request).proposals.listed(None))
    return list(reversed(mine))[:MAX_PROPOSALS_SHOWN]


def _may_decide(user: SignedIn, proposal: CorrectionProposal) -> bool:
    return user.may("proposals.decide") and proposal.status == OPEN and proposal.proposed_by != user.actor


# --- pages -------------------------------------------------------------------------------------


async def _index(request: Request, user: SignedIn, status_code: int = 200, **context: Any):
    values: dict[str, Any] = {"error": None, "searched": False, "number": "", "found": [], **context}
    return render(
        request,
        "documents/index.html",
        status_code,
        proposals=await _proposals_shown(request, user),
        when=when,
        badge=BADGE,
        masked=masked,
        **values,
    )


@pages.get("/dokumen")
async def index_page(request: Request, user: Annotated[SignedIn, Depends(viewer("documents.view"))]):
    return await _index(request, user)


@pages.post("/dokumen/cari")
async def search_page(
    request: Request,
    user: Annotated[SignedIn, Depends(actor("documents.view"))],
    number: Annotated[str, Form(max_length=64)] = "",
):
    found = await _found(request, number)
    return await _index(request, user, searched=True, number=number.strip(), found=found)


async def _detail(request: Request, user: SignedIn, document: StoredDocument, status_code: int = 200, **context: Any):
    versions = await desk(request).actions.documents.find(document.ref.document_id)
    active = _active(versions)
    proposals: list[CorrectionProposal] = []
    if document.ref.kind is DocumentKind.AKTA:
        listed = await desk(request).proposals.listed(OPEN)
        proposals = _visible(user, [p for p in listed if p.akta_number == document.ref.number])
    values: dict[str, Any] = {"error": None, **context}
    return render(
        request,
        "documents/detail.html",
        status_code,
        document=document,
        meta=summary(document),
        content=content_of(document),
        versions=versions,
        active=active,
        issuing=await _issuing(request, document),
        proposals=proposals,
        correctable=document.ref.kind is DocumentKind.AKTA and document.ref.status is DocumentStatus.ACTIVE,
        when=when,
        badge=BADGE,
        **values,
    )


@pages.get("/dokumen/usulan/{proposal_id}")
async def proposal_page(
    request: Request, proposal_id: str, user: Annotated[SignedIn, Depends(viewer("documents.view"))]
):
    return await _proposal_page(request, user, await _proposal(request, proposal_id, user))


async def _proposal_page(
    request: Request, user: SignedIn, proposal: CorrectionProposal, status_code: int = 200, **context: Any
):
    current = await _current_akta(request, proposal.akta_number)
    values: dict[str, Any] = {"error": None, **context}
    return render(
        request,
        "documents/proposal.html",
        status_code,
        proposal=proposal,
        current=current,
        now_values=content_of(current) if current is not None else {},
        fields=FIELDS,
        may_decide=_may_decide(user, proposal),
        own=proposal.proposed_by == user.actor,
        when=when,
        **values,
    )


@pages.post("/dokumen/usulan/{proposal_id}/setujui")
async def proposal_approve(
    request: Request,
    proposal_id: str,
    user: Annotated[SignedIn, Depends(actor("proposals.decide"))],
    note: Annotated[str, Form(max_length=500)] = "",
):
    proposal = await _proposal(request, proposal_id, user)
    current = await _current_akta(request, proposal.akta_number)
    try:
        await desk(request).proposals.approve(proposal.id, note, user.actor)
    except OperatorError as exc:
        return await _proposal_page(request, user, proposal, 400, error=failed(request, exc))
    target = f"/dokumen/{current.ref.document_id}" if current is not None else f"/dokumen/usulan/{proposal.id}"
    return back_to(target, done="proposal_approved")


@pages.post("/dokumen/usulan/{proposal_id}/tolak")
async def proposal_reject(
    request: Request,
    proposal_id: str,
    user: Annotated[SignedIn, Depends(actor("proposals.decide"))],
    note: Annotated[str, Form(max_length=500)] = "",
):
    proposal = await _proposal(request, proposal_id, user)
    try:
        await desk(request).proposals.reject(proposal.id, note, user.actor)
    except OperatorError as exc:
        return await _proposal_page(request, user, proposal, 400, error=failed(request, exc))
    return back_to(f"/dokumen/usulan/{proposal.id}", done="proposal_rejected")


@pages.get("/dokumen/{document_id}")
async def detail_page(request: Request, document_id: str, user: Annotated[SignedIn, Depends(viewer("documents.view"))]):
    return await _detail(request, user, await _shown(request, document_id, user))


def _pdf(document: StoredDocument, disposition: str) -> Response:
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{document_filename(document)}"'},
    )


@pages.get("/dokumen/{document_id}/pdf")
async def pdf_page(request: Request, document_id: str, user: Annotated[SignedIn, Depends(viewer("documents.view"))]):
    """The PDF as stored, shown in the browser; the look is audited (documents.view)."""
    try:
        found = await desk(request).actions.documents.copy(_document_id(document_id), user.actor)
    except OperatorError:
        raise HTTPException(404) from None
    return _pdf(found, "inline")


@pages.post("/dokumen/{document_id}/cetak-ulang")
async def reprint_page(
    request: Request,
    document_id: str,
    user: Annotated[SignedIn, Depends(actor("documents.reprint"))],
    reason: Annotated[str, Form(max_length=500)] = "",
):
    """Reprint: the audit entry (with the reason) first, then the PDF as a download."""
    document = await _stored(request, document_id)
    try:
        found = await desk(request).actions.documents.copy(
            document.ref.document_id, user.actor, reason=reason, reprint=True
        )
    except OperatorError as exc:
        return await _detail(request, user, document, 400, error=failed(request, exc))
    return _pdf(found, "attachment")


async def _correction_page(
    request: Request, user: SignedIn, document: StoredDocument, status_code: int = 200, **context: Any
):
    values: dict[str, Any] = {"error": None, "form": {}, **context}
    correctable = document.ref.kind is DocumentKind.AKTA and document.ref.status is DocumentStatus.ACTIVE
    current = content_of(document) if correctable else {}
    return render(
        request,
        "documents/correct.html",
        status_code,
        document=document,
        meta=summary(document),
        correctable=correctable,
        current=current,
        fields=FIELDS,
        applies=user.may("documents.correct"),
        **values,
    )


@pages.get("/dokumen/{document_id}/pembetulan")
async def correction_page(
    request: Request, document_id: str, user: Annotated[SignedIn, Depends(viewer("documents.propose"))]
):
    return await _correction_page(request, user, await _stored(request, document_id))


@pages.post("/dokumen/{document_id}/pembetulan")
async def correction_submit(
    request: Request,
    document_id: str,
    user: Annotated[SignedIn, Depends(actor("documents.propose"))],
    child_name: Annotated[str, Form(max_length=200)] = "",
    mother_name: Annotated[str, Form(max_length=200)] = "",
    father_name: Annotated[str, Form(max_length=200)] = "",
    place_of_birth: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
):
    """A supervisor's correction is applied at once; an officer's becomes a proposal."""
    document = await _stored(request, document_id)
    values = {
        "child_name": child_name,
        "mother_name": mother_name,
        "father_name": father_name,
        "place_of_birth": place_of_birth,
    }
    try:
        outcome = await _correct(request, user, document, values, reason)
    except OperatorError as exc:
        form = {**values, "reason": reason}
        return await _correction_page(request, user, document, 400, error=failed(request, exc), form=form)
    if outcome.proposal_id is not None:
        return back_to(f"/dokumen/usulan/{outcome.proposal_id}", done="correction_proposed")
    return back_to(f"/dokumen/{document.ref.document_id}", done="document_corrected")


@pages.post("/dokumen/{document_id}/cabut")
async def revoke_page(
    request: Request,
    document_id: str,
    user: Annotated[SignedIn, Depends(actor("documents.revoke"))],
    reason: Annotated[str, Form(max_length=500)] = "",
):
    document = await _stored(request, document_id)
    try:
        await desk(request).actions.documents.revoke(document.ref.document_id, reason.strip(), user.actor)
    except OperatorError as exc:
        return await _detail(request, user, document, 400, error=failed(request, exc))
    return back_to(f"/dokumen/{document.ref.document_id}", done="document_revoked")


# --- the shared correction step ------------------------------------------------------------------


class CorrectionOutcome(BaseModel):
    applied: bool = Field(description="True: corrected now (a supervisor); False: proposed (an officer).")
    proposal_id: int | None = Field(description="The proposal to be decided, when proposed.")
    reissued: list[str] = Field(description="What will be reissued when applied (AktaContent, KkContent).")


async def _correct(
    request: Request, user: SignedIn, document: StoredDocument, values: Mapping[str, str | None], reason: str
) -> CorrectionOutcome:
    if document.ref.kind is not DocumentKind.AKTA or document.ref.status is not DocumentStatus.ACTIVE:
        raise OperatorError("only an active akta kelahiran is corrected (its family card is reissued with it)")
    assert isinstance(document.content, AktaContent)
    correction = checked_correction(changed_fields(document.content, values), reason)
    if user.may("documents.correct"):
        reissued = await desk(request).actions.documents.correct(document.ref.number, correction, user.actor)
        return CorrectionOutcome(applied=True, proposal_id=None, reissued=reissued)
    proposal_id = await desk(request).proposals.propose(document.ref.number, correction, user.actor)
    return CorrectionOutcome(applied=False, proposal_id=proposal_id, reissued=[])


# --- the JSON API ------------------------------------------------------------------------------


class DocumentSummary(BaseModel):
    document_id: str
    kind: Literal["akta-kelahiran", "kartu-keluarga"]
    number: str = Field(description="The akta number or the KK number.")
    version: int
    status: Literal["active", "superseded", "revoked"]
    issued_at: datetime
    key_id: str = Field(description="The signing key.")
    reason: str = Field(description="Why this version was issued: registration or correction.")
    supersedes: str | None = Field(description="The document id of the version it replaced.")
    status_reason: str | None = Field(description="Why it was revoked, if it was.")
    status_list: str = Field(description="Its status list entry: regency/year#index.")


class DocumentDetail(DocumentSummary):
    content: dict[str, Any] = Field(description="What the document states (NIKs masked).")
    versions: list[DocumentSummary] = Field(description="Every version of this number, oldest first.")
    issuing: int = Field(description="Document jobs still owed for its notification (new versions being issued).")


class Search(BaseModel):
    number: str = Field(max_length=64, description="An akta number, a KK number or a document id.")


class IssuingState(BaseModel):
    pending: int = Field(description="Document jobs still owed for this document's notification.")
    finished: bool = Field(description="True when none is owed (the new versions, if any, are issued).")
    active_id: str | None = Field(description="The version of this number in force now.")


class CorrectionIn(BaseModel):
    child_name: str | None = Field(None, max_length=200)
    mother_name: str | None = Field(None, max_length=200)
    father_name: str | None = Field(None, max_length=200)
    place_of_birth: str | None = Field(None, max_length=200)
    reason: str = Field(max_length=500, description="Why (e.g. the request's reference); audited.")


class ReasonIn(BaseModel):
    reason: str = Field(max_length=500, description="Why; audited. Required.")


class NoteIn(BaseModel):
    note: str = Field("", max_length=500, description="Required to reject; optional to approve. Audited.")


class Proposal(BaseModel):
    id: int
    akta_number: str
    changes: dict[str, str] = Field(description="The proposed values of the corrected fields.")
    reason: str
    proposed_by: str
    proposed_at: datetime
    status: Literal["open", "approved", "rejected"]
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class Approved(BaseModel):
    proposal: Proposal
    reissued: list[str]


def _summary_model(document: StoredDocument) -> DocumentSummary:
    return DocumentSummary.model_validate(summary(document))


def _proposal_model(proposal: CorrectionProposal) -> Proposal:
    return Proposal(
        id=proposal.id,
        akta_number=proposal.akta_number,
        changes={k: str(v) for k, v in proposal.changes.items()},
        reason=proposal.reason,
        proposed_by=proposal.proposed_by,
        proposed_at=proposal.proposed_at,
        status=proposal.status,  # the table's CHECK holds it to the three
        decided_by=proposal.decided_by,
        decided_at=proposal.decided_at,
        note=proposal.note,
    )


PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The signed PDF as issued."}
}


@api.post("/documents/search", response_model=list[DocumentSummary])
async def api_search(request: Request, user: Annotated[SignedIn, Depends(actor("documents.view"))], body: Search):
    """Every version of the document with this akta number, KK number or document id (a POST: the
    number never goes into a URL)."""
    return [_summary_model(d) for d in await _found(request, body.number)]


@api.get("/documents/{document_id}", response_model=DocumentDetail)
async def api_document(
    request: Request, document_id: str, user: Annotated[SignedIn, Depends(viewer("documents.view"))]
):
    document = await _shown(request, document_id, user)
    versions = await desk(request).actions.documents.find(document.ref.document_id)
    return DocumentDetail(
        **summary(document),
        content=content_of(document),
        versions=[_summary_model(d) for d in versions],
        issuing=await _issuing(request, document),
    )


@api.get("/documents/{document_id}/issuing", response_model=IssuingState)
async def api_issuing(request: Request, document_id: str, user: Annotated[SignedIn, Depends(viewer("documents.view"))]):
    """Whether new versions are still being issued for this document's notification (what the
    document page polls after a correction)."""
    document = await _stored(request, document_id)
    pending = await _issuing(request, document)
    active = _active(await desk(request).actions.documents.find(document.ref.document_id))
    return IssuingState(pending=pending, finished=pending == 0, active_id=active.ref.document_id if active else None)


@api.get("/documents/{document_id}/pdf", response_class=Response, responses=PDF)
async def api_pdf(request: Request, document_id: str, user: Annotated[SignedIn, Depends(viewer("documents.view"))]):
    """The stored PDF (audited as documents.view)."""
    try:
        found = await desk(request).actions.documents.copy(_document_id(document_id), user.actor)
    except OperatorError:
        raise HTTPException(404) from None
    return _pdf(found, "inline")


@api.post("/documents/{document_id}/reprint", response_class=Response, responses=PDF)
async def api_reprint(
    request: Request, document_id: str, user: Annotated[SignedIn, Depends(actor("documents.reprint"))], body: ReasonIn
):
    """Reprint: audited as documents.reprint with the reason; the PDF, byte-identical to the issued one."""
    document = await _stored(request, document_id)
    found = await desk(request).actions.documents.copy(
        document.ref.document_id, user.actor, reason=body.reason, reprint=True
    )
    return _pdf(found, "attachment")


@api.post("/documents/{document_id}/corrections", response_model=CorrectionOutcome, status_code=202)
async def api_correct(
    request: Request,
    document_id: str,
    user: Annotated[SignedIn, Depends(actor("documents.propose"))],
    body: CorrectionIn,
):
    """Pembetulan of an active akta kelahiran: a supervisor's is applied (new versions of the akta
    and the family card are issued shortly); an officer's becomes a proposal for a supervisor.
    Fields omitted or equal to the current value stay."""
    document = await _stored(request, document_id)
    values = body.model_dump(exclude={"reason"})
    return await _correct(request, user, document, values, body.reason)


@api.post("/documents/{document_id}/revoke", response_model=DocumentSummary)
async def api_revoke(
    request: Request, document_id: str, user: Annotated[SignedIn, Depends(actor("documents.revoke"))], body: ReasonIn
):
    """Revoke this version: its QR verifies as revoked from the next status list on."""
    document = await _stored(request, document_id)
    await desk(request).actions.documents.revoke(document.ref.document_id, body.reason.strip(), user.actor)
    return _summary_model(await desk(request).actions.documents.get(document.ref.document_id))


@api.get("/proposals", response_model=list[Proposal])
async def api_proposals(
    request: Request,
    user: Annotated[SignedIn, Depends(viewer("documents.view"))],
    status: Literal["open", "approved", "rejected", "all"] = "open",
):
    """Correction proposals, oldest first: every one for supervisors, one's own for others."""
    found = await desk(request).proposals.listed(None if status == "all" else status)
    return [_proposal_model(p) for p in _visible(user, found)]


@api.get("/proposals/{proposal_id}", response_model=Proposal)
async def api_proposal(
    request: Request, proposal_id: str, user: Annotated[SignedIn, Depends(viewer("documents.view"))]
):
    return _proposal_model(await _proposal(request, proposal_id, user))


@api.post("/proposals/{proposal_id}/approve", response_model=Approved)
async def api_approve(
    request: Request, proposal_id: str, user: Annotated[SignedIn, Depends(actor("proposals.decide"))], body: NoteIn
):
    """Apply the proposed correction and mark the proposal approved (both or neither). Nobody
    approves their own proposal."""
    proposal = await _proposal(request, proposal_id, user)
    reissued = await desk(request).proposals.approve(proposal.id, body.note, user.actor)
    return Approved(proposal=_proposal_model(await desk(request).proposals.get(proposal.id)), reissued=reissued)


@api.post("/proposals/{proposal_id}/reject", response_model=Proposal)
async def api_reject(
    request: Request, proposal_id: str, user: Annotated[SignedIn, Depends(actor("proposals.decide"))], body: NoteIn
):
    """Reject with a note (required)."""
    proposal = await _proposal(request, proposal_id, user)
    await desk(request).proposals.reject(proposal.id, body.note, user.actor)
    return _proposal_model(await desk(request).proposals.get(proposal.id))
