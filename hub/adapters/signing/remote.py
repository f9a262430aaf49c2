"""`RemoteSigner`: the DocumentSigner port over a remote signing service's HTTP API (a PSrE such as
BSrE of BSSN, behind the hub's contract: contracts/signer-openapi.json, served by `hub signer serve`).

Only the SHA-256 digest is sent. What each outcome becomes:

- a transport error, a timeout, 429 or 5xx: retried up to `retries` times with jittered exponential
  backoff, then SignerUnavailable. The POST may be retried because it carries the caller's
  Idempotency-Key: the service answers a repeat with the signature it already made.
- the circuit breaker open: SignerUnavailable at once, nothing sent (see hub/adapters/siak/breaker.py).
- a 4xx problem (unknown or retired key, idempotency key reused with another digest): PermanentError
  with the problem's `code`, never retried.
- a 2xx answer that breaks the contract: PermanentError. `SIGNER-BAD-SIGNATURE` when the signature
  is not canonical DER ECDSA, is for another key, or does not verify for the digest under the key's
  published certificate; `SIGNER-BAD-RESPONSE` for any other malformed answer (keys included).

Why a bad signature is permanent, not SignerUnavailable: the service *did* answer, and a retry with
the same Idempotency-Key replays the same bytes, so waiting cannot repair it. It is an integrity
fault of the service (wrong key behind a kid, a broken HSM or proxy) that a person must look at,
and the code says so wherever the failure is recorded. The signature is never returned, so it cannot
end up in a document. It does not count against the circuit breaker, which tracks reachability. A
caller that signs again under a new Idempotency-Key (the document worker does, on its next attempt)
recovers once the service is repaired.
"""

from __future__ import annotations

import base64
import logging
import ssl
from datetime import datetime
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature

from hub.adapters.http_retry import RetryingHttp
from hub.adapters.siak.breaker import CircuitBreaker
from hub.domain import codes
from hub.errors import PermanentError, SignerUnavailable
from hub.service.ports import SigningKey

log = logging.getLogger("hub.signer.remote")

ALGORITHM = "ES256"
BAD_SIGNATURE = codes.SIGNER_BAD_SIGNATURE
BAD_RESPONSE = codes.SIGNER_BAD_RESPONSE
DIGEST_SIZE = 32
_ES256 = ec.ECDSA(Prehashed(hashes.SHA256()))


class RemoteSigner:
    """DocumentSigner over HTTP. `timeout` bounds each attempt; `retries` is the number of attempts
    after the first; `backoff` is the first pause in seconds (doubling, jittered). Keys seen in answers
    are remembered to verify the signatures the service returns."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        breaker: CircuitBreaker,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._http = RetryingHttp(
            base_url,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            breaker=breaker,
            unavailable=SignerUnavailable,
            service="signing service",
            transport=transport,
            verify=ssl_context or True,
        )
        self.breaker = breaker
        self._known: dict[str, SigningKey] = {}

    async def close(self) -> None:
        await self._http.close()

    async def current_key(self) -> SigningKey:
        """The key that signs now (GET /v1/keys/current)."""
        return self._learn(signing_key(await self._call("GET", "/v1/keys/current")))

    async def published_keys(self) -> tuple[SigningKey, ...]:
        """Every published key, current and retired (GET /v1/keys)."""
        body = await self._call("GET", "/v1/keys")
        entries = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise PermanentError(BAD_RESPONSE, "the key list has no `keys` array")
        return tuple(self._learn(signing_key(entry)) for entry in entries)

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        """The service's DER signature of `digest` with `kid`, checked before it is returned."""
        if len(digest) != DIGEST_SIZE:
            raise ValueError(f"a SHA-256 digest is {DIGEST_SIZE} bytes, not {len(digest)}")
        body = {"digest": base64.b64encode(digest).decode(), "algorithm": ALGORITHM, "key_id": kid}
        answer = await self._call("POST", "/v1/signatures", json=body, headers={"Idempotency-Key": idempotency_key})
        try:
            signature = _signature_in(answer, kid)
            check_signature(await self._key(kid), signature, digest)
        except PermanentError as exc:
            log.warning(
                "the signing service answered with a signature that does not check kid=%s code=%s", kid, exc.code.code
            )
            raise
        return signature

    def _learn(self, key: SigningKey) -> SigningKey:
        self._known[key.kid] = key
        return key

    async def _key(self, kid: str) -> SigningKey:
        """The published key `kid`, from what was seen before or else from GET /v1/keys."""
        if kid not in self._known:
            await self.published_keys()
        if kid not in self._known:
            raise PermanentError(BAD_SIGNATURE, f"key {kid} signed but is not published: nobody could verify it")
        return self._known[kid]

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One logical call through the retrying loop; the settled answer read by the contract."""
        return _answer(await self._http.request(method, path, **kwargs))


def check_signature(key: SigningKey, signature: bytes, digest: bytes) -> None:
    """Accept only a canonical DER ECDSA signature that verifies for `digest` under the public key of
    `key`'s certificate; raise PermanentError SIGNER-BAD-SIGNATURE otherwise."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        raise PermanentError(BAD_SIGNATURE, "the signature is not a DER-encoded ECDSA signature") from None
    if encode_dss_signature(r, s) != signature:
        raise PermanentError(BAD_SIGNATURE, "the signature is not in canonical DER")
    try:
        public_key(key).verify(signature, digest, _ES256)
    except InvalidSignature:
        raise PermanentError(BAD_SIGNATURE, f"the signature does not verify with key {key.kid}") from None


