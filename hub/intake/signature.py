"""Signed notifications: who sent a record, checked before anything else reads it (issue #9).

A hospital signs the exact bytes of each Kafka record value and puts the signature in the record
header `hub-signature` (ASCII): a detached JWS with an unencoded payload (RFC 7797),

    BASE64URL(protected header) || '..' || BASE64URL(signature)

with the protected header {"alg": "ES256", "kid": <key id>, "b64": false, "crit": ["b64"]}. The
signing input is ASCII(BASE64URL(protected header)) || '.' || the record's bytes, unchanged: no
re-serialisation of the JSON, so what is verified is exactly what the hub then reads.

Only ES256 (ECDSA on P-256 with SHA-256) is accepted, whatever the header says:
- one algorithm leaves nothing to confuse: the header's `alg` never chooses how to verify, and a
  key is only ever used as an EC P-256 public key (no HS256 keyed with a public key, no `none`);
- ES256 is in every JOSE library (Nimbus and jose4j for Java, jose for Node, System.IdentityModel
  for .NET, firebase/php-jwt and web-token for PHP) and in the standard libraries themselves
  (Java's SHA256withECDSA on secp256r1, .NET's ECDsa, Node's crypto, OpenSSL), so any SIMRS that
  already talks OAuth to SATUSEHAT can sign without new infrastructure; keys and signatures are
  small (a 64-byte signature in an 86-character header);
- JOSE's ES256 signature is the raw 64 bytes r||s (RFC 7518 §3.4). Java and OpenSSL produce DER by
  default: such a signature is refused as SIGNATURE-INVALID (convert it, or use a JOSE library).

`judge` is the whole decision, pure: the caller reads the topic's hospital and the key named by
the header's kid (`parse`), and the sender as the bundle names it, then asks.

Keys for a hospital: `new_key` makes a pair, `kid_for` names the public half, and
`public_jwk_from_pem` reads a public key an integrator hands over (PEM or JWK), refusing private
material and other curves.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from hub.domain import codes
from hub.domain.codes import Code
from hub.domain.values import Hospital, HospitalKey
from hub.errors import OperatorError

HEADER = "hub-signature"
ALGORITHM = "ES256"
CURVE = "P-256"
MAX_HEADER_BYTES = 640  # ours are under 300 (a 128-character kid at most); bounded before decoding
MAX_KID_CHARS = 128
SIGNATURE_BYTES = 64  # r || s, 32 bytes each
MAX_KEY_FILE_BYTES = 16 * 1024
_COMPACT = re.compile(rb"([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]+)")  # an empty payload part: detached
_KID = re.compile(rf"[\x21-\x7e]{{1,{MAX_KID_CHARS}}}")  # printable ASCII: safe in logs and headers
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y")
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})  # EC, RSA and symmetric secrets


class _Registry(jws.JWSRegistry):
    """ES256 only. The payload bound is the hub's own (IntakeLimits), checked elsewhere: the
    library's default (128 kB) must not refuse a record the intake would read."""

    max_payload_length = 1 << 30
    max_header_length = MAX_HEADER_BYTES


_REGISTRY = _Registry(algorithms=[ALGORITHM], strict_check_header=False)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A well-formed `hub-signature` header: the key it names and the compact JWS as received."""

    kid: str
    alg: str
    value: str


def sign(raw: bytes, private_key: bytes | str, kid: str) -> str:
    """The `hub-signature` header value for a record whose value is `raw`. `private_key` is the
    PEM of an EC P-256 private key (as `new_key` makes it)."""
    if not _KID.fullmatch(kid):
        raise OperatorError(f"a key id is 1 to {MAX_KID_CHARS} printable ASCII characters without spaces")
    key = _private_key(private_key)
    protected = {"alg": ALGORITHM, "kid": kid, "b64": False, "crit": ["b64"]}
    header = _b64(json.dumps(protected, separators=(",", ":")).encode("ascii"))
    # The library's ES256 over the signing input built here: its serialize_compact decodes the
    # payload as UTF-8 (a record may be any bytes) and leaves a URL-safe payload attached.
    signature = _REGISTRY.get_alg(ALGORITHM).sign(header + b"." + raw, key)
    return (header + b".." + _b64(signature)).decode("ascii")


def parse(header_value: bytes | str | None) -> Parsed | Code:
    """The header's kid and compact value, or SIGNATURE_MISSING (absent or empty) or
    SIGNATURE_INVALID (anything but a detached ES256 JWS with b64=false marked critical)."""
    if header_value is None or len(header_value) == 0:
        return codes.SIGNATURE_MISSING
    if len(header_value) > MAX_HEADER_BYTES:
        return codes.SIGNATURE_INVALID
    if isinstance(header_value, str) and not header_value.isascii():
        return codes.SIGNATURE_INVALID
    value = header_value.encode("ascii") if isinstance(header_value, str) else bytes(header_value)
    match = _COMPACT.fullmatch(value)  # ASCII only: base64url characters and the two dots
    if match is None:
        return codes.SIGNATURE_INVALID
    protected, signature = _decoded(match.group(1)), _decoded(match.group(2))
    if protected is None or signature is None or len(signature) != SIGNATURE_BYTES:
        return codes.SIGNATURE_INVALID
    kid = _protected_kid(protected)
    if kid is None:
        return codes.SIGNATURE_INVALID
    return Parsed(kid, ALGORITHM, value.decode("ascii"))


def verify(raw: bytes, parsed: Parsed, public_jwk: dict) -> bool:
    """Whether the signature holds over exactly `raw` under the EC P-256 public key. False as well
    when the key is not one (keys are checked when registered: see `public_jwk_from_pem`)."""
    try:
        key = _public_key(public_jwk)
        jws.deserialize_compact(parsed.value, key, registry=_REGISTRY, payload=raw)
    except (JoseError, OperatorError, ValueError, TypeError):
        return False
    return True


def judge(
    raw: bytes,
    header_value: bytes | str | None,
    *,
    topic_hospital: Hospital | None,
    sender: str | None,
    key: HospitalKey | None,
    at: datetime,
) -> Code | None:
    """None when the record is trusted, else the code the hospital is answered with.

    `topic_hospital` is the hospital whose notification topic carried the record; `key` the
    registered key named by the header's kid (None when none is); `sender` the organisation id of
    MessageHeader.sender as read from the bundle (None when unreadable); `at` the time the record
    is judged at (the record's time: a replay judges with the keys valid then). In this order:
    unknown or inactive hospital, missing or malformed header, unknown key or another hospital's,
    key not valid at `at`, signature not verifying, sender other than the signer."""
    if topic_hospital is None:
        return codes.SENDER_UNKNOWN
    if not topic_hospital.active:
        return codes.SENDER_INACTIVE
    parsed = parse(header_value)
    if isinstance(parsed, Code):
        return parsed
    if key is None or key.kid != parsed.kid or key.org_id != topic_hospital.org_id:
        return codes.SIGNATURE_UNKNOWN_KEY
    if not key.valid_at(at):
        return codes.SIGNATURE_KEY_NOT_VALID
    if not verify(raw, parsed, key.jwk):
        return codes.SIGNATURE_INVALID
    if sender != topic_hospital.org_id:
        return codes.SENDER_NOT_SIGNER
    return None


def new_key() -> tuple[bytes, dict]:
    """A new signing key pair: the private key as unencrypted PKCS#8 PEM (a secret: it goes to the
    hospital, mode 600), and the public key as a JWK with only kty, crv, x and y."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, _public_members(ECKey.import_key(private.public_key()).as_dict(private=False))


