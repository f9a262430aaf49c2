"""The revocation status list: an IETF Token Status List (draft-ietf-oauth-status-list) as a CWT.

Every document version has a slot (an index) in the list of its issuing regency and year; the QR
payload names the list's URI and the index. The list is a byte array with 2 bits per slot, slot 0
in the least significant bits of byte 0, holding the StatusCode values of hub/domain/documents.py:
0 valid, 1 invalid (revoked), 2 suspended, 3 application-specific, which the hub uses for
superseded. The array is compressed with DEFLATE in the ZLIB format (RFC 1950): a year of a large
regency (100 000 slots, almost all valid) comes to a few hundred bytes.

The token is a COSE_Sign1 (signed through the port, cose.py) whose protected header holds alg
ES256, the kid and typ 16 "application/statuslist+cwt", and whose claims are

    2      sub          the list's URI (a QR's status reference must name the same URI)
    6      iat          when it was made
    4      exp          after this instant a verifier must not use it
    65534  ttl          seconds a verifier may cache it before fetching a fresh one
    65533  status_list  {"bits": 2, "lst": <zlib-compressed byte array>}

Verifiers fetch the list while online and check documents against it offline until `exp`.
Revocation is by slot, never by signature hash (ECDSA signatures are malleable).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.documents.cose import TYP, MalformedToken, Sign1, parse_sign1, sign1, signature_verifies
from hub.documents.trust import TrustList
from hub.domain.documents import StatusCode
from hub.service.ports import DocumentSigner

TYPE = "application/statuslist+cwt"
SUB, EXP, IAT, TTL, STATUS_LIST = 2, 4, 6, 65534, 65533
BITS = 2
PER_BYTE = 8 // BITS
DEFAULT_LIFETIME = timedelta(days=1)
MAX_TOKEN = 8 * 1024 * 1024
MAX_LIST = 64 * 1024 * 1024  # bytes once inflated: 256 million slots
MALFORMED, BAD_SIGNATURE, EXPIRED, WRONG_LIST = "malformed", "bad-signature", "expired", "wrong-list"


def encode_statuses(statuses: Mapping[int, StatusCode], size: int) -> bytes:
    """The packed array of `size` slots (unlisted slots are VALID). Raises ValueError for an index
    outside [0, size)."""
    packed = bytearray((size + PER_BYTE - 1) // PER_BYTE)
    for index, code in statuses.items():
        if not 0 <= index < size:
            raise ValueError(f"slot {index} is outside a list of {size}")
        packed[index // PER_BYTE] |= StatusCode(code) << (index % PER_BYTE * BITS)
    return bytes(packed)


async def issue_status_list(
    uri: str,
    statuses: Mapping[int, StatusCode],
    size: int,
    signer: DocumentSigner,
    kid: str,
    now: datetime,
    ttl_seconds: int,
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
    idempotency_key: str | None = None,
) -> bytes:
    """The signed status list token (COSE_Sign1 bytes), valid from `now` for `lifetime`.

    Without `idempotency_key`, the key is derived from the URI, the time and the content, so a
    retry of the same list replays the same signature and a changed list is signed anew."""
    iat = int(now.timestamp())
    listed = zlib.compress(encode_statuses(statuses, size), 9)
    claims = {
        SUB: uri,
        IAT: iat,
        EXP: iat + int(lifetime.total_seconds()),
        TTL: ttl_seconds,
        STATUS_LIST: {"bits": BITS, "lst": listed},
    }
    if idempotency_key is None:
        content = hashlib.sha256(listed).hexdigest()[:16]
        idempotency_key = f"status-list {uri} {iat} {size} {content}"
    return await sign1(claims, signer=signer, kid=kid, idempotency_key=idempotency_key, typ=TYPE)


@dataclass(frozen=True, slots=True)
class StatusListCheck:
    """A verifier's verdict on a status list token; `status(idx)` once it is valid."""

    valid: bool
    reason: str | None = None
    kid: str | None = None
    uri: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    ttl_seconds: int | None = None
    packed: bytes = b""

    @property
    def size(self) -> int:
        """How many slots the list holds (a multiple of 4: the last byte is padded)."""
        return len(self.packed) * PER_BYTE

    def status(self, idx: int) -> StatusCode:
        """The status of slot `idx`. Raises ValueError on an invalid list, IndexError outside it."""
        if not self.valid:
            raise ValueError(f"the status list is not valid: {self.reason}")
        if not 0 <= idx < self.size:
            raise IndexError(f"slot {idx} is outside the list")
        return StatusCode(self.packed[idx // PER_BYTE] >> (idx % PER_BYTE * BITS) & 0b11)


def verify_status_list(token: bytes, trust: TrustList, now: datetime, *, uri: str | None = None) -> StatusListCheck:
    """Check a status list token: structure, key, signature (python-cwt), expiry, and, given
    `uri` (from the QR being checked), that it is that list. Never raises on bad input."""
    try:
        message = _parse(token)
        issued_at, expires_at = _instant(message.claims, IAT), _instant(message.claims, EXP)
    except MalformedToken:
        return StatusListCheck(False, MALFORMED)
    key = trust.key_for(message.kid, issued_at)
    if isinstance(key, str):
        return StatusListCheck(False, key, message.kid)
    if not signature_verifies(message, key.public_key):
        return StatusListCheck(False, BAD_SIGNATURE, message.kid)
    if now >= expires_at:
        return StatusListCheck(False, EXPIRED, message.kid)
    try:
        subject, ttl, packed = _content(message.claims)
    except MalformedToken:
        return StatusListCheck(False, MALFORMED, message.kid)
    if uri is not None and subject != uri:
        return StatusListCheck(False, WRONG_LIST, message.kid, subject)
    return StatusListCheck(True, None, message.kid, subject, issued_at, expires_at, ttl, packed)


def _parse(token: object) -> Sign1:
    if not isinstance(token, bytes) or len(token) > MAX_TOKEN:
        raise MalformedToken("not a token")
    message = parse_sign1(token)
    if message.protected.get(TYP) != TYPE:
        raise MalformedToken("not a status list token")
    return message


def _instant(claims: dict, key: int) -> datetime:
    value = claims.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedToken(f"claim {key} is not a time")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedToken(f"claim {key} is out of range") from exc


def _content(claims: dict) -> tuple[str, int | None, bytes]:
    subject, ttl, status_list = claims.get(SUB), claims.get(TTL), claims.get(STATUS_LIST)
    if not isinstance(subject, str) or not (ttl is None or type(ttl) is int) or not isinstance(status_list, dict):
        raise MalformedToken("sub, ttl or status_list missing")
    if status_list.get("bits") != BITS or not isinstance(status_list.get("lst"), bytes):
        raise MalformedToken("only 2-bit lists are read")
    return subject, ttl, _inflate(status_list["lst"])


def _inflate(compressed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        packed = inflater.decompress(compressed, MAX_LIST)
    except zlib.error as exc:
        raise MalformedToken("the list is not zlib data") from exc
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise MalformedToken("the list is truncated or too large")
    return packed
