"""What the signing reference server remembers: idempotency records and its counters.

Idempotency: every `POST /v1/signatures` carries an `Idempotency-Key`. The first request with a key
asks the backing signer for a signature and records it under the key, with a fingerprint of the
request (key id and digest). A repeat with the same fingerprint gets the recorded signature (a
replay: no second signature is made); a repeat with another fingerprint is refused (409). A repeat
that arrives while the first request is still signing waits for its outcome instead of signing
again. A refused request records nothing under its key.

The records live in memory and are bounded (`capacity`, oldest dropped first): enough for tests and
demos, lost on restart. A real PSrE keeps them in durable storage for at least as long as its
clients retry (a day or more). Once a key is forgotten, a repeat signs anew: ECDSA signatures are
randomised, so it gets a different, equally valid signature.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from hub.devtools.siak.server_problems import Refusal
from hub.errors import PermanentError, SignerUnavailable
from hub.service.ports import DocumentSigner

SIGNER_UNAVAILABLE = "SIGNER-UNAVAILABLE"
KEY_REUSED = "IDEMPOTENCY-KEY-REUSED"


@dataclass
class SignerStats:
    """What this server process did: signatures made (replays not counted), replays, requests and
    injected faults by kind. Shaped for the SIAK server's fault middleware, which counts into it."""

    signatures: int = 0
    replays: int = 0
    requests: int = 0
    faults_injected: Counter = field(default_factory=Counter)

    def as_json(self) -> dict:
        return {
            "signatures": self.signatures,
            "replays": self.replays,
            "requests": self.requests,
            "faults_injected": dict(sorted(self.faults_injected.items())),
        }


@dataclass(frozen=True, slots=True)
class Signed:
    """A signature the service made: replays hand out these same values."""

    key_id: str
    signature: bytes
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    signed: Signed
    replayed: bool


@dataclass(slots=True)
class _Record:
    fingerprint: bytes
    outcome: asyncio.Future  # Signed, or the Refusal of the first request (then the record is gone)


class SignatureStore:
    """Signs through the backing signer, once per idempotency key (see the module docstring)."""

    def __init__(
        self, signer: DocumentSigner, stats: SignerStats, clock: Callable[[], datetime], *, capacity: int
    ) -> None:
        if capacity < 1:
            raise ValueError("the idempotency store needs room for at least one key")
        self._signer, self._stats, self._clock, self._capacity = signer, stats, clock, capacity
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    async def sign(self, idempotency_key: str, digest: bytes, kid: str) -> Answer:
        """The signature for this key: made now, or the one recorded for it. Raises Refusal."""
        fingerprint = hashlib.sha256(kid.encode() + b"\n" + digest).digest()
        record = self._records.get(idempotency_key)
        if record is not None:
            return await self._replay(record, fingerprint)
        record = self._remember(idempotency_key, fingerprint)
        try:
            signed = await self._sign_new(digest, kid, idempotency_key)
        except BaseException as exc:
            self._forget(idempotency_key, record, exc)
            raise
        record.outcome.set_result(signed)
        return Answer(signed, replayed=False)

    async def _replay(self, record: _Record, fingerprint: bytes) -> Answer:
        if record.fingerprint != fingerprint:
            raise Refusal(409, KEY_REUSED, "this Idempotency-Key was first used with another digest or key id")
        outcome = await asyncio.shield(record.outcome)  # shielded: a waiter leaving must not cancel it
        if isinstance(outcome, Refusal):
            raise Refusal(outcome.status, outcome.code, outcome.detail)
        self._stats.replays += 1
        return Answer(outcome, replayed=True)

    def _remember(self, idempotency_key: str, fingerprint: bytes) -> _Record:
        while len(self._records) >= self._capacity:
            self._records.popitem(last=False)
        record = _Record(fingerprint, asyncio.get_running_loop().create_future())
        self._records[idempotency_key] = record
        return record

    def _forget(self, idempotency_key: str, record: _Record, exc: BaseException) -> None:
        """The first request failed: drop its record; requests waiting on it get the same refusal
        (or, if it failed otherwise, a retryable one)."""
        if self._records.get(idempotency_key) is record:
            del self._records[idempotency_key]
        refusal = (
            exc
            if isinstance(exc, Refusal)
            else Refusal(503, SIGNER_UNAVAILABLE, "the first request with this Idempotency-Key failed; retry")
        )
        record.outcome.set_result(refusal)

    async def _sign_new(self, digest: bytes, kid: str, idempotency_key: str) -> Signed:
        try:
            signature = await self._signer.sign_digest(digest, kid=kid, idempotency_key=idempotency_key)
        except PermanentError as exc:
            raise Refusal(422, exc.code.code, str(exc)) from None
        except SignerUnavailable:
            raise Refusal(503, SIGNER_UNAVAILABLE, "the key store cannot sign right now") from None
        self._stats.signatures += 1
        return Signed(kid, signature, self._clock())
