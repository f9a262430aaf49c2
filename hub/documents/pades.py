"""PAdES signatures of the rendered akta and KK, made through the DocumentSigner port, and their
validation.

The signature is PAdES baseline B-B (ETSI EN 319 142-1): a CAdES detached signature (SubFilter
ETSI.CAdES.detached, SHA-256, ECDSA P-256) in an incremental update of the PDF, invisible,
carrying the signing certificate and any intermediate CA (not the root: verifiers bring their
own copy of what they trust). pyHanko builds the CMS structure; the one raw signature it needs
(over the DER of the signed attributes) is a SHA-256 digest sent to the port, so the key can stay
in a remote HSM. The signature is checked against the signing certificate before it goes into the
PDF: a signer that answers with a wrong signature is treated as unavailable rather than producing
a document no one can validate.

A PDF signature is not reproducible (pyHanko writes the signing time and a fresh file id), so
each attempt to sign a document should pass its own idempotency key: the key deduplicates retries
of one attempt's request to the signer, not attempts.

Validation (`validate_pdf`) uses pyHanko's validator with the trust roots given and no network
(no fetching of certificates or revocation information): whether the signed bytes are intact, the
signature valid, the certificate chain trusted, and whether the signature covers the whole file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import async_validate_pdf_signature, validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.documents.trust import key_id
from hub.errors import SignerUnavailable
from hub.service.ports import DocumentSigner, SigningKey

MAX_DER_SIGNATURE = 72  # DER ECDSA P-256: SEQUENCE of two INTEGERs of at most 33 bytes
CMS_OVERHEAD = 2048  # bytes of the CMS container besides the certificates (signed attributes, signature)
UNREADABLE, UNSIGNED = "unreadable", "unsigned"


class PortSigner(signers.Signer):
    """A pyHanko signer whose raw signatures come from the DocumentSigner port."""

    def __init__(self, signer: DocumentSigner, key: SigningKey, idempotency_key: str) -> None:
        if not key.certificate_chain:
            raise ValueError(f"signing key {key.kid} has no certificate")
        chain = [asn1_x509.Certificate.load(der) for der in key.certificate_chain]
        super().__init__(
            signing_cert=chain[0],
            cert_registry=SimpleCertificateStore.from_certs(chain[1:]),
            signature_mechanism=SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            embed_roots=False,
        )
        self._port, self._kid, self._idempotency_key = signer, key.kid, idempotency_key
        self._public_key = x509.load_der_x509_certificate(key.certificate_chain[0]).public_key()

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm.lower() != "sha256":
            raise ValueError(f"the signer signs SHA-256 digests, not {digest_algorithm}")
        if dry_run:  # pyHanko sizes the signature container with a placeholder
            return bytes(MAX_DER_SIGNATURE)
        digest = hashlib.sha256(data).digest()
        signature = await self._port.sign_digest(digest, kid=self._kid, idempotency_key=self._idempotency_key)
        self._check(signature, digest)
        return signature

    def _check(self, signature: bytes, digest: bytes) -> None:
        if not isinstance(self._public_key, ec.EllipticCurvePublicKey):
            raise ValueError(f"signing key {self._kid} is not an EC key")
        try:
            self._public_key.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        except InvalidSignature as exc:
            raise SignerUnavailable(f"the signer's signature does not verify with key {self._kid}") from exc


async def sign_pdf(
    pdf: bytes,
    signer: DocumentSigner,
    key: SigningKey,
    *,
    reason: str,
    location: str,
    idempotency_key: str,
    field_name: str = "Signature1",
) -> bytes:
    """The PDF with an invisible PAdES B-B signature by `key` appended as an incremental update."""
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = signers.PdfSigner(
        metadata, PortSigner(signer, key, idempotency_key), new_field_spec=fields.SigFieldSpec(field_name)
    )
    output = await pdf_signer.async_sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)), output=BytesIO(), bytes_reserved=_reserved(key)
    )
    return output.getvalue()


def _reserved(key: SigningKey) -> int:
    """Room for the CMS container, in hex digits: the certificates plus the rest (about 600 bytes
    with ECDSA) and a wide margin. Given, pyHanko skips sizing by a trial signature, which costs as
    much CPU as the real one."""
    return 2 * (sum(len(der) for der in key.certificate_chain) + CMS_OVERHEAD)


@dataclass(frozen=True, slots=True)
class PdfSignatureReport:
    """What a validator found about the last signature of a PDF."""

    signed: bool
    intact: bool = False  # the signed bytes are unchanged
    valid: bool = False  # intact, and the signature verifies with the certificate's key
    trusted: bool = False  # the certificate chains to one of the trust roots
    covers_whole_document: bool = False  # nothing was appended after the signature
    kid: str | None = None  # derived from the certificate's key as the hub derives kids
    subject: str | None = None  # the signing certificate's subject (RFC 4514)
    field_name: str | None = None
    signed_at: datetime | None = None  # the signer's claimed time (/M): not a trusted timestamp
    problem: str | None = None  # UNREADABLE or UNSIGNED when nothing could be validated

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.covers_whole_document


def validate_pdf(pdf: bytes, trust_roots: list[bytes], *, at: datetime | None = None) -> PdfSignatureReport:
    """Validate the last signature offline against `trust_roots` (DER CA certificates), at `at`
    (default now). Runs its own event loop: from async code, use `async_validate_pdf`."""
    found = _last_signature(pdf)
    if isinstance(found, PdfSignatureReport):
        return found
    try:
        status = validate_pdf_signature(found, _context(trust_roots, at))
    except (PdfError, ValueError) as exc:
        return PdfSignatureReport(True, field_name=found.field_name, problem=f"{UNREADABLE}: {type(exc).__name__}")
    return _report(found, status)


async def async_validate_pdf(pdf: bytes, trust_roots: list[bytes], *, at: datetime | None = None) -> PdfSignatureReport:
    """`validate_pdf` for code that runs on an event loop."""
    found = _last_signature(pdf)
    if isinstance(found, PdfSignatureReport):
        return found
    try:
        status = await async_validate_pdf_signature(found, _context(trust_roots, at))
    except (PdfError, ValueError) as exc:
        return PdfSignatureReport(True, field_name=found.field_name, problem=f"{UNREADABLE}: {type(exc).__name__}")
    return _report(found, status)


def _last_signature(pdf: bytes) -> EmbeddedPdfSignature | PdfSignatureReport:
    try:
        signatures = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return PdfSignatureReport(False, problem=f"{UNREADABLE}: {type(exc).__name__}")
    return signatures[-1] if signatures else PdfSignatureReport(False, problem=UNSIGNED)


def _context(trust_roots: list[bytes], at: datetime | None) -> ValidationContext:
    roots = [asn1_x509.Certificate.load(der) for der in trust_roots]
    return ValidationContext(trust_roots=roots, allow_fetching=False, moment=at)


def _report(signature: EmbeddedPdfSignature, status: PdfSignatureStatus) -> PdfSignatureReport:
    certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
    public_key = certificate.public_key()
    kid = key_id(public_key) if isinstance(public_key, ec.EllipticCurvePublicKey) else None
    return PdfSignatureReport(
        signed=True,
        intact=status.intact,
        valid=status.intact and status.valid,
        trusted=status.trusted,
        covers_whole_document=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        kid=kid,
        subject=certificate.subject.rfc4514_string(),
        field_name=signature.field_name,
        signed_at=signature.self_reported_timestamp,
    )
