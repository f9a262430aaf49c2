"""Verifying a document from its QR payload, as anyone shown one would: a school, a bank, a clinic.

Offline first: the payload's signature is checked against the published keys (a file the verifier
keeps, or fetched once), and the document's status against its regency's status list (fetched from
the URI in the payload and cached, or a saved copy). What the verdict says:

    accepted   signature valid, key valid when the document was issued, status active
    superseded signature valid, but a later version replaced the document (a correction, a reissue)
    revoked    signature valid, but an operator withdrew the document
    invalid    malformed, unknown key, key not valid at issue time, or bad signature
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from hub.documents.qr import PREFIX, AktaFacts, PayloadCheck, verify_payload
from hub.documents.scan import payloads_in
from hub.documents.status_list import verify_status_list
from hub.documents.trust import TrustList
from hub.domain.documents import STATUS_OF_CODE, DocumentStatus

FETCH_TIMEOUT = 5.0
_LABELS = {
    DocumentStatus.ACTIVE: "AKTIF / active",
    DocumentStatus.SUPERSEDED: "DIGANTI / superseded by a later version",
    DocumentStatus.REVOKED: "DICABUT / revoked",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    check: PayloadCheck
    status: DocumentStatus | None = None
    status_note: str | None = None  # why the status is unknown

    @property
    def accepted(self) -> bool:
        return self.check.valid and self.status is DocumentStatus.ACTIVE

    def headline(self) -> str:
        if not self.check.valid:
            return f"TIDAK SAH / INVALID ({self.check.reason})"
        if self.status is None:
            return f"TANDA TANGAN SAH / SIGNATURE VALID, status unknown ({self.status_note})"
        if self.status is DocumentStatus.ACTIVE:
            return "SAH / VALID: the signature holds and the document is active"
        return f"TANDA TANGAN SAH / SIGNATURE VALID, but {_LABELS[self.status]}"

    def fields(self) -> list[tuple[str, str]]:
        claims = self.check.claims
        rows = [("key id", self.check.kid or "-")]
        if claims is None:
            return rows
        rows += [
            ("document", f"{claims.kind.value} {claims.number}"),
            ("version", str(claims.version)),
            ("document id", claims.document_id),
            ("issued at", claims.issued_at.isoformat()),
            ("issuing regency", claims.issuing_regency),
            ("status", _LABELS[self.status] if self.status else f"unknown ({self.status_note})"),
        ]
        facts = claims.facts
        if isinstance(facts, AktaFacts):
            rows += [
                ("NIK", facts.child_nik),
                ("name", facts.child_name),
                ("date of birth", facts.birth_date.isoformat()),
                ("sex", facts.sex.value),
                ("mother", facts.mother_name),
            ]
        else:
            rows += [
                ("KK version", str(facts.kk_version)),
                ("head of family", facts.head_name),
                ("card issued on", facts.issued_on.isoformat()),
            ]
            rows += [(f"member {i}", f"{nik} {name}") for i, (nik, name) in enumerate(facts.members, 1)]
        return rows

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.check.valid,
            "accepted": self.accepted,
            "reason": self.check.reason,
            "status": self.status.value if self.status else None,
            "status_note": self.status_note,
            "fields": dict(self.fields()),
        }


def verify_offline(
    payload: str,
    trust: TrustList,
    *,
    status_file: Path | None = None,
    offline: bool = False,
    now: datetime | None = None,
) -> Verdict:
    """The verdict on one payload, with the status from a saved status list or the one its URI serves."""
    check = verify_payload(payload, trust)
    if not check.valid or check.claims is None:
        return Verdict(check)
    if status_file is not None:
        token = status_file.read_bytes()
    elif offline:
        return Verdict(check, None, "offline, no status list given")
    else:
        try:
            token = httpx.get(check.claims.status_uri, timeout=FETCH_TIMEOUT).raise_for_status().content
        except httpx.HTTPError as exc:
            return Verdict(check, None, f"status list not reachable ({type(exc).__name__})")
    return with_status_list(check, token, trust, now or datetime.now(UTC))


def with_status_list(check: PayloadCheck, token: bytes, trust: TrustList, now: datetime) -> Verdict:
    listing = verify_status_list(token, trust, now, uri=check.status_uri)
    if not listing.valid or check.status_index is None:
        return Verdict(check, None, f"status list not accepted ({listing.reason})")
    try:
        return Verdict(check, STATUS_OF_CODE.get(listing.status(check.status_index)))
    except IndexError:
        return Verdict(check, None, "the status list has no entry for this document")


def load_trust(
    keys: str | None, fallback_url: str | None, fallback: Callable[[], TrustList] | None, *, offline: bool
) -> TrustList:
    """Published keys from a file or URL; else from `fallback_url` (unless offline), else from
    `fallback` (the local signer's keys, on a development machine)."""
    if keys and keys.startswith(("http://", "https://")):
        return TrustList.from_json(httpx.get(keys, timeout=FETCH_TIMEOUT).raise_for_status().json())
    if keys:
        return TrustList.from_json(json.loads(Path(keys).read_text()))
    if fallback_url and not offline:
        try:
            return TrustList.from_json(httpx.get(fallback_url, timeout=FETCH_TIMEOUT).raise_for_status().json())
        except httpx.HTTPError:
            pass
    if fallback is not None:
        return fallback()
    raise ValueError("no published keys: give --keys FILE or URL")


def read_payloads(what: str) -> list[str]:
    """The QR payloads in `what`: a payload itself, or a file (PDF, or an image of the QR)."""
    if what.startswith(PREFIX):
        return [what]
    path = Path(what)
    if not path.is_file():
        raise ValueError(f"neither a {PREFIX} payload nor a readable file")
    found = payloads_in(path.read_bytes())
    if not found:
        raise ValueError("no document QR code found in the file")
    return found
