"""The SIAK client and its circuit breaker, on httpx's mock transport (the real server: tests/integration)."""

from __future__ import annotations

import httpx
import pytest

from hub.adapters.siak.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from hub.adapters.siak.client import SiakClient
from hub.errors import PermanentError, RegistryUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client(handler, breaker=None, retries=2) -> SiakClient:
    breaker = breaker or CircuitBreaker(failure_threshold=100, reset_after=1)
    return SiakClient(
        "http://siak.test",
        timeout=1,
        retries=retries,
        backoff=0.001,
        breaker=breaker,
        transport=httpx.MockTransport(handler),
    )


async def test_transient_failures_are_retried_with_the_same_idempotency_key():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        if len(seen) == 1:
            raise httpx.ConnectError("refused")
        if len(seen) == 2:
            return httpx.Response(
                503, json={"code": "INJECTED-FAULT", "title": "down", "status": 503, "retryable": True}
            )
        return httpx.Response(200, json={"ok": True})

    siak = client(handler)
    assert await siak.post("/v1/births", {"a": 1}, idempotency_key="key-1") == {"ok": True}
    assert seen == ["key-1", "key-1", "key-1"]
    await siak.close()


async def test_a_registry_refusal_is_permanent_and_not_retried():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(
            422,
            json={
                "code": "KK-NOT-FOUND",
                "title": "no such family",
                "status": 422,
                "detail": "family card unknown",
                "retryable": False,
            },
        )

    siak = client(handler)
    with pytest.raises(PermanentError) as refused:
        await siak.post("/v1/births", {}, idempotency_key="k")
    assert refused.value.code.code == "KK-NOT-FOUND" and len(calls) == 1
    await siak.close()


async def test_a_missing_person_is_none_when_allowed_and_retries_are_bounded():
    siak = client(
        lambda request: httpx.Response(
            404, json={"code": "NOT-FOUND", "title": "no", "status": 404, "retryable": False}
        )
    )
    assert await siak.get("/v1/persons/1", missing_ok=True) is None
    failing = client(lambda request: httpx.Response(500, json={}), retries=3)
    with pytest.raises(RegistryUnavailable, match="after 4 attempts"):
        await failing.get("/v1/persons/1")
    await siak.close()
    await failing.close()


def test_the_breaker_opens_after_consecutive_failures_and_half_opens_for_one_trial():
    clock, changes = Clock(), []
    breaker = CircuitBreaker(
        failure_threshold=3, reset_after=10, clock=clock, on_change=lambda state, failures: changes.append(state)
    )
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == OPEN and not breaker.allow()
    clock.now = 10
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # one trial at a time
    breaker.failure()
    assert breaker.state == OPEN
    clock.now = 20
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and breaker.allow()
    assert changes == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


async def test_an_open_circuit_fails_fast_without_calling_the_registry():
    calls = []
    breaker = CircuitBreaker(failure_threshold=2, reset_after=60)

    def handler(request):
        calls.append(1)
        return httpx.Response(503, json={})

    siak = client(handler, breaker, retries=5)
    with pytest.raises(RegistryUnavailable):
        await siak.get("/v1/families/1")
    assert len(calls) == 2 and breaker.state == OPEN
    with pytest.raises(RegistryUnavailable, match="circuit open"):
        await siak.get("/v1/families/1")
    assert len(calls) == 2
    await siak.close()
