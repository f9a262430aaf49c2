"""PAdES signing through the DocumentSigner port and validation with pyHanko (hub/documents/pades.py)."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from hub.adapters.signing import pki
from hub.adapters.signing.local import LocalSigner
from hub.documents.pades import PortSigner, async_validate_pdf, sign_pdf, validate_pdf
from hub.errors import PermanentError, SignerUnavailable
from hub.service.ports import SigningKey

TEXT = b"Kutipan Akta Kelahiran nomor uji"


def tiny_pdf() -> bytes:
    """One line of text, uncompressed so that a test can find and change it."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=1, pageCompression=0)
    page.drawString(72, 720, TEXT.decode())
    page.showPage()
    page.save()
    return buffer.getvalue()


def make_pki(path: Path) -> Path:
    pki.ensure_keys(path, now=datetime.now(UTC) - timedelta(days=1))
    return path


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return make_pki(tmp_path / "pki")


async def signed(directory: Path, signer: LocalSigner | None = None) -> tuple[bytes, SigningKey]:
    signer = signer or LocalSigner(directory)
    key = await signer.current_key()
    pdf = await sign_pdf(
        tiny_pdf(), signer, key, reason="Kutipan Akta Kelahiran", location="KOTA UJI", idempotency_key=uuid.uuid4().hex
    )
    return pdf, key


async def test_a_signed_pdf_is_intact_valid_and_trusted_under_the_development_ca(directory: Path):
    pdf, key = await signed(directory)

    report = await async_validate_pdf(pdf, [pki.ca_certificate(directory)])

    assert (report.signed, report.intact, report.valid, report.trusted, report.covers_whole_document) == (
        True,
        True,
        True,
        True,
        True,
    )
    assert report.ok and report.kid == key.kid and report.field_name == "Signature1"
    assert pdf.startswith(tiny_pdf())  # an incremental update: the rendered bytes stay as they were
    assert b"/ETSI.CAdES.detached" in pdf


async def test_a_pdf_signed_under_another_ca_is_valid_but_not_trusted(directory: Path, tmp_path: Path):
    pdf, _ = await signed(directory)

    report = await async_validate_pdf(pdf, [pki.ca_certificate(make_pki(tmp_path / "other"))])

    assert (report.intact, report.valid, report.trusted, report.ok) == (True, True, False, False)


async def test_a_byte_changed_inside_the_signed_range_breaks_integrity(directory: Path):
    pdf, _ = await signed(directory)
    at = pdf.index(TEXT)
    tampered = pdf[:at] + TEXT.replace(b"uji", b"UJI") + pdf[at + len(TEXT) :]

    report = await async_validate_pdf(tampered, [pki.ca_certificate(directory)])

    assert report.signed and not report.intact and not report.valid and not report.ok


def test_validation_from_synchronous_code(directory: Path):
    pdf, key = asyncio.run(signed(directory))

    report = validate_pdf(pdf, [pki.ca_certificate(directory)])

    assert report.ok and report.kid == key.kid


async def test_a_retired_key_is_refused_by_the_port_and_nothing_is_signed(directory: Path):
    signer = LocalSigner(directory)
    old = await signer.current_key()
    pki.rotate(directory, now=datetime.now(UTC) - timedelta(minutes=1))

    with pytest.raises(PermanentError) as refused:
        await sign_pdf(tiny_pdf(), signer, old, reason="r", location="l", idempotency_key=uuid.uuid4().hex)
    assert refused.value.code.code == "SIGNING-KEY-RETIRED"


class Delegating:
    """A DocumentSigner that passes every call to a LocalSigner; subclasses change sign_digest."""

    def __init__(self, inner: LocalSigner) -> None:
        self._inner = inner

    async def current_key(self) -> SigningKey:
        return await self._inner.current_key()

    async def published_keys(self) -> tuple[SigningKey, ...]:
        return await self._inner.published_keys()


class WrongSigner(Delegating):
    """A signer that answers with a valid signature over some other digest."""

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        return await self._inner.sign_digest(bytes(32), kid=kid, idempotency_key=idempotency_key)


async def test_a_signature_that_does_not_match_the_certificate_is_not_embedded(directory: Path):
    signer = WrongSigner(LocalSigner(directory))
    key = await signer.current_key()

    with pytest.raises(SignerUnavailable):
        await sign_pdf(tiny_pdf(), signer, key, reason="r", location="l", idempotency_key=uuid.uuid4().hex)


@pytest.mark.parametrize("pdf", [b"", b"%PDF-1.4 garbage", tiny_pdf()], ids=["empty", "garbage", "unsigned"])
async def test_an_unreadable_or_unsigned_pdf_is_reported_not_raised(directory: Path, pdf: bytes):
    report = await async_validate_pdf(pdf, [pki.ca_certificate(directory)])

    assert not report.signed and not report.ok and report.problem


class CountingSigner(Delegating):
    def __init__(self, inner: LocalSigner) -> None:
        super().__init__(inner)
        self.calls = 0

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        self.calls += 1
        return await self._inner.sign_digest(digest, kid=kid, idempotency_key=idempotency_key)


async def test_a_trial_signature_for_sizing_does_not_reach_the_port(directory: Path):
    port = CountingSigner(LocalSigner(directory))
    signer = PortSigner(port, await port.current_key(), uuid.uuid4().hex)

    placeholder = await signer.async_sign_raw(b"signed attributes", "sha256", dry_run=True)
    real = await signer.async_sign_raw(b"signed attributes", "sha256")

    assert placeholder == bytes(72) and len(real) <= 72 and port.calls == 1
