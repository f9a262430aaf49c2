"""Renders the civil documents as unsigned PDFs: the Kutipan Akta Kelahiran and the Kartu Keluarga.

What is printed, and where, lives in templates/akta.yaml and templates/kk.yaml (a layout a
designer edits, see render_layout); this module only turns the content values into the flat
template context those files document at their top, and hands both to the generic layout
interpreter (render_canvas). The PDF is clean and unsigned: the signing step adds its PAdES
signature as an incremental update. Same input, same bytes.

    render_akta(AktaContent, DocumentRef, qr_payload) -> PDF   A4 portrait, one page
    render_kk(KkContent, DocumentRef, qr_payload)     -> PDF   A4 landscape, 10 members a page
    render(Content, DocumentRef, qr_payload)          -> PDF   either, by the content's type
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hub.documents.render_canvas import render_layout
from hub.documents.render_layout import load_layout
from hub.domain.documents import AktaContent, Content, DocumentKind, DocumentRef, KkContent, KkMember, Official
from hub.domain.values import Sex

SEX_ID = {Sex.MALE: "LAKI-LAKI", Sex.FEMALE: "PEREMPUAN"}
SEX_EN = {Sex.MALE: "MALE", Sex.FEMALE: "FEMALE"}


def render_akta(content: AktaContent, ref: DocumentRef, qr_payload: str) -> bytes:
    """The Kutipan Akta Kelahiran of `content`, printed with `ref`'s id and version and the QR."""
    _require_kind(ref, DocumentKind.AKTA)
    return render_layout(load_layout("akta"), akta_context(content, ref, qr_payload), ref.issued_at)


def render_kk(content: KkContent, ref: DocumentRef, qr_payload: str) -> bytes:
    """The Kartu Keluarga of `content`: every member, continued on further pages when needed."""
    _require_kind(ref, DocumentKind.KK)
    return render_layout(load_layout("kk"), kk_context(content, ref, qr_payload), ref.issued_at)


def render(content: Content, ref: DocumentRef, qr_payload: str) -> bytes:
    """The PDF of either document, chosen by the type of `content`."""
    if isinstance(content, AktaContent):
        return render_akta(content, ref, qr_payload)
    if isinstance(content, KkContent):
        return render_kk(content, ref, qr_payload)
    raise TypeError(f"no document layout for {type(content).__name__}")


def akta_context(content: AktaContent, ref: DocumentRef, qr_payload: str) -> dict[str, Any]:
    """The names akta.yaml may use: the content's fields, flattened and printable."""
    return {
        **_plain_fields(content),
        **_official(content.official),
        **_document(ref, qr_payload),
        "variant": content.variant.value,
        "sex": SEX_ID[content.sex],
        "sex_en": SEX_EN[content.sex],
        "born_on": content.born_at.date(),
        "father_name": content.father_name or "",
    }


def kk_context(content: KkContent, ref: DocumentRef, qr_payload: str) -> dict[str, Any]:
    """The names kk.yaml may use; `members` is a list of flat member mappings."""
    return {
        **_plain_fields(content),
        **_official(content.official),
        **_document(ref, qr_payload),
        "members": [_member(member) for member in content.members],
        "member_count": len(content.members),
    }


def _member(member: KkMember) -> dict[str, Any]:
    return {**_plain_fields(member), "sex": SEX_ID[member.sex], "sex_en": SEX_EN[member.sex]}


def _plain_fields(value: Any) -> dict[str, Any]:
    """A content dataclass's fields by name (nested values are flattened by the callers)."""
    return {
        field.name: getattr(value, field.name) for field in fields(value) if field.name not in ("official", "members")
    }


def _official(official: Official) -> dict[str, str]:
    return {"official_name": official.name, "official_title": official.title, "official_nip": official.nip}


def _document(ref: DocumentRef, qr_payload: str) -> dict[str, Any]:
    return {"document_id": ref.document_id, "version": ref.version, "qr_payload": qr_payload}


def _require_kind(ref: DocumentRef, kind: DocumentKind) -> None:
    if ref.kind is not kind:
        raise ValueError(f"a {kind.value} cannot be rendered with a {ref.kind.value} document ref")
