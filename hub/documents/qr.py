"""The signed QR payload printed on every akta and KK, verifiable offline.

Same approach as the EU Digital COVID Certificate and MOSIP Claim 169: a CWT (RFC 8392) in a
COSE_Sign1 (RFC 9052, ES256), zlib-compressed, Base45-encoded (RFC 9285, whose alphabet is the QR
alphanumeric set, so the code stays dense), behind the prefix "DK1:" (Dokumen Kependudukan,
version 1):

    DK1:<base45(zlib(COSE_Sign1))>

Protected header: alg -7 (ES256), kid 4 (the key id as UTF-8 bytes). Claims:

    1      iss     "ID-<regency>": the Kemendagri code of the issuing Dinas Dukcapil
    6      iat     issue time, seconds since the epoch: the key must have been valid then
    7      cti     the document version's id (a UUID, its 16 bytes)
    65535  status  {"status_list": {"idx": <slot>, "uri": <status list URI>}}
                   (IETF Token Status List: where a verifier learns active / superseded / revoked)
    -65537 document  the printed facts, a map with small integer keys (-65537 is the first
                   private-use claim key of the CWT registry):
           1 kind "akta" | "kk", 2 number, 3 version (of this document), then
           akta: 4 child NIK, 5 child name, 6 birth date "YYYY-MM-DD", 7 sex (ISO/IEC 5218:
                 1 male, 2 female), 8 mother's name
           kk:   4 KK version, 5 head of family's name, 6 issue date "YYYY-MM-DD",
                 7 members [[NIK, name], ...]
           A NIK or KK number (16 digits, no leading zero) is a CBOR unsigned integer (9 bytes
           instead of 17); any other number stays text.

The facts are few on purpose: enough for a verifier to match the paper in front of them, small
enough for a QR that prints at 3-4 cm. What does not shrink is the signature (64 bytes), the
document id (16), the kid and the status list URI: about 270 bytes before any name. An akta comes
to about 490 characters, a KK of 8 members to 600-680 (QR version 15-17 at error correction M,
0.4-0.45 mm modules at 35 mm).
A valid signature says the hub issued these facts; whether the document is still active is the
status list's answer (status_list.py).
"""

from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import base45

from hub.documents.cose import MalformedToken, parse_sign1, sign1, signature_verifies
from hub.documents.trust import TrustList
from hub.domain.documents import AktaContent, Content, DocumentKind, DocumentRef, KkContent
from hub.domain.values import Sex
from hub.service.ports import DocumentSigner

PREFIX = "DK1:"
MAX_TEXT = 4296  # the most alphanumeric characters any QR code holds
MAX_INFLATED = 16 * 1024
ISS, IAT, CTI, STATUS, DOCUMENT = 1, 6, 7, 65535, -65537
KIND, NUMBER, VERSION = 1, 2, 3
NIK, NAME, BIRTH_DATE, SEX, MOTHER = 4, 5, 6, 7, 8  # akta
KK_VERSION, HEAD, ISSUED_ON, MEMBERS = 4, 5, 6, 7  # kk
KINDS = {DocumentKind.AKTA: "akta", DocumentKind.KK: "kk"}
SEXES = {Sex.MALE: 1, Sex.FEMALE: 2}
MALFORMED, BAD_SIGNATURE = "malformed", "bad-signature"
SIXTEEN_DIGITS = re.compile(r"[1-9][0-9]{15}")


@dataclass(frozen=True, slots=True)
class AktaFacts:
    child_nik: str
    child_name: str
    birth_date: date
    sex: Sex
    mother_name: str


@dataclass(frozen=True, slots=True)
class KkFacts:
    kk_version: int
    head_name: str
    issued_on: date
    members: tuple[tuple[str, str], ...]  # (NIK, name)


@dataclass(frozen=True, slots=True)
class DocumentClaims:
    """What a QR payload states about one document version."""

    document_id: str
    kind: DocumentKind
    number: str
    version: int
    issued_at: datetime  # UTC, whole seconds
    issuing_regency: str
    status_index: int
    status_uri: str
    facts: AktaFacts | KkFacts

    @classmethod
    def from_content(cls, content: Content, ref: DocumentRef, status_uri: str) -> DocumentClaims:
        facts = _facts(content)
        if isinstance(facts, AktaFacts) != (ref.kind is DocumentKind.AKTA):
            raise ValueError("the content is not of the document's kind")
        regency = content.issuing_regency if isinstance(content, AktaContent) else content.regency
        issued_at = datetime.fromtimestamp(int(ref.issued_at.timestamp()), UTC)
        return cls(
            ref.document_id, ref.kind, ref.number, ref.version, issued_at, regency, ref.slot.index, status_uri, facts
        )


@dataclass(frozen=True, slots=True)
class PayloadCheck:
    """A verifier's verdict. `reason` is None when valid; `claims` only when the signature holds."""

    valid: bool
    reason: str | None = None
    kid: str | None = None
    claims: DocumentClaims | None = None

    @property
    def document_id(self) -> str | None:
        return self.claims.document_id if self.claims else None

    @property
    def status_index(self) -> int | None:
        return self.claims.status_index if self.claims else None

    @property
    def status_uri(self) -> str | None:
        return self.claims.status_uri if self.claims else None


async def issue_payload(claims: DocumentClaims, signer: DocumentSigner, kid: str, idempotency_key: str) -> str:
    """The QR text of `claims`, signed through the port with key `kid`."""
    token = await sign1(_to_cwt(claims), signer=signer, kid=kid, idempotency_key=idempotency_key)
    return PREFIX + base45.b45encode(zlib.compress(token, 9)).decode("ascii")


