"""The local development PKI of the hub's mutual-TLS calls to SIAK and the signing service.

For local runs, tests and demos only: the private keys lie unencrypted on disk (mode 0600, in 0700
directories under the git-ignored .local/). In production the registry's and the signer's
operators issue the certificates and the hub's client certificate is mounted as a Secret.

    <ca dir>/ca.crt, ca.key          the development CA (ECDSA P-256, ~10 years); ca.crt is
                                     Settings.service_ca_file, the rest lies next to it
    <ca dir>/server.crt, server.key  the reference servers' certificate (`hub siak serve`,
                                     `hub signer serve`): localhost, 127.0.0.1 and ::1; serverAuth
    Settings.service_client_cert/key the hub's client certificate: CN=hub; clientAuth

`ensure_service_pki` makes what is missing and is idempotent: a CA that is missing (or whose key
is) is made afresh, and every certificate with it; a certificate that is missing, not issued by
the current CA, or within 30 days of its end is issued again from the CA; the rest is kept. Two
processes starting together (the SIAK and the signer reference servers, tests) make one PKI: the
check-and-create runs under an exclusive lock (flock on <ca dir>/.lock), and every file is written
under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import secrets
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from hub.adapters.signing.pki import certificate_builder
from hub.config import Settings

CA_NAME = "Hub services development CA"
CLIENT_NAME = "hub"  # the CN of the hub's client certificate (what a server may check)
SERVER_NAME = "hub reference services (development)"
SERVER_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_BEFORE = timedelta(days=30)
ORGANISATION = "Dukcapil hub (development)"


@dataclass(frozen=True, slots=True)
class ServicePki:
    """Where the development PKI's files are."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    @classmethod
    def of(cls, settings: Settings) -> ServicePki:
        """The files the settings name (CA, client), the CA's key and the server's next to the CA."""
        folder = settings.service_ca_file.parent
        return cls(
            settings.service_ca_file,
            folder / "ca.key",
            folder / "server.crt",
            folder / "server.key",
            settings.service_client_cert,
            settings.service_client_key,
        )

    def resolved(self) -> ServicePki:
        """The same files as absolute paths (for another process, which may have another directory)."""
        return ServicePki(*(path.resolve() for path in astuple(self)))

    @classmethod
    def at(cls, folder: Path) -> ServicePki:
        """Every file in one folder, under the default names."""
        names = ("ca.crt", "ca.key", "server.crt", "server.key", "hub-client.crt", "hub-client.key")
        return cls(*(folder / name for name in names))


def ensure_service_pki(pki: ServicePki, *, now: datetime | None = None) -> list[str]:
    """Make what is missing or due (see the module docstring); the names of the files written."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    for folder in {pki.ca_cert.parent, pki.server_cert.parent, pki.client_cert.parent, pki.client_key.parent}:
        _folder(folder)
    with _locked(pki.ca_cert.parent / ".lock"):
        written: list[str] = []
        ca = _current_ca(pki, now)
        new_ca = ca is None
        if ca is None:
            ca = _write_ca(pki, now)
            written += [pki.ca_cert.name, pki.ca_key.name]
        for cert, key, server in ((pki.server_cert, pki.server_key, True), (pki.client_cert, pki.client_key, False)):
            if new_ca or _due(cert, key, ca[0], now):
                _write_leaf(cert, key, ca, now, SERVER_NAME if server else CLIENT_NAME, server=server)
                written += [cert.name, key.name]
        return written


def issue_client(pki: ServicePki, name: str, cert: Path, key: Path, *, now: datetime | None = None) -> None:
    """A client certificate for another common name from the CA of `pki` (which must exist): a second
    client, or, in tests, a client a server that checks names must refuse."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with _locked(pki.ca_cert.parent / ".lock"):
        ca = _current_ca(pki, now)
    if ca is None:
        raise ValueError(f"no usable CA at {pki.ca_cert} (ensure_service_pki first)")
    _write_leaf(cert, key, ca, now, name, server=False)


def _current_ca(pki: ServicePki, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The CA, if its certificate and key are there, belong together and are not due."""
    try:
        certificate = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        return None
    return None if certificate.not_valid_after_utc - RENEW_BEFORE < now else (certificate, key)


def _due(cert: Path, key: Path, ca: x509.Certificate, now: datetime) -> bool:
    """True unless `cert` is readable, issued by `ca`, not near its end, and `key` is its key."""
    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
        certificate.verify_directly_issued_by(ca)
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return True
    return private.public_key() != certificate.public_key() or certificate.not_valid_after_utc - RENEW_BEFORE < now


def _write_ca(pki: ServicePki, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(CA_NAME)
    certificate = (
        _builder(name, name, key.public_key(), now, CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(pki.ca_key, _private_pem(key), 0o600)  # the key first: a CA certificate without its key is remade
    _write(pki.ca_cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return certificate, key


def _write_leaf(
    cert: Path,
    key_path: Path,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    now: datetime,
    name: str,
    *,
    server: bool,
) -> None:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    usage: ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(name), ca_cert.subject, key.public_key(), now, LEAF_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(_hosts(SERVER_HOSTS)), critical=False)
    _write(key_path, _private_pem(key), 0o600)
    _write(cert, builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), 0o644)


def _hosts(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime, days: int
) -> x509.CertificateBuilder:
    # valid from a little before now: clock skew between the machines of a test
    return certificate_builder(subject, issuer, public_key, now - timedelta(minutes=5), now + timedelta(days=days))


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _folder(path: Path) -> None:
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released when the descriptor closes, also if the process dies
        yield
    finally:
        os.close(descriptor)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write `data` under a temporary name with `mode` from the start, then rename it into place."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
