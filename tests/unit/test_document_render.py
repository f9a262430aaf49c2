"""The PDF renderer of the Kutipan Akta Kelahiran and the Kartu Keluarga.

Reads the rendered PDFs back the way a person or a verifier would: the page text (pypdfium2),
the page size, the fonts' embedding (pyHanko's reader), and the QR decoded from a 300 dpi raster
of the page (zxing-cpp). Synthetic people only: invented names, NIKs from a per-run counter.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
import pypdfium2 as pdfium
import pytest
import zxingcpp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from hub.documents.render import render, render_akta, render_kk
from hub.documents.render_canvas import render_layout
from hub.documents.render_filters import (
    tanggal,
    tanggal_terbilang,
    terbilang,
    zona_waktu,
)
from hub.documents.render_layout import LayoutError, parse_layout
from hub.domain.documents import (
    AktaContent,
    DocumentKind,
    DocumentRef,
    KkContent,
    KkMember,
    Official,
    StatusSlot,
    document_id,
)
from hub.domain.numbers import (
    akta_number,
    akta_prefix,
    kk_prefix,
    nik_prefix,
    with_serial,
)
from hub.domain.values import AktaVariant, Sex

WIB, WITA, WIT = (timezone(timedelta(hours=hours)) for hours in (7, 8, 9))
A4_SHORT, A4_LONG = 595.2756, 841.8898
KECAMATAN, REGENCY = "357801", "3578"
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
REPO = Path(__file__).resolve().parents[2]

_serials = itertools.count(1)


# --- synthetic content ------------------------------------------------------------------------


def _nik(born: date, sex: Sex) -> str:
    return with_serial(nik_prefix(KECAMATAN, born, sex), next(_serials) % 9999 + 1)


def _official(nip: str = "197805122003121002") -> Official:
    return Official(
        name="Drs. Wiratama Endrayana, M.Si.",
        nip=nip,
        title="Kepala Dinas Kependudukan dan Pencatatan Sipil Kota Surabaya",
    )


def _akta(**overrides: Any) -> AktaContent:
    born_at = overrides.pop("born_at", datetime(2026, 11, 23, 8, 30, tzinfo=WIB))
    late = overrides.get("registration_type") == "LT"
    values: dict[str, Any] = dict(
        akta_number=akta_number(
            akta_prefix(REGENCY, late=late, issued_on=date(2026, 11, 24)), next(_serials) % 9999 + 1
        ),
        registration_type="LU",
        variant=AktaVariant.BOTH_PARENTS,
        child_nik=_nik(born_at.date(), Sex.FEMALE),
        child_name="Laras Kinanti Prameswari",
        sex=Sex.FEMALE,
        born_at=born_at,
        place_of_birth="Kota Surabaya",
        child_order=2,
        birth_order=0,
        plurality=1,
        mother_name="Endang Tyas Palupi",
        father_name="Yudhistira Bagas Wicaksono",
        issuing_regency=REGENCY,
        issuing_regency_name="Kota Surabaya",
        issued_on=date(2026, 11, 24),
        official=_official(),
    )
    values.update(overrides)
    return AktaContent(**values)


def _member(index: int, **overrides: Any) -> KkMember:
    born = date(1988 + index, index % 12 + 1, 7)
    sex = Sex.MALE if index % 2 == 0 else Sex.FEMALE
    values: dict[str, Any] = dict(
        nik=_nik(born, sex),
        name=f"Anggota Rekaan {terbilang(index + 1).title()}",
        sex=sex,
        birth_place="Kabupaten Sidoarjo",
        birth_date=born,
        relationship="ANAK",
        religion="ISLAM",
        education="SLTA/SEDERAJAT",
        occupation="PELAJAR/MAHASISWA",
        blood_type="A",
        marital_status="BELUM KAWIN",
        father_name="Yudhistira Bagas Wicaksono",
        mother_name="Endang Tyas Palupi",
    )
    values.update(overrides)
    return KkMember(**values)


def _kk(members: tuple[KkMember, ...], **overrides: Any) -> KkContent:
    values: dict[str, Any] = dict(
        kk_number=with_serial(kk_prefix(KECAMATAN, date(2019, 5, 19)), next(_serials) % 9999 + 1),
        kk_version=2,
        head_name="Yudhistira Bagas Wicaksono",
        address="Jl. Flamboyan Asri No. 12, RT 004/RW 002, Kel. Ketabang",
        kecamatan=KECAMATAN,
        kecamatan_name="Genteng",
        regency=REGENCY,
        regency_name="Kota Surabaya",
        province_name="Jawa Timur",
        issued_on=date(2026, 11, 24),
        members=members,
        official=_official(),
    )
    values.update(overrides)
    return KkContent(**values)


def _family(size: int) -> tuple[KkMember, ...]:
    return tuple(_member(index) for index in range(size))


def _ref(content: AktaContent | KkContent, version: int = 1) -> DocumentRef:
    kind, number = (
        (DocumentKind.AKTA, content.akta_number)
        if isinstance(content, AktaContent)
        else (DocumentKind.KK, content.kk_number)
    )
    return DocumentRef(
        document_id=document_id(kind, number, version),
        kind=kind,
        number=number,
        version=version,
        issued_at=datetime(2026, 11, 24, 10, 15, tzinfo=WIB),
        slot=StatusSlot(REGENCY, 2026, next(_serials)),
    )


def _payload(length: int = 600, seed: int = 7) -> str:
    body = "".join(random.Random(seed).choices(BASE45, k=length - 4))
    return f"DK1:{body.strip()}X"  # no space at either end: decoders may trim those


def fixed_akta_pdf() -> bytes:
    """An akta from constant inputs only: the same in every process (see the determinism test)."""
    content = _akta(akta_number="3578-LU-24112026-0042", child_nik="3578016311260042")
    ref = DocumentRef(
        document_id=document_id(DocumentKind.AKTA, content.akta_number, 1),
        kind=DocumentKind.AKTA,
        number=content.akta_number,
        version=1,
        issued_at=datetime(2026, 11, 24, 10, 15, tzinfo=WIB),
        slot=StatusSlot(REGENCY, 2026, 1),
    )
    return render_akta(content, ref, _payload())


# --- reading PDFs back ------------------------------------------------------------------------


def _texts(pdf: bytes) -> list[str]:
    """Each page's text with runs of whitespace (line breaks included) made single spaces."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [" ".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))]
    finally:
        document.close()