def verify_payload(payload: str, trust: TrustList) -> PayloadCheck:
    """Check a scanned QR text offline. Never raises on bad input: it is a "malformed" verdict."""
    try:
        message = parse_sign1(_unwrap(payload))
        issued_at = datetime.fromtimestamp(_typed(message.claims, IAT, int), UTC)
    except (MalformedToken, OverflowError, OSError, ValueError):
        return PayloadCheck(False, MALFORMED)
    key = trust.key_for(message.kid, issued_at)
    if isinstance(key, str):
        return PayloadCheck(False, key, message.kid)
    if not signature_verifies(message, key.public_key):
        return PayloadCheck(False, BAD_SIGNATURE, message.kid)
    try:
        claims = _from_cwt(message.claims, issued_at)
    except (MalformedToken, ValueError):
        return PayloadCheck(False, MALFORMED, message.kid)
    return PayloadCheck(True, None, message.kid, claims)


def _unwrap(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) > MAX_TEXT or not text.startswith(PREFIX):
        raise MalformedToken("not a DK1 payload")
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
        inflater = zlib.decompressobj()
        token = inflater.decompress(compressed, MAX_INFLATED)
    except (ValueError, zlib.error) as exc:
        raise MalformedToken("not Base45 / zlib") from exc
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise MalformedToken("truncated, oversized or trailing data")
    return token


def _facts(content: Content) -> AktaFacts | KkFacts:
    if isinstance(content, AktaContent):
        return AktaFacts(
            content.child_nik, content.child_name, content.born_at.date(), content.sex, content.mother_name
        )
    if isinstance(content, KkContent):
        return KkFacts(
            content.kk_version, content.head_name, content.issued_on, tuple((m.nik, m.name) for m in content.members)
        )
    raise TypeError(f"not a document content: {type(content).__name__}")


def _to_cwt(claims: DocumentClaims) -> dict[int, Any]:
    document: dict[int, Any] = {KIND: KINDS[claims.kind], NUMBER: _compact(claims.number), VERSION: claims.version}
    facts = claims.facts
    if isinstance(facts, AktaFacts):
        document |= {
            NIK: _compact(facts.child_nik),
            NAME: facts.child_name,
            BIRTH_DATE: facts.birth_date.isoformat(),
            SEX: SEXES[facts.sex],
            MOTHER: facts.mother_name,
        }
    else:
        document |= {
            KK_VERSION: facts.kk_version,
            HEAD: facts.head_name,
            ISSUED_ON: facts.issued_on.isoformat(),
            MEMBERS: [[_compact(nik), name] for nik, name in facts.members],
        }
    return {
        ISS: f"ID-{claims.issuing_regency}",
        IAT: int(claims.issued_at.timestamp()),
        CTI: uuid.UUID(claims.document_id).bytes,
        STATUS: {"status_list": {"idx": claims.status_index, "uri": claims.status_uri}},
        DOCUMENT: document,
    }


def _from_cwt(cwt: dict[Any, Any], issued_at: datetime) -> DocumentClaims:
    issuer, cti = _typed(cwt, ISS, str), _typed(cwt, CTI, bytes)
    reference = _typed(_typed(cwt, STATUS, dict), "status_list", dict)
    document = _typed(cwt, DOCUMENT, dict)
    kind = next((k for k, name in KINDS.items() if name == document.get(KIND)), None)
    if not issuer.startswith("ID-") or len(cti) != 16 or kind is None or _typed(reference, "idx", int) < 0:
        raise MalformedToken("unexpected issuer, document id or kind")
    facts = _akta_facts(document) if kind is DocumentKind.AKTA else _kk_facts(document)
    return DocumentClaims(
        str(uuid.UUID(bytes=cti)),
        kind,
        _number(document.get(NUMBER)),
        _typed(document, VERSION, int),
        issued_at,
        issuer[3:],
        _typed(reference, "idx", int),
        _typed(reference, "uri", str),
        facts,
    )


def _akta_facts(document: dict[Any, Any]) -> AktaFacts:
    sex = next((s for s, code in SEXES.items() if code == document.get(SEX)), None)
    if sex is None:
        raise MalformedToken("unknown sex code")
    return AktaFacts(
        _number(document.get(NIK)),
        _typed(document, NAME, str),
        date.fromisoformat(_typed(document, BIRTH_DATE, str)),
        sex,
        _typed(document, MOTHER, str),
    )


def _kk_facts(document: dict[Any, Any]) -> KkFacts:
    members = _typed(document, MEMBERS, list)
    if not all(isinstance(m, list) and len(m) == 2 and isinstance(m[1], str) for m in members):
        raise MalformedToken("members must be [NIK, name] pairs")
    return KkFacts(
        _typed(document, KK_VERSION, int),
        _typed(document, HEAD, str),
        date.fromisoformat(_typed(document, ISSUED_ON, str)),
        tuple((_number(m[0]), m[1]) for m in members),
    )


def _compact(number: str) -> int | str:
    return int(number) if SIXTEEN_DIGITS.fullmatch(number) else number


def _number(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 10**15 <= value < 10**16:
        return str(value)
    raise MalformedToken("a number must be text or a 16-digit integer")


def _typed(values: dict[Any, Any], key: Any, kind: type) -> Any:
    value = values.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedToken(f"claim {key!r} missing or not {kind.__name__}")
    return value
