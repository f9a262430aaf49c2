"""The signing reference server over real HTTP (uvicorn in a thread), with the remote client.

The contract's promises are checked from the outside: signatures that verify, replays under an
Idempotency-Key, refusals as problem documents that never quote the input, the published keys, and
the injected faults a client must survive (errors, lost answers, slow answers, the service down).
No database or broker is needed: the backing signer is in memory.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid

import httpx
import pytest

from hub.adapters.siak.breaker import OPEN, CircuitBreaker
from hub.adapters.signing.remote import RemoteSigner, check_signature
from hub.errors import PermanentError, SignerUnavailable
from tests.support.signer_process import RETIRED_KEY, UNKNOWN_KEY, MemorySigner, SignerServer

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def backing():
    return MemorySigner()


@pytest.fixture(scope="module")
def server(backing):
    server = SignerServer(backing)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=10, verify=server.tls) as client:
        yield client
    server.faults()  # every test starts and ends without faults


def remote(server: SignerServer, *, retries: int = 2, timeout: float = 5, threshold: int = 100) -> RemoteSigner:
    return RemoteSigner(
        server.url,
        timeout=timeout,
        retries=retries,
        backoff=0.001,
        breaker=CircuitBreaker(failure_threshold=threshold, reset_after=60),
        ssl_context=server.tls,
    )


def digest() -> bytes:
    return hashlib.sha256(uuid.uuid4().bytes).digest()


def key() -> str:
    return f"test-{uuid.uuid4()}"


def request_body(data: bytes, kid: str) -> dict:
    return {"digest": base64.b64encode(data).decode(), "algorithm": "ES256", "key_id": kid}


def assert_problem(response: httpx.Response, status: int, code: str, retryable: bool = False) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"], body["retryable"]) == (status, code, retryable)
    return body


async def test_the_remote_signer_gets_a_signature_that_verifies(server, backing):
    signer, data = remote(server), digest()
    signature = await signer.sign_digest(data, kid=backing.current, idempotency_key=key())
    check_signature(backing.keys[backing.current], signature, data)
    await signer.close()


async def test_a_repeated_key_replays_the_first_signature(http, server, backing):
    body, idempotency_key, before = request_body(digest(), backing.current), key(), server.stats()
    first = await http.post("/v1/signatures", json=body, headers={"Idempotency-Key": idempotency_key})
    again = await http.post("/v1/signatures", json=body, headers={"Idempotency-Key": idempotency_key})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    after = server.stats()
    assert (after["signatures"] - before["signatures"], after["replays"] - before["replays"]) == (1, 1)


async def test_a_key_reused_for_another_digest_is_refused(http, server, backing):
    signer, idempotency_key = remote(server), key()
    await signer.sign_digest(digest(), kid=backing.current, idempotency_key=idempotency_key)
    with pytest.raises(PermanentError) as refused:
        await signer.sign_digest(digest(), kid=backing.current, idempotency_key=idempotency_key)
    assert refused.value.code.code == "IDEMPOTENCY-KEY-REUSED"
    raw = await http.post(
        "/v1/signatures", json=request_body(digest(), backing.current), headers={"Idempotency-Key": idempotency_key}
    )
    assert_problem(raw, 409, "IDEMPOTENCY-KEY-REUSED")
    await signer.close()


@pytest.mark.parametrize(("kid", "code"), [("test-2025", RETIRED_KEY), ("nobody", UNKNOWN_KEY)])
async def test_the_key_stores_refusal_is_a_permanent_problem_and_records_nothing(http, server, kid, code, backing):
    idempotency_key = key()
    raw = await http.post(
        "/v1/signatures", json=request_body(digest(), kid), headers={"Idempotency-Key": idempotency_key}
    )
    assert_problem(raw, 422, code.code)
    signer = remote(server)
    with pytest.raises(PermanentError) as refused:
        await signer.sign_digest(digest(), kid=kid, idempotency_key=idempotency_key)
    assert refused.value.code is code
    # nothing was recorded under the key: it can still be used for a good request
    await signer.sign_digest(digest(), kid=backing.current, idempotency_key=idempotency_key)
    await signer.close()


SECRET = "3171015501260001"  # looks like a NIK: must never be echoed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"digest": SECRET, "algorithm": "ES256", "key_id": "test-2026"}, "body.digest"),
        ({"digest": base64.b64encode(b"x" * 31).decode(), "algorithm": "ES256", "key_id": "test-2026"}, "body.digest"),
        (
            {"digest": base64.b64encode(b"x" * 32).decode(), "algorithm": SECRET, "key_id": "test-2026"},
            "body.algorithm",
        ),
        ({"digest": base64.b64encode(b"x" * 32).decode(), "algorithm": "ES256"}, "body.key_id"),
        (
            {"digest": base64.b64encode(b"x" * 32).decode(), "algorithm": "ES256", "key_id": "k", SECRET: 1},
            "unknown field",
        ),
    ],
)
async def test_a_malformed_request_names_the_field_and_never_quotes_it(http, body, field):
    raw = await http.post("/v1/signatures", json=body, headers={"Idempotency-Key": key()})
    problem = assert_problem(raw, 400, "REQUEST-INVALID")
    assert field in problem["detail"] and SECRET not in raw.text


async def test_a_post_without_an_idempotency_key_is_refused(http, backing):
    raw = await http.post("/v1/signatures", json=request_body(digest(), backing.current))
    assert_problem(raw, 400, "IDEMPOTENCY-KEY-REQUIRED")
    raw = await http.post(
        "/v1/signatures", json=request_body(digest(), backing.current), headers={"Idempotency-Key": "k" * 201}
    )
    assert_problem(raw, 400, "IDEMPOTENCY-KEY-INVALID")


async def test_published_keys_round_trip_into_the_backing_signers_keys(http, server, backing):
    signer = remote(server)
    assert await signer.published_keys() == await backing.published_keys()
    assert await signer.current_key() == await backing.current_key()
    listed = (await http.get("/v1/keys")).json()
    assert listed["current"] == backing.current
    assert {entry["kid"]: entry["not_after"] is None for entry in listed["keys"]} == {
        "test-2025": False,
        "test-2026": True,
    }
    await signer.close()


async def test_with_half_the_requests_failing_every_signature_is_made_exactly_once(server, backing):
    server.faults(error_rate=0.5, seed=7)
    signer, before = remote(server, retries=20), server.stats()
    keys = [key() for _ in range(50)]
    work = [(digest(), idempotency_key) for idempotency_key in keys]
    signatures = await asyncio.gather(
        *(signer.sign_digest(data, kid=backing.current, idempotency_key=k) for data, k in work)
    )
    for (data, _), signature in zip(work, signatures, strict=True):
        check_signature(backing.keys[backing.current], signature, data)
    after = server.stats()
    assert after["signatures"] - before["signatures"] == 50
    assert after["faults_injected"]["error"] - before["faults_injected"].get("error", 0) >= 10
    assert {k: backing.calls[k] for k in keys} == dict.fromkeys(keys, 1)
    await signer.close()


async def test_lost_and_slow_answers_are_replayed_never_signed_twice(server, backing):
    server.faults(drop_after_write_rate=0.4, timeout_rate=0.2, timeout_sleep_s=0.5, seed=3)
    signer, before = remote(server, retries=20, timeout=0.25), server.stats()
    keys = [key() for _ in range(30)]
    await asyncio.gather(*(signer.sign_digest(digest(), kid=backing.current, idempotency_key=k) for k in keys))
    await asyncio.sleep(0.6)  # let the slow requests that the client gave up on finish on the server
    after = server.stats()
    assert after["signatures"] - before["signatures"] == 30
    assert after["replays"] - before["replays"] >= 5
    assert {k: backing.calls[k] for k in keys} == dict.fromkeys(keys, 1)
    await signer.close()


async def test_a_service_that_is_down_is_unavailable_and_opens_the_circuit(server, backing):
    signer = remote(server, retries=5, threshold=3)
    await signer.current_key()
    server.faults(down=True)
    requests = server.stats()["requests"]
    with pytest.raises(SignerUnavailable, match="circuit open"):
        await signer.sign_digest(digest(), kid=backing.current, idempotency_key=key())
    assert signer.breaker.state == OPEN
    with pytest.raises(SignerUnavailable, match="circuit open"):
        await signer.sign_digest(digest(), kid=backing.current, idempotency_key=key())
    assert server.stats()["requests"] - requests == 3 + 1  # three attempts, then the stats call itself
    await signer.close()
