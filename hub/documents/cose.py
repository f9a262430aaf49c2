"""COSE_Sign1 (RFC 9052) made through the DocumentSigner port, and checked with python-cwt.

Shared by the QR payload (qr.py) and the status list (status_list.py); both are CWTs (RFC 8392):
a CBOR map of claims as the payload of a COSE_Sign1 with alg ES256 and the key's id in the
protected header.

Why signing is done here rather than by a COSE library: the port signs digests only (the key may
sit in a remote PSrE's HSM), so we build the Sig_structure ["Signature1", protected, b"", payload]
ourselves, have its SHA-256 signed, and turn the DER signature the port returns into the raw
r || s (2 × 32 bytes) that COSE carries. Verification, on the other hand, goes through python-cwt,
an implementation independent of this code, so a mistake here cannot hide itself.

Parsing untrusted tokens: `parse_sign1` accepts exactly one tagged COSE_Sign1 with no trailing
bytes, a protected header of alg ES256, a text kid and at most typ, an empty unprotected
header, and a payload that is a CBOR map; anything else raises `MalformedToken`. It does not
check the signature: callers look the key up by kid and iat first.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cwt import COSE, COSEKey, DecodeError, VerifyError

from hub.errors import SignerUnavailable
from hub.service.ports import DocumentSigner

ES256 = -7
ALG, KID, TYP = 1, 4, 16  # COSE header labels
SIGN1_TAG = 18
COORDINATE_SIZE = 32  # P-256
CBOR_ERRORS = (cbor2.CBORError, ValueError, TypeError, LookupError, OverflowError, RecursionError, EOFError)


class MalformedToken(ValueError):
    """Not a COSE_Sign1 this module would make."""


@dataclass(frozen=True, slots=True)
class Sign1:
    """A structurally valid COSE_Sign1 whose signature is not checked yet."""

    token: bytes
    kid: str
    protected: dict[int, Any]
    claims: dict[Any, Any]


async def sign1(
    claims: dict[Any, Any], *, signer: DocumentSigner, kid: str, idempotency_key: str, typ: str | None = None
) -> bytes:
    """The tagged COSE_Sign1 of `claims`, signed through the port with key `kid`."""
    header: dict[int, Any] = {ALG: ES256, KID: kid.encode("utf-8")}
    if typ is not None:
        header[TYP] = typ
    protected = cbor2.dumps(header, canonical=True)
    payload = cbor2.dumps(claims, canonical=True)
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    digest = hashlib.sha256(to_be_signed).digest()
    der = await signer.sign_digest(digest, kid=kid, idempotency_key=idempotency_key)
    return cbor2.dumps(cbor2.CBORTag(SIGN1_TAG, [protected, {}, payload, raw_signature(der)]))


def raw_signature(der: bytes) -> bytes:
    """COSE's r || s form of a DER ECDSA signature."""
    try:
        r, s = utils.decode_dss_signature(der)
        return r.to_bytes(COORDINATE_SIZE, "big") + s.to_bytes(COORDINATE_SIZE, "big")
    except (ValueError, OverflowError) as exc:
        raise SignerUnavailable("the signer returned a malformed ECDSA signature") from exc


def parse_sign1(token: bytes) -> Sign1:
    """The headers and claims of a token, unverified. Raises MalformedToken."""
    message = _loads_exactly(token)
    if not isinstance(message, cbor2.CBORTag) or message.tag != SIGN1_TAG:
        raise MalformedToken("not a tagged COSE_Sign1")
    parts = message.value
    if not isinstance(parts, list) or len(parts) != 4 or not all(isinstance(parts[i], bytes) for i in (0, 2, 3)):
        raise MalformedToken("not a COSE_Sign1 array")
    protected, claims = _loads_exactly(parts[0]), _loads_exactly(parts[2])
    if not isinstance(protected, dict) or protected.get(ALG) != ES256 or not isinstance(protected.get(KID), bytes):
        raise MalformedToken("the protected header must name alg ES256 and a kid")
    if set(protected) - {ALG, KID, TYP}:  # e.g. crit: parameters a verifier would have to understand
        raise MalformedToken("unexpected header parameters")
    if not isinstance(parts[1], dict) or parts[1] or not isinstance(claims, dict):
        raise MalformedToken("unexpected unprotected header or a payload that is not a claims map")
    try:
        kid = protected[KID].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedToken("the kid is not text") from exc
    return Sign1(token, kid, protected, claims)


def signature_verifies(message: Sign1, public_key: ec.EllipticCurvePublicKey) -> bool:
    """Whether the token's signature verifies with `public_key`, as python-cwt judges it."""
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = COSEKey.from_pem(pem, alg="ES256", kid=message.kid.encode("utf-8"))
    try:
        COSE.new(verify_kid=True).decode(message.token, key)
    except (VerifyError, DecodeError, ValueError):
        return False
    return True


def _loads_exactly(data: bytes) -> Any:
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except CBOR_ERRORS as exc:
        raise MalformedToken("not CBOR") from exc
    if stream.tell() != len(data):
        raise MalformedToken("trailing bytes after the CBOR item")
    return value
