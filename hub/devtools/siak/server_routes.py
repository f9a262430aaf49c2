"""The reference server's routes: the contract (`registry`) and the test-only controls (`control`).

Every route answers with explicit JSON bytes (`model_dump_json`), so a replayed registration is
byte-for-byte the first answer. Error answers are described with `responses=` so the OpenAPI
document lists every status with its Problem body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response

from hub.adapters.siak.models import (
    NIK,
    BirthOut,
    BirthRegistrationIn,
    BirthRegistrationOut,
    FamilyOut,
    PersonOut,
    StillbirthIn,
    StillbirthOut,
)
from hub.devtools.problem_http import REPLAYED, control_router, problems
from hub.devtools.siak.server_faults import Stats
from hub.devtools.siak.server_problems import Refusal
from hub.devtools.siak.server_store import Answer, SiakStore

registry = APIRouter(prefix="/v1", tags=["registry"])
control = control_router(
    "New registrations and stillbirths (replays not counted), replays, requests and injected faults by kind."
)
_BIRTHS = TypeAdapter(list[BirthOut])
SAFE = "Safe to retry: it changes nothing."
COMMON = {
    500: "`INTERNAL-ERROR`: a bug in the registry. Retryable.",
    503: "`REGISTRY-UNAVAILABLE` (its database is unreachable), `REGISTRY-BUSY` (a concurrent registration; "
    "retry) or, on the reference server, `INJECTED-FAULT`. Retryable, with backoff.",
}
INVALID = "`REQUEST-INVALID`: a parameter or the body does not match the schema (detail says which)."
POST_PROBLEMS = {
    400: "`IDEMPOTENCY-KEY-REQUIRED` (no `Idempotency-Key` header), `IDEMPOTENCY-KEY-INVALID` (longer than "
    "200 characters) or `REQUEST-INVALID` (body does not match the schema; `born_at` needs a UTC offset).",
    409: "`IDEMPOTENCY-KEY-REUSED`: this key was first used with a different body or operation; "
    "`BIRTH-ALREADY-RECORDED`: another key already recorded this birth (hospital, encounter, birth "
    "order): read it with GET /v1/births; `MESSAGE-ID-ALREADY-USED`: another birth from the same "
    "hospital has this message id.",
    422: "The registry refuses: `KK-NOT-FOUND` (no such family card), `HOSPITAL-NOT-FOUND` (unknown "
    "hospital_id), `NUMBER-SPACE-EXHAUSTED` (no NIK or akta serial left for the kecamatan and day). "
    "Nothing was recorded; not retryable as is.",
}


def _problems(described: dict[int, str]) -> dict:
    return problems(described, COMMON)


def _store(request: Request) -> SiakStore:
    return request.app.state.store


def _stats(request: Request) -> Stats:
    return request.app.state.stats


def _json(body: BaseModel | bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else body.model_dump_json()
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def _answer(answer: Answer, stats: Stats, counter: str) -> Response:
    if answer.replayed:
        stats.replays += 1
        return _json(answer.body, 200, {"Idempotent-Replayed": "true"})
    setattr(stats, counter, getattr(stats, counter) + 1)
    return _json(answer.body, answer.status)


def _require_offset(born_at) -> None:
    if born_at.utcoffset() is None:
        raise Refusal(400, "REQUEST-INVALID", "born_at: needs a UTC offset (local time of the place of birth)")


Store = Annotated[SiakStore, Depends(_store)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "Chosen by the client, one per intended registration (the hub derives it from the notification's message id). "
            "Repeat it, unchanged, on every retry of the same request."
        ),
    ),
]
NikPath = Annotated[str, Path(pattern=NIK)]


@registry.get(
    "/persons/{nik}",
    response_model=PersonOut,
    summary="A person by NIK",
    description=SAFE,
    responses=_problems({400: INVALID, 404: "`PERSON-NOT-FOUND`."}),
)
async def get_person(nik: NikPath, store: Store) -> Response:
    return _json(await store.person(nik))


@registry.get(
    "/families/{kk_number}",
    response_model=FamilyOut,
    summary="A family card, current version",
    description="The family card (KK) at its current version, with its members in card order. " + SAFE,
    responses=_problems({400: INVALID, 404: "`KK-NOT-FOUND`."}),
)
async def get_family(kk_number: NikPath, store: Store) -> Response:
    return _json(await store.family(kk_number))


@registry.get(
    "/births",
    response_model=list[BirthOut],
    summary="Births by key or by mother",
    description="Select with exactly one of: `hospital_id` + `encounter_id` + `birth_order` (the "
    "birth's unique key: zero or one result), or `mother_nik` (her births, oldest "
    "first). Registered births and recorded stillbirths. " + SAFE,
    responses=_problems(
        {400: "`SELECTOR-REQUIRED` (no complete selector), `SELECTOR-AMBIGUOUS` (both selectors) or " + INVALID}
    ),
)
async def find_births(
    store: Store,
    hospital_id: str | None = None,
    encounter_id: str | None = None,
    birth_order: Annotated[int | None, Query(ge=0)] = None,
    mother_nik: Annotated[str | None, Query(pattern=NIK)] = None,
) -> Response:
    by_key = [hospital_id, encounter_id, birth_order]
    if mother_nik is not None and any(v is not None for v in by_key):
        raise Refusal(400, "SELECTOR-AMBIGUOUS", "give either hospital_id/encounter_id/birth_order or mother_nik")
    if mother_nik is not None:
        return _json(_BIRTHS.dump_json(await store.births_of_mother(mother_nik)))
    if hospital_id is None or encounter_id is None or birth_order is None:
        raise Refusal(400, "SELECTOR-REQUIRED", "give hospital_id, encounter_id and birth_order, or mother_nik")
    return _json(_BIRTHS.dump_json(await store.births_by_key(hospital_id, encounter_id, birth_order)))


@registry.post(
    "/births",
    status_code=201,
    response_model=BirthRegistrationOut,
    summary="Register a live birth",
    description="Assigns the child's NIK, issues the akta kelahiran and reissues the family card "
    "with the child last, in one transaction. Safe to retry with the same "
    "`Idempotency-Key`: a repeat gets the first answer with 200.",
    responses={
        200: {
            "model": BirthRegistrationOut,
            "headers": REPLAYED,
            "description": "The same key and body again: the first answer, unchanged.",
        },
        **_problems(POST_PROBLEMS),
    },
)
async def register_birth(
    body: BirthRegistrationIn, key: IdempotencyKey, store: Store, stats: Annotated[Stats, Depends(_stats)]
) -> Response:
    _require_offset(body.born_at)
    return _answer(await store.register_birth(key, body), stats, "births_registered")


@registry.get(
    "/births/by-key/{idempotency_key}",
    response_model=BirthRegistrationOut,
    summary="A registration by its Idempotency-Key",
    description="The answer POST /v1/births gave for this key. Use it after a lost answer. " + SAFE,
    responses=_problems(
        {404: "`REGISTRATION-NOT-FOUND`: no birth was registered with this key (a refused or never-received POST)."}
    ),
)
async def registration_by_key(idempotency_key: str, store: Store) -> Response:
    return _json(await store.registration_by_key(idempotency_key))


@registry.post(
    "/stillbirths",
    status_code=201,
    response_model=StillbirthOut,
    summary="Record a stillbirth",
    description="Records the stillbirth in its register: no NIK, no akta. Safe to retry with the "
    "same `Idempotency-Key`: a repeat gets the first answer with 200.",
    responses={
        200: {
            "model": StillbirthOut,
            "headers": REPLAYED,
            "description": "The same key and body again: the first answer, unchanged.",
        },
        **_problems(POST_PROBLEMS),
    },
)
async def record_stillbirth(
    body: StillbirthIn, key: IdempotencyKey, store: Store, stats: Annotated[Stats, Depends(_stats)]
) -> Response:
    _require_offset(body.born_at)
    return _answer(await store.record_stillbirth(key, body), stats, "stillbirths")


@registry.get(
    "/health",
    summary="Liveness and database reachability",
    description=SAFE,
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}, **_problems({})},
)
async def health(store: Store) -> dict[str, str]:
    await store.ping()
    return {"status": "ok"}
