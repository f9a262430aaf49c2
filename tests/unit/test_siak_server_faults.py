"""The SIAK reference server without a database: fault decisions, exemptions and request hashing."""

from __future__ import annotations

import httpx

from hub.adapters.siak.models import StillbirthIn
from hub.devtools.siak.server import create_app
from hub.devtools.siak.server_faults import FaultInjector, Faults, Stats
from hub.devtools.siak.server_store import BIRTHS, STILLBIRTHS, request_hash

NOWHERE = "postgresql://nobody@127.0.0.1:9/none"  # never connected: no lifespan runs in these tests


def decisions(injector: FaultInjector, count: int = 40) -> list[tuple]:
    stats = Stats()
    return [(p.refusal is not None, p.sleep_s, p.drop) for p in (injector.plan("POST", stats) for _ in range(count))]


def test_the_same_seed_gives_the_same_faults_and_a_change_reseeds():
    faults = Faults(error_rate=0.3, timeout_rate=0.3, timeout_sleep_s=1, drop_after_write_rate=0.3, seed=5)
    one, two = FaultInjector(faults), FaultInjector(faults)
    first = decisions(one)
    assert first == decisions(two)
    assert first != decisions(
        FaultInjector(Faults(error_rate=0.3, timeout_rate=0.3, timeout_sleep_s=1, drop_after_write_rate=0.3, seed=6))
    )
    one.replace(faults)
    assert decisions(one) == first
    assert {d[0] for d in first} == {True, False} and {d[2] for d in first} == {True, False}


def test_gets_are_never_dropped():
    injector = FaultInjector(Faults(drop_after_write_rate=1))
    assert not any(injector.plan("GET", Stats()).drop for _ in range(10))
    assert all(injector.plan("POST", Stats()).drop for _ in range(10))


async def test_down_answers_every_contract_request_but_the_fault_controls_still_work():
    app = create_app(NOWHERE, Faults(down=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://siak") as client:
        down = await client.get("/v1/persons/3171000000000000")
        assert down.status_code == 503 and down.headers["content-type"] == "application/problem+json"
        assert down.json()["code"] == "INJECTED-FAULT" and down.json()["retryable"] is True
        assert (await client.put("/v1/_faults", json={"latency_ms": 5})).json()["down"] is False
        stats = (await client.get("/v1/_stats")).json()
    assert stats["faults_injected"] == {"down": 1} and stats["requests"] == 3


def test_the_request_hash_is_canonical_and_bound_to_the_operation():
    body = dict(
        message_id="m",
        hospital_id="h",
        encounter_id="e",
        mother_nik="3171000000000001",
        kk_number="3171000000000002",
        born_at="2026-01-02T03:04:05+07:00",
        birth_order=0,
        weight_g=800,
    )
    one = StillbirthIn.model_validate(body)
    two = StillbirthIn.model_validate(dict(reversed(list(body.items()))))
    assert request_hash(STILLBIRTHS, one) == request_hash(STILLBIRTHS, two)
    assert request_hash(BIRTHS, one) != request_hash(STILLBIRTHS, one)
    assert request_hash(STILLBIRTHS, one) != request_hash(STILLBIRTHS, one.model_copy(update={"weight_g": 801}))
