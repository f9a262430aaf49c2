"""The development PKI (hub/adapters/signing/pki.py) and LocalSigner, the DocumentSigner over it."""

from __future__ import annotations

import hashlib
import json
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from hub.adapters.signing import pki
from hub.adapters.signing.local import LocalSigner
from hub.errors import PermanentError, SignerUnavailable

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def digest() -> bytes:
    return hashlib.sha256(uuid.uuid4().bytes).digest()


def at(moment: datetime):
    return lambda: moment


def certificate(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def verifies(signing_certificate: bytes, signature: bytes, signed: bytes) -> bool:
    key = certificate(signing_certificate).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        key.verify(signature, signed, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "pki"
    assert pki.ensure_keys(path, now=T0)
    return path


def test_ensure_keys_creates_a_ca_and_one_current_signing_key_with_private_files(directory: Path):
    (record,) = pki.read_index(directory)
    private = [directory / "ca.key.pem", directory / "keys" / f"{record.kid}.key.pem"]

    assert record.current and record.not_after is None and record.not_before == T0
    assert (directory / "ca.pem").exists() and (directory / "keys" / f"{record.kid}.cert.pem").exists()
    assert [stat.S_IMODE(path.stat().st_mode) for path in private] == [0o600, 0o600]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_ensure_keys_a_second_time_creates_nothing(directory: Path):
    before = {path: path.read_bytes() for path in directory.rglob("*") if path.is_file()}

    assert pki.ensure_keys(directory, now=T0 + timedelta(days=1)) is False
    assert {path: path.read_bytes() for path in directory.rglob("*") if path.is_file()} == before


def test_the_signing_certificate_is_issued_by_the_ca_for_document_signing(directory: Path):
    (key,) = pki.load_keys(directory)
    signing, ca = (certificate(der) for der in key.certificate_chain)

    signing.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    usage = signing.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert pki.DOCUMENT_SIGNING in signing.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert key.certificate_chain[1] == pki.ca_certificate(directory)
    assert ca.not_valid_after_utc - T0 > timedelta(days=9 * 365) and signing.not_valid_after_utc > T0 + timedelta(
        days=700
    )


def test_rotate_makes_a_new_key_current_and_bounds_the_old_one(directory: Path):
    (old,) = pki.read_index(directory)

    new_kid = pki.rotate(directory, now=T0 + timedelta(days=30), overlap=timedelta(hours=2))

    records = {record.kid: record for record in pki.read_index(directory)}
    assert new_kid != old.kid and set(records) == {old.kid, new_kid}
    assert records[new_kid].current and records[new_kid].not_after is None
    assert records[old.kid].not_after == T0 + timedelta(days=30, hours=2) and not records[old.kid].current
    assert stat.S_IMODE((directory / "keys" / f"{new_kid}.key.pem").stat().st_mode) == 0o600


async def test_a_signature_verifies_with_the_certificate_public_key(directory: Path):
    signer = LocalSigner(directory, clock=at(T0))
    key = await signer.current_key()
    signed = digest()

    signature = await signer.sign_digest(signed, kid=key.kid, idempotency_key=uuid.uuid4().hex)

    assert verifies(key.certificate_chain[0], signature, signed)
    assert not verifies(key.certificate_chain[0], signature, digest())


async def test_the_same_idempotency_key_and_digest_return_the_same_signature(directory: Path):
    signer = LocalSigner(directory, clock=at(T0))
    kid, signed, request = (await signer.current_key()).kid, digest(), uuid.uuid4().hex

    first = await signer.sign_digest(signed, kid=kid, idempotency_key=request)
    again = await signer.sign_digest(signed, kid=kid, idempotency_key=request)
    other = await signer.sign_digest(signed, kid=kid, idempotency_key=uuid.uuid4().hex)

    assert again == first
    assert other != first  # ECDSA is randomised: only the record makes the repeat identical


async def test_an_idempotency_key_reused_for_another_digest_is_refused(directory: Path):
    signer = LocalSigner(directory, clock=at(T0))
    kid, request = (await signer.current_key()).kid, uuid.uuid4().hex
    await signer.sign_digest(digest(), kid=kid, idempotency_key=request)

    with pytest.raises(PermanentError) as refused:
        await signer.sign_digest(digest(), kid=kid, idempotency_key=request)
    assert refused.value.code.code == "IDEMPOTENCY-KEY-REUSED"


async def test_an_unknown_kid_is_refused(directory: Path):
    signer = LocalSigner(directory, clock=at(T0))

    with pytest.raises(PermanentError) as refused:
        await signer.sign_digest(digest(), kid="not-a-key", idempotency_key=uuid.uuid4().hex)
    assert refused.value.code.code == "SIGNING-KEY-UNKNOWN"


async def test_a_rotated_key_signs_during_the_overlap_and_is_refused_after(directory: Path):
    old = (await LocalSigner(directory).published_keys())[0].kid
    rotated_at = T0 + timedelta(days=30)
    new = pki.rotate(directory, now=rotated_at, overlap=timedelta(hours=1))

    during = LocalSigner(directory, clock=at(rotated_at + timedelta(minutes=59)))
    after = LocalSigner(directory, clock=at(rotated_at + timedelta(hours=1)))

    assert (await during.current_key()).kid == new
    await during.sign_digest(digest(), kid=old, idempotency_key=uuid.uuid4().hex)
    with pytest.raises(PermanentError) as refused:
        await after.sign_digest(digest(), kid=old, idempotency_key=uuid.uuid4().hex)
    assert refused.value.code.code == "SIGNING-KEY-RETIRED"


async def test_a_running_signer_sees_a_rotation_made_on_disk(directory: Path):
    signer = LocalSigner(directory, clock=at(T0 + timedelta(days=1)))
    before = (await signer.current_key()).kid

    new = pki.rotate(directory, now=T0 + timedelta(days=1))

    assert before != new and (await signer.current_key()).kid == new
    assert {key.kid for key in await signer.published_keys()} == {before, new}


async def test_a_digest_that_is_not_sha256_sized_is_refused(directory: Path):
    signer = LocalSigner(directory, clock=at(T0))
    kid = (await signer.current_key()).kid

    with pytest.raises(PermanentError) as refused:
        await signer.sign_digest(b"short", kid=kid, idempotency_key=uuid.uuid4().hex)
    assert refused.value.code.code == "SIGNING-DIGEST-INVALID"


async def test_missing_key_files_make_the_signer_unavailable(directory: Path):
    signer = LocalSigner(directory, clock=at(T0))
    kid = (await signer.current_key()).kid
    (directory / "keys" / f"{kid}.key.pem").unlink()

    with pytest.raises(SignerUnavailable):
        await signer.sign_digest(digest(), kid=kid, idempotency_key=uuid.uuid4().hex)


async def test_a_corrupt_index_makes_the_signer_unavailable(directory: Path):
    (directory / "keys.json").write_text(json.dumps({"keys": [{"kid": 1}]}))

    with pytest.raises(SignerUnavailable):
        await LocalSigner(directory).current_key()


async def test_no_directory_makes_the_signer_unavailable(tmp_path: Path):
    with pytest.raises(SignerUnavailable):
        await LocalSigner(tmp_path / "absent").published_keys()
