"""Synthetic documents for previews (`hub documents sample`) and the README's pictures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hub.domain.documents import (
    AktaContent,
    Content,
    DocumentKind,
    DocumentRef,
    KkContent,
    KkMember,
    Official,
    StatusSlot,
    document_id,
)
from hub.domain.values import AktaVariant, Relationship, Sex

WIB = timezone(timedelta(hours=7))
OFFICIAL = Official(
    "Dra. Contoh Pejabat, M.Si.", "Kepala Dinas Kependudukan dan Pencatatan Sipil Kota Surabaya", "197001012000031001"
)
PAYLOAD = "DK1:" + "SAMPLE0NOT0SIGNED0" * 25  # a stand-in: sample documents are not signed


def samples() -> dict[str, tuple[Content, DocumentRef, str]]:
    found: dict[str, tuple[Content, DocumentRef, str]] = {}
    for variant in AktaVariant:
        content = _akta(variant)
        found[f"akta-{variant.value}"] = (content, _ref(DocumentKind.AKTA, content.akta_number), PAYLOAD)
    card = _card(12)
    found["kartu-keluarga-12-members"] = (card, _ref(DocumentKind.KK, card.kk_number), PAYLOAD)
    return found


def _ref(kind: DocumentKind, number: str) -> DocumentRef:
    return DocumentRef(
        document_id(kind, number, 1),
        kind,
        number,
        1,
        datetime(2026, 11, 23, 3, tzinfo=UTC),
        StatusSlot("3578", 2026, 41),
    )


def _akta(variant: AktaVariant) -> AktaContent:
    return AktaContent(
        "3578-LU-23112026-0004",
        "LU",
        variant,
        "3578016311260002",
        "Ayu Lestari Wulandari",
        Sex.FEMALE,
        datetime(2026, 11, 23, 4, 35, tzinfo=WIB),
        "Kota Surabaya",
        2,
        0,
        1,
        "Sari Dewi Anggraini",
        "Joko Prasetyo" if variant in (AktaVariant.BOTH_PARENTS, AktaVariant.BOTH_PARENTS_WITH_NOTE) else None,
        "3578",
        "Kota Surabaya",
        date(2026, 11, 23),
        OFFICIAL,
    )


def _card(size: int) -> KkContent:
    head = KkMember(
        "3578010905880003",
        "Joko Prasetyo",
        Sex.MALE,
        "Sidoarjo",
        date(1988, 5, 9),
        Relationship.HEAD.value,
        "Islam",
        "SLTA/SEDERAJAT",
        "Karyawan Swasta",
        "O",
        "KAWIN TERCATAT",
    )
    wife = KkMember(
        "3578015204920001",
        "Sari Dewi Anggraini",
        Sex.FEMALE,
        "Surabaya",
        date(1992, 4, 12),
        Relationship.WIFE.value,
        "Islam",
        "DIPLOMA IV/STRATA I",
        "Guru",
        "A",
        "KAWIN TERCATAT",
    )
    children = [
        KkMember(
            f"35780163112{60002 + i:05d}"[:16],
            f"Anak Contoh {i + 1}",
            Sex.FEMALE if i % 2 else Sex.MALE,
            "Surabaya",
            date(2012 + i % 14, 1 + i % 12, 1 + i),
            Relationship.CHILD.value,
            "Islam",
            "BELUM TAMAT SD/SEDERAJAT",
            "Pelajar/Mahasiswa",
            "-",
            "BELUM KAWIN",
            father_name="Joko Prasetyo",
            mother_name="Sari Dewi Anggraini",
        )
        for i in range(size - 2)
    ]
    return KkContent(
        "3578011502180007",
        4,
        "Joko Prasetyo",
        "Jl. Contoh Raya No. 17, RT 002 RW 005, Kel. Karang Pilang",
        "357801",
        "Karang Pilang",
        "3578",
        "Kota Surabaya",
        "Jawa Timur",
        date(2026, 11, 23),
        (head, wife, *children),
        OFFICIAL,
    )