def public_key(key: SigningKey) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of the key's certificate (the first of its chain)."""
    try:
        found = x509.load_der_x509_certificate(key.certificate_chain[0]).public_key()
    except (IndexError, ValueError):
        raise PermanentError(BAD_RESPONSE, f"key {key.kid} has no readable certificate") from None
    if not isinstance(found, ec.EllipticCurvePublicKey) or not isinstance(found.curve, ec.SECP256R1):
        raise PermanentError(BAD_RESPONSE, f"key {key.kid} is not a P-256 key: it cannot sign ES256")
    return found


def signing_key(entry: Any) -> SigningKey:
    """A published key of the contract (`kid`, `alg`, `x5c`, `not_before`, `not_after`) as a SigningKey."""
    try:
        if entry["alg"] != ALGORITHM or not isinstance(entry["kid"], str) or not entry["x5c"]:
            raise ValueError("not an ES256 key with an id and certificates")
        key = SigningKey(
            kid=entry["kid"],
            certificate_chain=tuple(_base64(c) for c in entry["x5c"]),
            not_before=_instant(entry["not_before"]),
            not_after=None if entry.get("not_after") is None else _instant(entry["not_after"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(BAD_RESPONSE, f"a published key does not follow the contract: {exc}") from None
    public_key(key)
    return key


def _signature_in(answer: Any, kid: str) -> bytes:
    if not isinstance(answer, dict) or answer.get("key_id") != kid:
        raise PermanentError(BAD_SIGNATURE, f"the answer is not a signature by key {kid}")
    try:
        return _base64(answer.get("signature"))
    except (TypeError, ValueError):
        raise PermanentError(BAD_SIGNATURE, "the signature is not base64") from None


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("base64 text expected")
    return base64.b64decode(value, validate=True)


def _instant(value: Any) -> datetime:
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError("a time without a UTC offset")
    return instant


def _problem(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _answer(response: httpx.Response) -> Any:
    """The JSON of a settled (non-retryable) answer; a 4xx problem becomes PermanentError."""
    if response.status_code >= 400:
        problem = _problem(response)
        code = str(problem.get("code") or f"SIGNER-HTTP-{response.status_code}")
        detail = str(problem.get("detail") or problem.get("title") or f"HTTP {response.status_code}")
        known = codes.CATALOGUE.get(code)
        raise PermanentError(known or codes.SIGNER_REFUSED, detail, origin=code)
    try:
        return response.json()
    except ValueError:
        raise PermanentError(BAD_RESPONSE, f"HTTP {response.status_code} without a JSON body") from None