def _text(pdf: bytes) -> str:
    return " ".join(_texts(pdf))


def _segments(pdf: bytes, page: int = 0) -> list[str]:
    """The page's separately drawn text runs (a table cell is one), stripped."""
    document = pdfium.PdfDocument(pdf)
    try:
        textpage = document[page].get_textpage()
        return [textpage.get_text_bounded(*textpage.get_rect(i)).strip() for i in range(textpage.count_rects())]
    finally:
        document.close()


def _page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [document[i].get_size() for i in range(len(document))]
    finally:
        document.close()


def _qr_codes(pdf: bytes, page: int = 0) -> list[Any]:
    """The QR codes zxing-cpp finds on a 300 dpi raster of the page."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[page].render(scale=300 / 72).to_pil()
    finally:
        document.close()
    return [result for result in zxingcpp.read_barcodes(image) if result.format == zxingcpp.BarcodeFormat.QRCode]


def _symbol_width_mm(code: Any) -> float:
    return (code.position.top_right.x - code.position.top_left.x) * 25.4 / 300


def _fonts(pdf: bytes) -> Iterator[Any]:
    reader = PdfFileReader(BytesIO(pdf))
    for page in reader.root["/Pages"]["/Kids"]:
        for font in page.get_object()["/Resources"]["/Font"].values():
            yield font.get_object()


# --- the akta ---------------------------------------------------------------------------------

VARIANT_CASES = {
    AktaVariant.BOTH_PARENTS: (
        ["dari ayah Yudhistira Bagas Wicaksono dan ibu Endang Tyas Palupi", "anak ke-2 PEREMPUAN"],
        ["belum dicatatkan", "tidak diketahui"],
    ),
    AktaVariant.BOTH_PARENTS_WITH_NOTE: (
        [
            "dari ayah Yudhistira Bagas Wicaksono dan ibu Endang Tyas Palupi",
            "belum dicatatkan menurut ketentuan peraturan perundang-undangan",
        ],
        ["tidak diketahui"],
    ),
    AktaVariant.MOTHER_ONLY: (
        ["anak ke-2 PEREMPUAN, dari ibu Endang Tyas Palupi."],
        ["Yudhistira", "dari ayah", "belum dicatatkan"],
    ),
    AktaVariant.NO_PARENTS_KNOWN: (
        ["yang tidak diketahui asal-usul kedua orang tuanya"],
        ["Yudhistira", "Endang", "dari ayah", "dari ibu", "anak ke-"],
    ),
}


@pytest.mark.parametrize("variant", list(AktaVariant))
def test_each_akta_variant_states_the_parents_it_must_and_no_others(variant: AktaVariant) -> None:
    content = _akta(variant=variant)  # the father's name is in the content for every variant
    text = _text(render_akta(content, _ref(content), _payload()))
    must, must_not = VARIANT_CASES[variant]
    for common in (
        "REPUBLIK INDONESIA",
        "KUTIPAN AKTA KELAHIRAN",
        "EXTRACT OF BIRTH CERTIFICATE",
        content.akta_number,
        content.child_nik,
        "telah lahir Laras Kinanti Prameswari",
        "LU (pencatatan dalam batas waktu)",
        "Dikeluarkan di Kota Surabaya",
        "Drs. Wiratama Endrayana, M.Si.",
        "Ditandatangani secara elektronik",
        "NIP. 197805122003121002",
        "Kepala Dinas Kependudukan dan Pencatatan Sipil Kota Surabaya",
    ):
        assert common in text
    for phrase in must:
        assert phrase in text
    for phrase in must_not:
        assert phrase not in text


def test_the_akta_prints_date_of_birth_in_words_time_and_issue_date() -> None:
    content = _akta(born_at=datetime(2026, 11, 23, 21, 5, tzinfo=WIB), issued_on=date(2026, 12, 1))
    text = _text(render_akta(content, _ref(content), _payload()))
    assert "pada tanggal dua puluh tiga November dua ribu dua puluh enam (23-11-2026)" in text
    assert "pukul 21.05 WIB" in text
    assert "pada tanggal 1 Desember 2026" in text


@pytest.mark.parametrize(("zone", "name"), [(WIB, "WIB"), (WITA, "WITA"), (WIT, "WIT")])
def test_the_time_of_birth_carries_the_zone_of_its_offset(zone: timezone, name: str) -> None:
    content = _akta(born_at=datetime(2026, 11, 23, 8, 30, tzinfo=zone))
    assert f"pukul 08.30 {name} telah lahir" in _text(render_akta(content, _ref(content), _payload()))


def test_a_late_registration_prints_lt() -> None:
    content = _akta(registration_type="LT")
    text = _text(render_akta(content, _ref(content), _payload()))
    assert "-LT-" in content.akta_number and content.akta_number in text
    assert "LT (pencatatan terlambat)" in text and "LU (" not in text


def test_twins_print_plurality_and_order_and_singletons_do_not() -> None:
    twin = _akta(birth_order=2, plurality=2)
    singleton = _akta()
    assert "kelahiran kembar 2, anak ke-2 dari kelahiran kembar tersebut" in _text(
        render_akta(twin, _ref(twin), _payload())
    )
    assert "kembar" not in _text(render_akta(singleton, _ref(singleton), _payload()))


def test_the_nip_line_is_left_out_when_the_nip_is_unknown() -> None:
    content = _akta(official=_official(nip=""))
    text = _text(render_akta(content, _ref(content), _payload()))
    assert "Drs. Wiratama Endrayana, M.Si." in text and "NIP" not in text


def test_document_id_and_version_are_printed_under_the_qr() -> None:
    content = _akta()
    ref = _ref(content, version=3)
    text = _text(render_akta(content, ref, _payload()))
    assert f"ID dokumen: {ref.document_id}" in text
    assert "Versi dokumen: 3" in text
    assert "diverifikasi secara luring" in text


def test_names_with_punctuation_and_markup_characters_print_verbatim() -> None:
    content = _akta(
        child_name="Ni Kadek Ayu D'Arsa-Wibawa & <Dewi>",
        mother_name="Sri Nur'aini A. Hapsari",
        place_of_birth="Kab. Tojo Una-Una",
    )
    text = _text(render_akta(content, _ref(content), _payload()))
    for raw in ("Ni Kadek Ayu D'Arsa-Wibawa & <Dewi>", "Sri Nur'aini A. Hapsari", "di Kab. Tojo Una-Una"):
        assert raw in text
    assert "&amp;" not in text and "&lt;" not in text


def test_a_very_long_statement_shrinks_but_is_never_cut() -> None:
    long_name = " ".join(["Raden Mas Ayu Sekar Kedhaton Kusumawardhani"] * 4)
    content = _akta(
        child_name=long_name,
        mother_name=long_name,
        father_name=long_name,
        birth_order=1,
        plurality=3,
        variant=AktaVariant.BOTH_PARENTS_WITH_NOTE,
    )
    text = _text(render_akta(content, _ref(content), _payload()))
    assert text.count(long_name) == 6  # child, father, mother; Indonesian and English
    assert "belum dicatatkan" in text and "Drs. Wiratama Endrayana, M.Si." in text


def test_the_akta_is_one_a4_portrait_page() -> None:
    content = _akta()
    [(width, height)] = _page_sizes(render_akta(content, _ref(content), _payload()))
    assert (width, height) == pytest.approx((A4_SHORT, A4_LONG), abs=0.01)


# --- the family card --------------------------------------------------------------------------


def test_the_kk_lists_every_member_with_the_card_data() -> None:
    members = (
        _member(0, relationship="KEPALA KELUARGA", marital_status="KAWIN", name="Yudhistira Bagas Wicaksono"),
        _member(1, relationship="ISTRI", marital_status="KAWIN", name="Endang Tyas Palupi"),
        _member(2, name="Laras Kinanti Prameswari", blood_type="AB"),
    )
    content = _kk(members)
    pdf = render_kk(content, _ref(content), _payload())
    text = _text(pdf)
    for member in members:
        assert member.nik in text and member.name in text
    for phrase in (
        "KARTU KELUARGA",
        f"No. {content.kk_number}",
        "Jl. Flamboyan Asri No. 12",
        "Genteng",
        "Kota Surabaya",
        "Jawa Timur",
        "KEPALA KELUARGA",
        "ISTRI",
        "SLTA/SEDERAJAT",
        "PELAJAR/MAHASISWA",
        "BELUM KAWIN",
        "WNI",
        "Kabupaten Sidoarjo",
        "Dikeluarkan tanggal 24-11-2026",
        "Drs. Wiratama Endrayana, M.Si.",
        "Halaman 1 dari 1",
    ):
        assert phrase in text
    assert "AB" in _segments(pdf) and "07-01-1988" in _segments(pdf)


def test_empty_member_fields_print_as_a_dash() -> None:
    complete = _member(0, relationship="KEPALA KELUARGA")
    sparse = _member(
        1, religion="", education="", occupation="", blood_type="", marital_status="", father_name="", mother_name=""
    )
    only_complete, with_sparse = _kk((complete,)), _kk((complete, sparse))
    assert _segments(render_kk(only_complete, _ref(only_complete), _payload())).count("-") == 0
    assert _segments(render_kk(with_sparse, _ref(with_sparse), _payload())).count("-") == 7


def test_ten_members_fit_on_one_landscape_page() -> None:
    content = _kk(_family(10))
    pdf = render_kk(content, _ref(content), _payload())
    [(width, height)] = _page_sizes(pdf)
    assert (width, height) == pytest.approx((A4_LONG, A4_SHORT), abs=0.01)
    assert all(member.nik in _text(pdf) for member in content.members)


def test_a_fourteen_member_family_continues_on_a_second_page() -> None:
    content = _kk(_family(14))
    pdf = render_kk(content, _ref(content), _payload())
    first, second = _texts(pdf)
    assert len(_page_sizes(pdf)) == 2
    assert _page_sizes(pdf)[1] == pytest.approx((A4_LONG, A4_SHORT), abs=0.01)
    for index, member in enumerate(content.members):
        page, other = (first, second) if index < 10 else (second, first)
        assert member.nik in page and member.nik not in other
        assert member.name in page
    assert "Halaman 1 dari 2" in first and "berlanjut di halaman berikutnya" in first
    assert "Halaman 2 dari 2" in second and "berlanjut" not in second
    assert "Drs. Wiratama Endrayana, M.Si." in second and "Drs. Wiratama" not in first
    assert f"No. {content.kk_number}" in first and f"No. {content.kk_number}" in second


def test_a_name_too_long_for_its_cell_wraps_instead_of_being_cut() -> None:
    name = "Raden Ajeng Sekar Ayu Kusumaningtyas Wulandari Prameswari Hadiningrat"
    content = _kk((_member(0, name=name),))
    assert _text(render_kk(content, _ref(content), _payload())).count(name) == 2  # both tables


def test_kk_values_print_verbatim_without_markup_escaping() -> None:
    content = _kk((_member(0, name="Ni Wayan O'Brien-Sari & <Putu>"),), address="Jl. Mawar & Melati No. 3 <Blok C>")
    text = _text(render_kk(content, _ref(content), _payload()))
    assert "Ni Wayan O'Brien-Sari & <Putu>" in text and "Jl. Mawar & Melati No. 3 <Blok C>" in text
    assert "&amp;" not in text


# --- the PDF as a file ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["akta", "kk"])
def test_every_font_is_an_embedded_truetype_subset(kind: str) -> None:
    content = _akta() if kind == "akta" else _kk(_family(12))
    fonts = list(_fonts(render(content, _ref(content), _payload())))
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/TrueType"
        assert "/FontFile2" in font["/FontDescriptor"]
        assert str(font["/BaseFont"]).split("+")[1].startswith("BitstreamVeraSans")


@pytest.mark.parametrize("kind", ["akta", "kk"])
def test_rendering_twice_gives_identical_bytes(kind: str) -> None:
    content = _akta() if kind == "akta" else _kk(_family(12))
    ref, payload = _ref(content), _payload()
    assert render(content, ref, payload) == render(content, ref, payload)


def test_another_process_renders_the_same_bytes() -> None:
    script = (
        "import hashlib, sys; from tests.unit.test_document_render import fixed_akta_pdf; "
        "sys.stdout.write(hashlib.sha256(fixed_akta_pdf()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    other = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert other.stdout == hashlib.sha256(fixed_akta_pdf()).hexdigest()


def test_metadata_is_fixed_and_dated_by_the_issue_time() -> None:
    content = _akta()
    document = pdfium.PdfDocument(render_akta(content, _ref(content), _payload()))
    try:
        meta = document.get_metadata_dict()
    finally:
        document.close()
    assert meta["Author"] == "Dukcapil (hub)"
    assert meta["Title"] == f"Kutipan Akta Kelahiran {content.akta_number}"
    assert meta["CreationDate"] == "D:20261124101500+07'00'"


def test_the_pdf_is_unencrypted_unsigned_and_takes_an_incremental_update() -> None:
    content = _kk(_family(3))
    pdf = render_kk(content, _ref(content), _payload())
    reader = PdfFileReader(BytesIO(pdf))
    assert not reader.encrypted and "/AcroForm" not in reader.root
    updated = BytesIO()
    IncrementalPdfFileWriter(BytesIO(pdf)).write(updated)
    assert updated.getvalue().startswith(pdf) and len(updated.getvalue()) > len(pdf)


@pytest.mark.parametrize("kind", ["akta", "kk"])
def test_the_qr_decodes_to_the_exact_payload(kind: str) -> None:
    content = _akta() if kind == "akta" else _kk(_family(14))
    payload = _payload(600, seed=next(_serials))
    pdf = render(content, _ref(content), payload)
    [code] = _qr_codes(pdf)
    assert code.text == payload
    assert code.ec_level == "M" and code.orientation == 0  # upright, not mirrored or turned
    modules = 17 + 4 * int(code.extra["Version"])
    assert _symbol_width_mm(code) == pytest.approx(35 * modules / (modules + 8), abs=0.3)  # 35 mm with quiet zone
    if kind == "kk":
        assert [code.text for code in _qr_codes(pdf, page=1)] == [payload]


def test_the_qr_is_vector_drawing_not_an_image() -> None:
    content = _akta()
    reader = PdfFileReader(BytesIO(render_akta(content, _ref(content), _payload())))
    for page in reader.root["/Pages"]["/Kids"]:
        assert "/XObject" not in page.get_object()["/Resources"]


def test_render_dispatches_on_the_content_type() -> None:
    akta, kk = _akta(), _kk(_family(2))
    assert render(akta, _ref(akta), "DK1:A") == render_akta(akta, _ref(akta), "DK1:A")
    assert render(kk, _ref(kk), "DK1:A") == render_kk(kk, _ref(kk), "DK1:A")
    with pytest.raises(TypeError):
        render(object(), _ref(akta), "DK1:A")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        render_akta(akta, _ref(kk), "DK1:A")


# --- filters and layouts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1, "satu"),
        (11, "sebelas"),
        (12, "dua belas"),
        (20, "dua puluh"),
        (100, "seratus"),
        (115, "seratus lima belas"),
        (1000, "seribu"),
        (2024, "dua ribu dua puluh empat"),
        (1999, "seribu sembilan ratus sembilan puluh sembilan"),
        (300000, "tiga ratus ribu"),
    ],
)
def test_numbers_in_indonesian_words(number: int, words: str) -> None:
    assert terbilang(number) == words


def test_date_filters_use_indonesian_month_names() -> None:
    assert tanggal(date(2026, 8, 17)) == "17 Agustus 2026"
    assert tanggal_terbilang(date(2025, 5, 1)) == "satu Mei dua ribu dua puluh lima"


def test_a_time_without_offset_has_no_zone_and_other_offsets_are_spelt_out() -> None:
    with pytest.raises(ValueError):
        zona_waktu(datetime(2026, 1, 1, 8, 0))
    assert zona_waktu(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == "UTC+05.30"


MINIMAL_LAYOUT = """
page: {{size: A4, orientation: portrait}}
fonts: {{DokSans: Vera.ttf, DokSans-Bold: VeraBd.ttf, DokSans-Italic: VeraIt.ttf, DokSans-BoldItalic: VeraBI.ttf}}
font_family: {{normal: DokSans, bold: DokSans-Bold, italic: DokSans-Italic, bold_italic: DokSans-BoldItalic}}
meta: {{title: t}}
styles: {{plain: {{size: 9}}}}
elements:
  - {element}
"""


@pytest.mark.parametrize(
    "element",
    [
        "{type: image, x: 1, y: 1}",
        "{type: text, x: 1, text: no y}",
        "{type: text, x: 1, y: 1, style: missing, text: a}",
        "{type: text, x: 1, y: 1, font: Helvetica, text: a}",
        "{type: text, x: 1, y: 1, pages: odd, text: a}",
    ],
)
def test_a_broken_layout_is_refused_when_loaded(element: str) -> None:
    with pytest.raises(LayoutError):
        parse_layout("broken", MINIMAL_LAYOUT.format(element=element))


def test_fonts_come_only_from_reportlabs_own_folder() -> None:
    layout = MINIMAL_LAYOUT.format(element="{type: text, x: 1, y: 1, text: a}")
    with pytest.raises(LayoutError):
        parse_layout("system-font", layout.replace("Vera.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))


def test_a_misspelt_context_name_fails_the_render() -> None:
    layout = parse_layout("strict", MINIMAL_LAYOUT.format(element="{type: text, x: 1, y: 1, text: '{{ chld_name }}'}"))
    with pytest.raises(jinja2.UndefinedError):
        render_layout(layout, {"child_name": "Laras"}, datetime(2026, 1, 1, tzinfo=WIB))
