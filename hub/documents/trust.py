"""The trust list: the document-signing keys a verifier accepts, and when each one may have signed.

A verifier (a bank clerk's app, a school, a police officer's phone) checks a QR payload or a
status list offline. It needs, for the `kid` in the token, the public key and the period in which
that key was allowed to sign. The hub publishes this list as JSON (GET /keys) and verifiers keep a
copy as a file:

    {
      "issuer": "Dukcapil development CA (hub)",       who vouches for the keys (the CA's name)
      "keys": [
        {
          "kid": "q3Hv0Ue8Nns",                          key id, as in the COSE header / PDF
          "alg": "ES256",                                ECDSA P-256 with SHA-256, the only one
          "x5c": ["MIIB...", "MIIB..."],                 base64 (not url-safe) DER certificates:
                                                         the signing certificate first, its CA last
          "not_before": "2026-01-01T00:00:00+00:00",     the key signs from this instant ...
          "not_after": "2026-07-01T00:00:00+00:00"       ... until this one; null: it still signs
        }
      ]
    }

A token is accepted when its kid is listed and its issue time (`iat`) falls inside the key's
[not_before, not_after] *and* inside its certificate's validity. A rotated key therefore keeps
verifying what it signed while it was current, and cannot vouch for anything dated later.

`kid` is derived from the key itself (`key_id`): the first 8 bytes of the SHA-256 of the
SubjectPublicKeyInfo, base64url without padding (11 characters, short enough for a QR).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.service.ports import SigningKey

ALGORITHM = "ES256"
UNKNOWN_KEY = "unknown-key"
KEY_NOT_VALID = "key-not-valid-at-issue-time"


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The kid of a key: base64url(SHA-256(SubjectPublicKeyInfo DER)[:8]), unpadded."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(spki).digest()[:8]).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One key of the list, with its certificate chain (DER, signing certificate first)."""

    kid: str
    public_key: ec.EllipticCurvePublicKey
    chain: tuple[bytes, ...]
    not_before: datetime
    not_after: datetime | None
    certificate_not_before: datetime
    certificate_not_after: datetime

    def signs_at(self, at: datetime) -> bool:
        """Whether a signature dated `at` falls in the key's period and its certificate's validity.
        Token times have whole seconds, so the start of the period is compared to the second."""
        start = max(self.not_before, self.certificate_not_before).replace(microsecond=0)
        end = self.certificate_not_after if self.not_after is None else min(self.not_after, self.certificate_not_after)
        return start <= at <= end


@dataclass(frozen=True, slots=True)
class TrustList:
    """The keys verifiers accept, by kid."""

    issuer: str
    keys: tuple[TrustedKey, ...]

    def key_for(self, kid: str, at: datetime) -> TrustedKey | str:
        """The key `kid` if it may have signed at `at`; otherwise the reason, UNKNOWN_KEY or KEY_NOT_VALID."""
        key = next((k for k in self.keys if k.kid == kid), None)
        if key is None:
            return UNKNOWN_KEY
        return key if key.signs_at(at) else KEY_NOT_VALID

    @classmethod
    def from_signing_keys(cls, keys: Iterable[SigningKey], issuer: str | None = None) -> TrustList:
        """The list of a signer's published keys; `issuer` defaults to the CA's common name."""
        trusted = tuple(_trusted(k.kid, k.certificate_chain, k.not_before, k.not_after) for k in keys)
        return cls(issuer if issuer is not None else _issuer_of(trusted), trusted)

    def to_json(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "keys": [_key_json(k) for k in self.keys]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], anchor: bytes | None = None) -> TrustList:
        """Read a published list. With `anchor` (the CA certificate, DER), every key's certificate
        must have been issued by it. Raises ValueError on anything malformed."""
        try:
            keys = tuple(_key_from_json(entry) for entry in data["keys"])
            issuer = data["issuer"]
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError("not a trust list") from exc
        if not isinstance(issuer, str):
            raise ValueError("not a trust list: issuer")
        if anchor is not None:
            _check_issued_by(keys, anchor)
        return cls(issuer, keys)


def _trusted(kid: str, chain: tuple[bytes, ...], not_before: datetime, not_after: datetime | None) -> TrustedKey:
    if not chain:
        raise ValueError(f"key {kid} has no certificate")
    certificate = x509.load_der_x509_certificate(chain[0])
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError(f"key {kid} is not an ECDSA P-256 key")
    return TrustedKey(
        kid,
        public_key,
        tuple(chain),
        not_before,
        not_after,
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
    )


def _issuer_of(keys: tuple[TrustedKey, ...]) -> str:
    if not keys:
        return ""
    names = x509.load_der_x509_certificate(keys[0].chain[-1]).subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _key_json(key: TrustedKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": ALGORITHM,
        "x5c": [base64.b64encode(der).decode("ascii") for der in key.chain],
        "not_before": key.not_before.isoformat(),
        "not_after": key.not_after.isoformat() if key.not_after is not None else None,
    }


def _key_from_json(entry: Mapping[str, Any]) -> TrustedKey:
    if entry["alg"] != ALGORITHM or not isinstance(entry["kid"], str) or not isinstance(entry["x5c"], list):
        raise ValueError("unsupported key entry")
    chain = tuple(base64.b64decode(der, validate=True) for der in entry["x5c"])
    not_after = _instant(entry["not_after"]) if entry["not_after"] is not None else None
    return _trusted(entry["kid"], chain, _instant(entry["not_before"]), not_after)


def _instant(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError("a time must be an ISO 8601 string")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a time must have an offset")
    return value


def _check_issued_by(keys: tuple[TrustedKey, ...], anchor: bytes) -> None:
    root = x509.load_der_x509_certificate(anchor)
    for key in keys:
        try:
            x509.load_der_x509_certificate(key.chain[0]).verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise ValueError(f"key {key.kid} is not certified by the trust anchor") from exc