def kid_for(org_id: str, public_jwk: dict) -> str:
    """The key id the hub registers a hospital's key under: the organisation id and the first 16
    characters (96 bits) of the key's RFC 7638 thumbprint, so the same key gets the same kid."""
    kid = f"{org_id}:{_public_key(public_jwk).thumbprint()[:16]}"
    if not _KID.fullmatch(kid):
        raise OperatorError(f"the organisation id makes a key id that is not 1 to {MAX_KID_CHARS} printable characters")
    return kid


def public_jwk_from_pem(pem_bytes: bytes) -> dict:
    """A hospital's public key, from a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK JSON
    document, as a JWK with only kty, crv, x and y. Private keys, other curves and other key types
    are refused with OperatorError; the message never quotes the file."""
    if len(pem_bytes) > MAX_KEY_FILE_BYTES:
        raise OperatorError("the key file is too large to be a public key")
    text = pem_bytes.strip()
    if b"PRIVATE KEY" in text:
        raise OperatorError("this is a private key: give the public key only (openssl pkey -pubout)")
    if text.startswith(b"{"):
        return _public_members(_public_key(_jwk_document(text)).as_dict(private=False))
    if not text.startswith(b"-----BEGIN PUBLIC KEY-----"):
        raise OperatorError("not a PEM public key (-----BEGIN PUBLIC KEY-----) nor a JWK (a JSON object)")
    try:
        loaded = serialization.load_pem_public_key(text)
    except (ValueError, UnsupportedAlgorithm):
        raise OperatorError("the PEM public key cannot be read") from None
    if not isinstance(loaded, ec.EllipticCurvePublicKey) or not isinstance(loaded.curve, ec.SECP256R1):
        raise OperatorError("the key must be an EC P-256 (secp256r1, prime256v1) key: ES256 is the only algorithm")
    return _public_members(ECKey.import_key(loaded).as_dict(private=False))


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _decoded(segment: bytes) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _protected_kid(protected: bytes) -> str | None:
    """The kid of a protected header that asks for ES256 over an unencoded payload, else None."""
    try:
        header = json.loads(protected, object_pairs_hook=_unique_members)
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, dict):
        return None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or header.get("b64") is not False or header.get("crit") != ["b64"]:
        return None
    return kid if isinstance(kid, str) and _KID.fullmatch(kid) else None


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose member names are unique: two readers must not see two headers."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("duplicate member in the protected header")
    return found


def _public_key(jwk: dict) -> ECKey:
    if isinstance(jwk, dict) and not _PRIVATE_MEMBERS.isdisjoint(jwk):
        raise OperatorError("this JWK holds private material (d or k): give the public key only")
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != CURVE:
        raise OperatorError("the key must be an EC P-256 JWK (kty EC, crv P-256): ES256 is the only algorithm")
    try:
        return ECKey.import_key(_public_members(jwk))
    except (JoseError, KeyError, ValueError, TypeError):
        raise OperatorError("the JWK is not a valid EC P-256 public key") from None


def _private_key(pem: bytes | str) -> ECKey:
    try:
        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise OperatorError("the signing key cannot be read: an unencrypted PEM private key is expected") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise OperatorError("the signing key must be an EC P-256 private key: ES256 is the only algorithm")
    return ECKey.import_key(key)


def _jwk_document(text: bytes) -> dict:
    try:
        document = json.loads(text)
    except ValueError:
        raise OperatorError("the JWK is not valid JSON") from None
    if isinstance(document, dict) and "keys" in document:
        raise OperatorError("this is a JWK set: give one key")
    if not isinstance(document, dict):
        raise OperatorError("a JWK is a JSON object")
    return document


def _public_members(jwk: Any) -> dict:
    return {name: jwk[name] for name in _PUBLIC_MEMBERS}
