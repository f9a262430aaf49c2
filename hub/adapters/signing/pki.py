"""A development PKI in a directory: a root CA, document-signing keys, and their rotation.

For local runs, tests and demos only: the private keys lie unencrypted on disk (mode 0600, in a
0700 directory). In production the keys stay in a PSrE's HSM and the hub reaches them through the
remote signer; nothing here is used then.

    <directory>/ca.pem                 root CA certificate (ECDSA P-256, self-signed, ~10 years)
    <directory>/ca.key.pem             its private key (PKCS#8)
    <directory>/keys/<kid>.key.pem     a document-signing private key (PKCS#8)
    <directory>/keys/<kid>.cert.pem    its certificate, issued by the CA (~2 years)
    <directory>/keys.json              every signing key: kid, not_before, not_after, current

keys.json is the source of truth for which key signs: exactly one key is `current` and has
`not_after` null. `rotate` makes a new key current and bounds the previous one with
`not_after = now + overlap`: from that instant on, the old key refuses to sign and verifiers refuse
anything it dates later, while everything it signed before stays valid. The index is rewritten
atomically (write, then rename), after the new key's files exist.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from hub.documents.trust import key_id
from hub.service.ports import SigningKey

DEFAULT_ISSUER = "Dukcapil development CA (hub)"
CA_YEARS = 10
KEY_YEARS = 2
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, RFC 9336
INDEX = "keys.json"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One entry of keys.json."""

    kid: str
    not_before: datetime
    not_after: datetime | None
    current: bool


def ensure_keys(directory: Path, *, issuer: str = DEFAULT_ISSUER, now: datetime | None = None) -> bool:
    """Create the CA and a first signing key if they are missing; True if anything was created."""
    now = _second(now or datetime.now(UTC))
    created = _ensure_directory(directory)
    if not (directory / "ca.pem").exists():
        _write_ca(directory, issuer, now)
        created = True
    if not any(record.current for record in read_index(directory)):
        _add_current_key(directory, now, overlap=timedelta(0))
        created = True
    return created


def rotate(directory: Path, *, now: datetime, overlap: timedelta = timedelta(0)) -> str:
    """Make a new signing key current; the previous one signs until `now + overlap`. Returns the new kid.
    The CA must exist (`ensure_keys` first)."""
    return _add_current_key(directory, _second(now), overlap)


def read_index(directory: Path) -> list[KeyRecord]:
    """The entries of keys.json (empty if it does not exist yet). Raises OSError / ValueError."""
    path = directory / INDEX
    if not path.exists():
        return []
    entries = json.loads(path.read_text(encoding="utf-8"))["keys"]
    return [
        KeyRecord(
            e["kid"],
            datetime.fromisoformat(e["not_before"]),
            datetime.fromisoformat(e["not_after"]) if e["not_after"] else None,
            bool(e["current"]),
        )
        for e in entries
    ]


def load_keys(directory: Path) -> tuple[SigningKey, ...]:
    """Every signing key with its chain (signing certificate DER, CA certificate DER)."""
    ca = ca_certificate(directory)
    return tuple(
        SigningKey(r.kid, (_certificate_der(directory, r.kid), ca), r.not_before, r.not_after)
        for r in read_index(directory)
    )


def ca_certificate(directory: Path) -> bytes:
    """The root CA certificate (DER): the trust root validators are given."""
    return _load_certificate(directory / "ca.pem").public_bytes(serialization.Encoding.DER)


def load_private_key(directory: Path, kid: str) -> ec.EllipticCurvePrivateKey:
    """The private key of `kid`. Raises OSError / ValueError if it cannot be read."""
    return _load_ec_key(directory / "keys" / f"{kid}.key.pem")


def _add_current_key(directory: Path, now: datetime, overlap: timedelta) -> str:
    ca_key = _load_ec_key(directory / "ca.key.pem")
    ca_cert = _load_certificate(directory / "ca.pem")
    key = ec.generate_private_key(ec.SECP256R1())
    kid = key_id(key.public_key())
    _ensure_directory(directory / "keys")
    _write_private_key(directory / "keys" / f"{kid}.key.pem", key)
    _write_certificate(directory / "keys" / f"{kid}.cert.pem", _signing_certificate(key, kid, ca_cert, ca_key, now))
    retired = [KeyRecord(r.kid, r.not_before, r.not_after or now + overlap, False) for r in read_index(directory)]
    _write_index(directory, [*retired, KeyRecord(kid, now, None, True)])
    return kid


def _write_ca(directory: Path, issuer: str, now: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Dukcapil hub (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, issuer),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        certificate_builder(name, name, key.public_key(), now, now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private_key(directory / "ca.key.pem", key)
    _write_certificate(directory / "ca.pem", certificate)


def _signing_certificate(
    key: ec.EllipticCurvePrivateKey,
    kid: str,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: datetime,
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Dukcapil hub (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Document signing key {kid}"),
        ]
    )
    return (
        certificate_builder(subject, ca_cert.subject, key.public_key(), now, now + timedelta(days=365 * KEY_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        # documentSigning says what the key is for; emailProtection is what older PDF readers look for.
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def certificate_builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, start: datetime, end: datetime
) -> x509.CertificateBuilder:
    """A certificate of `subject` by `issuer`, valid from `start` to `end`, with a random serial."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _ensure_directory(path: Path) -> bool:
    if path.is_dir():
        return False
    path.mkdir(mode=0o700, parents=True)
    path.chmod(0o700)  # mkdir's mode is filtered by the umask
    return True


def _write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(pem)


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _write_index(directory: Path, records: list[KeyRecord]) -> None:
    entries = [
        {
            "kid": r.kid,
            "not_before": r.not_before.isoformat(),
            "not_after": r.not_after.isoformat() if r.not_after else None,
            "current": r.current,
        }
        for r in records
    ]
    temporary = directory / f".{INDEX}.tmp"
    temporary.write_text(json.dumps({"keys": entries}, indent=2) + "\n", encoding="utf-8")
    temporary.replace(directory / INDEX)


def _load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path.name} is not an EC key")
    return key


def _load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _certificate_der(directory: Path, kid: str) -> bytes:
    return _load_certificate(directory / "keys" / f"{kid}.cert.pem").public_bytes(serialization.Encoding.DER)


def _second(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)
