"""The remote signing client on httpx's mock transport (the real server: tests/integration/test_signer_server.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from hub.adapters.siak.breaker import CLOSED, OPEN, CircuitBreaker
from hub.adapters.signing.remote import RemoteSigner
from hub.errors import PermanentError, SignerUnavailable
from hub.service.ports import SigningKey
from tests.support.signer_process import ISSUED, MemorySigner, es256, make_key

SIGNER = MemorySigner()
KID = SIGNER.current
PRIVATE = SIGNER.private_key(KID)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def published(key: SigningKey) -> dict:
    return {
        "kid": key.kid,
        "alg": "ES256",
        "x5c": [b64(der) for der in key.certificate_chain],
        "not_before": key.not_before.isoformat(),
        "not_after": key.not_after.isoformat() if key.not_after else None,
    }


def problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "type": "about:blank",
            "title": "refused",
            "status": status,
            "code": code,
            "retryable": status >= 500 or status == 429,
        },
        headers={"content-type": "application/problem+json"},
    )


class Service:
    """A signing service for the mock transport: answers `failures` first, in order, then serves the
    contract over SIGNER's keys. `signs` makes the signature and `answer` shapes the POST's body."""

    def __init__(
        self,
        *failures: httpx.Response | Exception,
        signs: Callable[[bytes], bytes] | None = None,
        answer: Callable[[dict, bytes], dict] | None = None,
        keys: list[dict] | None = None,
    ) -> None:
        self.failures, self.requests = list(failures), []
        self._signs = signs or (lambda digest: es256(PRIVATE, digest))
        self._answer = answer or (
            lambda body, signature: {
                "key_id": body["key_id"],
                "signature": b64(signature),
                "signed_at": "2026-02-01T00:00:00Z",
            }
        )
        self._keys = keys if keys is not None else [published(key) for key in SIGNER.keys.values()]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        if request.url.path == "/v1/keys":
            return httpx.Response(200, json={"keys": self._keys, "current": KID})
        if request.url.path == "/v1/keys/current":
            return httpx.Response(200, json=published(SIGNER.keys[KID]))
        body = json.loads(request.content)
        signature = self._signs(base64.b64decode(body["digest"]))
        return httpx.Response(201, json=self._answer(body, signature))

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


def remote(service, breaker: CircuitBreaker | None = None, retries: int = 2) -> RemoteSigner:
    breaker = breaker or CircuitBreaker(failure_threshold=100, reset_after=1)
    return RemoteSigner(
        "http://signer.test",
        timeout=1,
        retries=retries,
        backoff=0.001,
        breaker=breaker,
        transport=httpx.MockTransport(service),
    )


def digest() -> bytes:
    return hashlib.sha256(uuid.uuid4().bytes).digest()


def verifies(signature: bytes, data: bytes) -> bool:
    public = x509.load_der_x509_certificate(SIGNER.keys[KID].certificate_chain[0]).public_key()
    public.verify(signature, data, ec.ECDSA(Prehashed(hashes.SHA256())))
    return True


async def test_a_signature_is_made_from_the_digest_alone_and_checked_before_it_is_returned():
    service, data = Service(), digest()
    signer = remote(service)
    signature = await signer.sign_digest(data, kid=KID, idempotency_key="doc-1/qr/a")
    assert verifies(signature, data)
    post = service.requests[0]
    assert json.loads(post.content) == {"digest": b64(data), "algorithm": "ES256", "key_id": KID}
    assert post.headers["Idempotency-Key"] == "doc-1/qr/a"
    assert service.paths() == ["/v1/signatures", "/v1/keys"]  # the key's certificate was not known yet
    await signer.sign_digest(digest(), kid=KID, idempotency_key="doc-1/qr/b")
    assert service.paths()[2:] == ["/v1/signatures"]  # now it is
    await signer.close()


async def test_transient_failures_are_retried_with_the_same_idempotency_key():
    service = Service(
        httpx.ConnectError("refused"),
        problem(503, "INJECTED-FAULT"),
        problem(429, "SLOW-DOWN"),
        httpx.ReadTimeout("slow"),
        httpx.Response(502, text="<html>bad gateway</html>"),
    )
    signer = remote(service, retries=5)
    await signer.current_key()  # first answers the failures, retried
    data = digest()
    service.failures = [httpx.RemoteProtocolError("dropped"), problem(500, "INTERNAL-ERROR")]
    assert verifies(await signer.sign_digest(data, kid=KID, idempotency_key="doc-2"), data)
    posts = [r for r in service.requests if r.method == "POST"]
    assert [r.headers["Idempotency-Key"] for r in posts] == ["doc-2"] * 3
    assert {r.content for r in posts} == {posts[0].content}
    await signer.close()


async def test_retries_are_bounded_then_the_signer_is_unavailable():
    service = Service(*[problem(503, "SIGNER-UNAVAILABLE")] * 10)
    signer = remote(service, retries=3)
    with pytest.raises(SignerUnavailable, match="after 4 attempts: HTTP 503 SIGNER-UNAVAILABLE"):
        await signer.sign_digest(digest(), kid=KID, idempotency_key="doc-3")
    assert len(service.requests) == 4
    await signer.close()


async def test_the_breaker_opens_after_consecutive_failures_fails_fast_and_half_opens_later():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after=10, clock=clock)
    service = Service()
    signer = remote(service, breaker, retries=5)
    await signer.current_key()
    service.failures = [httpx.ConnectError("refused")] * 3
    with pytest.raises(SignerUnavailable, match="circuit open"):
        await signer.sign_digest(digest(), kid=KID, idempotency_key="doc-4")
    assert breaker.state == OPEN and len(service.requests) == 1 + 3
    with pytest.raises(SignerUnavailable, match="circuit open"):
        await signer.sign_digest(digest(), kid=KID, idempotency_key="doc-5")
    assert len(service.requests) == 4  # nothing sent while open
    clock.now = 10  # half-open: one trial goes out, succeeds, and closes the circuit
    data = digest()
    assert verifies(await signer.sign_digest(data, kid=KID, idempotency_key="doc-5"), data)
    assert breaker.state == CLOSED and len(service.requests) == 5
    await signer.close()


async def test_a_cancelled_trial_does_not_leave_the_circuit_half_open_for_ever():
    clock, entered = Clock(), asyncio.Event()
    breaker = CircuitBreaker(failure_threshold=1, reset_after=10, clock=clock)
    breaker.failure()
    clock.now = 10

    async def hangs(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    signer = remote(hangs, breaker)
    call = asyncio.create_task(signer.current_key())
    await entered.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert breaker.state == OPEN
    clock.now = 20
    assert breaker.allow()
    await signer.close()


@pytest.mark.parametrize(
    ("answer", "code", "origin"),
    [
        (problem(422, "SIGNING-KEY-RETIRED"), "SIGNING-KEY-RETIRED", "SIGNING-KEY-RETIRED"),
        (problem(409, "IDEMPOTENCY-KEY-REUSED"), "IDEMPOTENCY-KEY-REUSED", "IDEMPOTENCY-KEY-REUSED"),
        (problem(400, "REQUEST-INVALID"), "SIGNER-REFUSED", "REQUEST-INVALID"),
        (httpx.Response(404, text="<html>not here</html>"), "SIGNER-REFUSED", "SIGNER-HTTP-404"),
    ],
)
async def test_a_refusal_is_permanent_with_its_code_and_not_retried(answer, code, origin):
    service = Service(answer)
    signer = remote(service, retries=3)
    with pytest.raises(PermanentError) as refused:
        await signer.sign_digest(digest(), kid=KID, idempotency_key="doc-6")
    assert (refused.value.code.code, refused.value.origin) == (code, origin) and len(service.requests) == 1
    assert signer.breaker.state == CLOSED and signer.breaker.failures == 0  # the service did answer
    await signer.close()


def _other_key_signs(data: bytes) -> bytes:
    return es256(ec.generate_private_key(ec.SECP256R1()), data)


def _long_form_der(data: bytes) -> bytes:
    der = es256(PRIVATE, data)  # SEQUENCE with a long-form length: valid BER, not DER
    return bytes([0x30, 0x81, der[1]]) + der[2:]


@pytest.mark.parametrize(
    "signs",
    [
        lambda data: b"not a signature at all",
        lambda data: es256(PRIVATE, hashlib.sha256(data).digest()),  # valid, for another digest
        _other_key_signs,
        lambda data: es256(PRIVATE, data) + b"\x00",
        _long_form_der,
    ],
    ids=["garbage", "another-digest", "another-key", "trailing-byte", "not-canonical-der"],
)
async def test_a_signature_that_does_not_check_is_never_returned(signs):
    service = Service(signs=signs)
    signer = remote(service, retries=3)
    await signer.current_key()
    with pytest.raises(PermanentError) as rejected:
        await signer.sign_digest(digest(), kid=KID, idempotency_key="doc-7")
    assert rejected.value.code.code == "SIGNER-BAD-SIGNATURE"
    assert service.paths().count("/v1/signatures") == 1  # a replay would hand back the same bytes
    await signer.close()


@pytest.mark.parametrize(
    "answer",
    [
        lambda body, signature: {
            "key_id": "someone-else",
            "signature": b64(signature),
            "signed_at": "2026-02-01T00:00:00Z",
        },
        lambda body, signature: {"key_id": body["key_id"], "signature": "%%%", "signed_at": "2026-02-01T00:00:00Z"},
        lambda body, signature: ["not", "an", "object"],
    ],
    ids=["another-key-id", "not-base64", "not-an-object"],
)
async def test_an_answer_that_is_not_a_signature_by_the_key_is_rejected(answer):
    signer = remote(Service(answer=answer))
    with pytest.raises(PermanentError, match="SIGNER-BAD-SIGNATURE"):
        await signer.sign_digest(digest(), kid=KID, idempotency_key="doc-8")
    await signer.close()


async def test_a_signature_by_an_unpublished_key_is_rejected():
    ghost_private, _ = make_key("ghost")
    service = Service(signs=lambda data: es256(ghost_private, data))
    signer = remote(service)
    with pytest.raises(PermanentError, match="SIGNER-BAD-SIGNATURE: key ghost signed but is not published"):
        await signer.sign_digest(digest(), kid="ghost", idempotency_key="doc-9")
    await signer.close()


async def test_published_keys_are_read_into_signing_keys():
    signer = remote(Service())
    assert await signer.published_keys() == tuple(SIGNER.keys.values())
    assert await signer.current_key() == SIGNER.keys[KID]
    await signer.close()


def _rsa_certificate() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "rsa")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(ISSUED)
        .not_valid_after(ISSUED.replace(year=2027))
        .sign(private, hashes.SHA256())
    )
    return b64(certificate.public_bytes(serialization.Encoding.DER))


GOOD = published(SIGNER.keys[KID])


@pytest.mark.parametrize(
    "entry",
    [
        {**GOOD, "alg": "RS256"},
        {**GOOD, "x5c": []},
        {**GOOD, "x5c": ["%%%"]},
        {**GOOD, "x5c": [b64(b"not a certificate")]},
        {**GOOD, "x5c": [_rsa_certificate()]},
        {**GOOD, "not_before": "2026-01-01T00:00:00"},
        {**GOOD, "not_before": None},
        {key: value for key, value in GOOD.items() if key != "kid"},
    ],
    ids=["alg", "no-certificate", "not-base64", "not-a-certificate", "rsa", "naive-time", "no-start", "no-kid"],
)
async def test_a_published_key_that_breaks_the_contract_is_refused(entry):
    signer = remote(Service(keys=[entry]))
    with pytest.raises(PermanentError, match="SIGNER-BAD-RESPONSE"):
        await signer.published_keys()
    await signer.close()


async def test_a_digest_must_be_32_bytes_and_nothing_is_sent_otherwise():
    service = Service()
    signer = remote(service)
    with pytest.raises(ValueError, match="32 bytes"):
        await signer.sign_digest(b"short", kid=KID, idempotency_key="doc-10")
    assert service.requests == []
    await signer.close()
