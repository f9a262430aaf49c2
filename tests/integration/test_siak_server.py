"""The SIAK reference server (`hub siak serve`) as a real process, over HTTP, on its own database.

The contract's promises are checked from the outside: lookups and problem bodies, registration
with an Idempotency-Key (replay, reuse, concurrency), and the injected faults a client must survive
(a write whose answer is lost, a timeout, errors, the registry down).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.support.people import WIB, households
from tests.support.siak_process import SiakProcess

pytestmark = pytest.mark.postgres
HOSPITAL = "103578001"
PROBLEM = "application/problem+json"


@pytest.fixture
async def client(siak):
    async with httpx.AsyncClient(base_url=siak.url, timeout=10, verify=siak.tls) as http:
        yield http
    siak.faults()  # every test starts and ends without faults


@pytest.fixture
async def home(environment):
    return (await households(environment.settings.dsn, 1))[0]


def registration(home, **changes) -> dict:
    body = dict(
        message_id=f"MSG-{uuid.uuid4().hex}",
        hospital_id=HOSPITAL,
        encounter_id=f"ENC-{uuid.uuid4().hex[:12]}",
        mother_nik=home.mother.nik,
        mother_name=home.mother.name,
        kk_number=home.mother.kk_number,
        father_nik=home.father.nik,
        father_name=home.father.name,
        child_name="Anak Uji Coba",
        sex="female",
        born_at=(datetime.now(WIB) - timedelta(hours=3)).isoformat(),
        birth_order=0,
        plurality=1,
        weight_g=3100,
        length_cm=49.5,
        gestational_weeks=39.0,
        attendant=1,
        place_type=1,
        marriage="married-recorded",
        reporter_nik=home.father.nik,
        witness_niks=[home.father.nik, home.mother.nik],
        akta_variant="both-parents",
        late=False,
    )
    return {**body, **changes}


def key() -> str:
    return f"test-{uuid.uuid4()}"


async def births_rows(environment, message_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(environment.settings.dsn)
    try:
        return await conn.fetch("SELECT * FROM births WHERE message_id = $1", message_id)
    finally:
        await conn.close()


def assert_problem(response: httpx.Response, status: int, code: str, retryable: bool = False) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"], body["retryable"]) == (status, code, retryable)
    assert body["title"]


async def test_person_and_family_lookups(client, home):
    person = (await client.get(f"/v1/persons/{home.mother.nik}")).json()
    assert person == {
        "nik": home.mother.nik,
        "name": home.mother.name,
        "sex": "female",
        "birth_date": home.mother.birth_date.isoformat(),
        "kk_number": home.mother.kk_number,
        "alive": True,
    }
    family = (await client.get(f"/v1/families/{home.mother.kk_number}")).json()
    assert (family["kk_number"], family["kecamatan"], family["version"]) == (
        home.mother.kk_number,
        home.kecamatan,
        home.kk_version,
    )
    assert {"nik": home.mother.nik, "relationship": "ISTRI"}.items() <= next(
        m for m in family["members"] if m["nik"] == home.mother.nik
    ).items()
    assert (await client.get("/v1/health")).json() == {"status": "ok"}


async def test_unknown_things_are_problem_answers(client):
    assert_problem(await client.get("/v1/persons/3171000000000000"), 404, "PERSON-NOT-FOUND")
    assert_problem(await client.get("/v1/families/3171000000000000"), 404, "KK-NOT-FOUND")
    assert_problem(await client.get("/v1/births/by-key/never-used"), 404, "REGISTRATION-NOT-FOUND")
    assert_problem(await client.get("/v1/persons/not-a-nik"), 400, "REQUEST-INVALID")
    assert_problem(await client.get("/v1/births"), 400, "SELECTOR-REQUIRED")
    assert_problem(await client.get("/v1/births", params={"hospital_id": HOSPITAL}), 400, "SELECTOR-REQUIRED")
    assert_problem(await client.get("/v1/nowhere"), 404, "NOT-FOUND")


async def test_registration_is_answered_once_and_replayed_identically(client, home, environment):
    body, k = registration(home), key()

    first = await client.post("/v1/births", json=body, headers={"Idempotency-Key": k})
    again = await client.post("/v1/births", json=body, headers={"Idempotency-Key": k})

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    out = first.json()
    assert out["idempotency_key"] == k and out["kk_version"] == home.kk_version + 1
    assert out["members"][-1] == {
        "nik": out["child_nik"],
        "name": body["child_name"],
        "sex": "female",
        "birth_date": body["born_at"][:10],
        "relationship": "ANAK",
    }
    rows = await births_rows(environment, body["message_id"])
    assert len(rows) == 1 and rows[0]["child_nik"] == out["child_nik"]
    by_key = await client.get(f"/v1/births/by-key/{k}")
    assert by_key.status_code == 200 and by_key.content == first.content
    found = (
        await client.get(
            "/v1/births", params={"hospital_id": HOSPITAL, "encounter_id": body["encounter_id"], "birth_order": 0}
        )
    ).json()
    assert [(b["child_nik"], b["akta_number"], b["stillborn"]) for b in found] == [
        (out["child_nik"], out["akta_number"], False)
    ]
    of_mother = (await client.get("/v1/births", params={"mother_nik": home.mother.nik})).json()
    assert out["child_nik"] in {b["child_nik"] for b in of_mother}
    family = (await client.get(f"/v1/families/{home.mother.kk_number}")).json()
    assert family["version"] == out["kk_version"] and family["members"] == out["members"]


async def test_a_key_reused_with_another_body_is_a_conflict(client, home, environment):
    body, k = registration(home), key()
    assert (await client.post("/v1/births", json=body, headers={"Idempotency-Key": k})).status_code == 201

    changed = {**body, "child_name": "Nama Lain"}
    assert_problem(
        await client.post("/v1/births", json=changed, headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY-KEY-REUSED"
    )
    other = registration(home)
    assert_problem(
        await client.post("/v1/stillbirths", json=_stillbirth(other), headers={"Idempotency-Key": k}),
        409,
        "IDEMPOTENCY-KEY-REUSED",
    )
    assert len(await births_rows(environment, body["message_id"])) == 1
    assert await births_rows(environment, other["message_id"]) == []


async def test_the_same_birth_under_another_key_is_a_conflict(client, home):
    body = registration(home)
    assert (await client.post("/v1/births", json=body, headers={"Idempotency-Key": key()})).status_code == 201
    second = {**body, "message_id": f"MSG-{uuid.uuid4().hex}"}
    assert_problem(
        await client.post("/v1/births", json=second, headers={"Idempotency-Key": key()}), 409, "BIRTH-ALREADY-RECORDED"
    )


async def test_refused_requests_record_nothing(client, home, environment):
    body = registration(home)
    assert_problem(await client.post("/v1/births", json=body), 400, "IDEMPOTENCY-KEY-REQUIRED")
    assert_problem(
        await client.post("/v1/births", json={**body, "weight_g": "heavy"}, headers={"Idempotency-Key": key()}),
        400,
        "REQUEST-INVALID",
    )
    naive = {**body, "born_at": body["born_at"][:19]}
    assert_problem(
        await client.post("/v1/births", json=naive, headers={"Idempotency-Key": key()}), 400, "REQUEST-INVALID"
    )
    k = key()
    unknown_kk = {**body, "kk_number": "3171000000000000"}
    assert_problem(
        await client.post("/v1/births", json=unknown_kk, headers={"Idempotency-Key": k}), 422, "KK-NOT-FOUND"
    )
    assert_problem(
        await client.post("/v1/births", json={**body, "hospital_id": "999999999"}, headers={"Idempotency-Key": key()}),
        422,
        "HOSPITAL-NOT-FOUND",
    )
    assert await births_rows(environment, body["message_id"]) == []
    assert_problem(await client.get(f"/v1/births/by-key/{k}"), 404, "REGISTRATION-NOT-FOUND")
    # a refusal leaves the key free: the corrected request under the same key registers
    assert (await client.post("/v1/births", json=body, headers={"Idempotency-Key": k})).status_code == 201


async def test_ten_concurrent_requests_with_one_key_register_once(client, home, environment, siak):
    body, k = registration(home), key()
    before = siak.stats()["births_registered"]

    answers = await asyncio.gather(
        *(client.post("/v1/births", json=body, headers={"Idempotency-Key": k}) for _ in range(10))
    )

    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    assert len({a.content for a in answers}) == 1
    assert len(await births_rows(environment, body["message_id"])) == 1
    assert siak.stats()["births_registered"] == before + 1


def _stillbirth(body: dict) -> dict:
    keep = (
        "message_id",
        "hospital_id",
        "encounter_id",
        "mother_nik",
        "kk_number",
        "born_at",
        "birth_order",
        "weight_g",
        "gestational_weeks",
    )
    return {name: body[name] for name in keep}


async def test_stillbirths_are_recorded_once(client, home, environment):
    body, k = _stillbirth(registration(home, weight_g=900, gestational_weeks=27.0)), key()

    first = await client.post("/v1/stillbirths", json=body, headers={"Idempotency-Key": k})
    again = await client.post("/v1/stillbirths", json=body, headers={"Idempotency-Key": k})

    assert (first.status_code, again.status_code) == (201, 200) and again.content == first.content
    rows = await births_rows(environment, body["message_id"])
    assert len(rows) == 1 and rows[0]["stillborn"] and rows[0]["child_nik"] is None
    assert_problem(await client.get(f"/v1/births/by-key/{k}"), 404, "REGISTRATION-NOT-FOUND")
    assert_problem(
        await client.post(
            "/v1/stillbirths", json={**body, "kk_number": "3171000000000000"}, headers={"Idempotency-Key": key()}
        ),
        422,
        "KK-NOT-FOUND",
    )


async def test_a_dropped_answer_after_the_write_is_recovered_by_retrying_the_key(client, home, environment, siak):
    body, k = registration(home), key()
    siak.faults(drop_after_write_rate=1)

    with pytest.raises(httpx.TransportError) as lost:
        await client.post("/v1/births", json=body, headers={"Idempotency-Key": k})
    assert isinstance(lost.value, httpx.RemoteProtocolError)  # a broken response, not an HTTP answer

    rows = await births_rows(environment, body["message_id"])
    assert len(rows) == 1, "the write was committed before the connection dropped"
    assert siak.stats()["faults_injected"]["drop_after_write"] >= 1
    siak.faults()
    retried = await client.post("/v1/births", json=body, headers={"Idempotency-Key": k})
    assert retried.status_code == 200 and retried.json()["child_nik"] == rows[0]["child_nik"]
    assert (await client.get(f"/v1/births/by-key/{k}")).content == retried.content
    assert "DroppedConnection" not in siak_log(siak)


def siak_log(siak: SiakProcess) -> str:
    return siak._log_path.read_text(errors="replace")


async def test_a_timed_out_request_is_still_carried_out_and_a_retry_gets_its_answer(client, home, environment, siak):
    body, k = registration(home), key()
    siak.faults(timeout_rate=1, timeout_sleep_s=1.5)

    with pytest.raises(httpx.ReadTimeout):
        await client.post("/v1/births", json=body, headers={"Idempotency-Key": k}, timeout=0.3)

    siak.faults()
    deadline = time.monotonic() + 10
    while not await births_rows(environment, body["message_id"]) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    retried = await client.post("/v1/births", json=body, headers={"Idempotency-Key": k})
    assert retried.status_code == 200, retried.text
    assert len(await births_rows(environment, body["message_id"])) == 1


async def test_injected_errors_and_down_are_retryable_problems_and_change_nothing(client, home, environment, siak):
    body = registration(home)
    siak.faults(error_rate=1)
    assert_problem(
        await client.post("/v1/births", json=body, headers={"Idempotency-Key": key()}),
        503,
        "INJECTED-FAULT",
        retryable=True,
    )
    assert_problem(await client.get(f"/v1/persons/{home.mother.nik}"), 503, "INJECTED-FAULT", retryable=True)

    put = await client.put("/v1/_faults", json={"down": True})
    assert put.status_code == 200 and put.json()["down"] is True
    assert (await client.get("/v1/_faults")).json()["down"] is True
    assert_problem(await client.get("/v1/health"), 503, "INJECTED-FAULT", retryable=True)
    assert await births_rows(environment, body["message_id"]) == []
    stats = (await client.get("/v1/_stats")).json()
    assert stats["faults_injected"]["error"] >= 2 and stats["faults_injected"]["down"] >= 1

    assert (await client.put("/v1/_faults", json={})).json()["down"] is False
    assert (await client.get("/v1/health")).status_code == 200
    assert_problem(await client.put("/v1/_faults", json={"error_rate": 2}), 400, "REQUEST-INVALID")


async def test_latency_is_added_to_every_request(client, siak):
    siak.faults(latency_ms=300)
    started = time.monotonic()
    assert (await client.get("/v1/health")).status_code == 200
    assert time.monotonic() - started >= 0.3
