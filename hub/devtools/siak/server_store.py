"""The SIAK reference server's database work: the embedded registry behind the HTTP contract.

Every POST runs in ONE PostgreSQL transaction that first claims its Idempotency-Key in
`siak_requests` (INSERT ... ON CONFLICT DO NOTHING), then registers with `EmbeddedRegistry`, then
stores the answer on the claimed row. A concurrent request with the same key blocks on the
primary key until the first commits, then reads the stored answer; if the first rolls back (a
refusal), the second goes ahead as if it were first. Refusals therefore leave nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from hub.adapters.postgres.database import TRANSIENT, PgConnection
from hub.adapters.postgres.registry import EmbeddedRegistry
from hub.adapters.siak.models import (
    BirthOut,
    BirthRegistrationIn,
    BirthRegistrationOut,
    FamilyOut,
    MemberOut,
    PersonOut,
    StillbirthIn,
    StillbirthOut,
)
from hub.devtools.siak.server_problems import Refusal, not_found
from hub.domain import codes
from hub.domain.decision import Register
from hub.domain.values import Attendant, BirthNotice, MarriageStatus, PlaceType, Sex
from hub.errors import PermanentError, TransientError

BIRTHS, STILLBIRTHS = "POST /v1/births", "POST /v1/stillbirths"
_CLAIM = """INSERT INTO siak_requests (idempotency_key, operation, request_hash, status, created_at)
            VALUES ($1, $2, $3, 0, $4) ON CONFLICT (idempotency_key) DO NOTHING RETURNING true"""
_STORED = "SELECT operation, request_hash, status, response FROM siak_requests WHERE idempotency_key = $1"
_ANSWER = "UPDATE siak_requests SET status = $2, response = $3::jsonb WHERE idempotency_key = $1"
# Unique keys of `births` a different Idempotency-Key can run into: the birth is already recorded.
_DUPLICATES = {
    "births_hospital_id_encounter_id_birth_order_key": "BIRTH-ALREADY-RECORDED",
    "births_hospital_id_message_id_key": "MESSAGE-ID-ALREADY-USED",
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: BaseModel
    replayed: bool = False


def request_hash(operation: str, request: BaseModel) -> str:
    """SHA-256 of the operation and the request's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


@contextlib.contextmanager
def refusals():
    """Translate registry and driver errors into the contract's problem answers."""
    try:
        yield
    except PermanentError as exc:
        raise Refusal(422, exc.code.code, str(exc)) from exc
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name in _DUPLICATES:
            raise Refusal(409, _DUPLICATES[exc.constraint_name], exc.detail) from exc
        raise Refusal(503, "REGISTRY-BUSY", "a concurrent registration won a number: retry") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        if exc.constraint_name == "births_hospital_id_fkey":
            raise Refusal(422, "HOSPITAL-NOT-FOUND", exc.detail) from exc
        raise
    except (*TRANSIENT, TransientError) as exc:
        raise Refusal(503, "REGISTRY-UNAVAILABLE", f"{type(exc).__name__}: {exc}") from exc


class SiakStore:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], datetime]) -> None:
        self._pool, self._clock = pool, clock

    async def ping(self) -> None:
        with refusals():
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")

    async def person(self, nik: str) -> PersonOut:
        async with self._registry() as registry:
            person = await registry.person(nik)
        if person is None:
            raise not_found("PERSON-NOT-FOUND", f"no person with NIK {nik}")
        return PersonOut(
            nik=person.nik,
            name=person.name,
            sex=person.sex,
            birth_date=person.birth_date,
            kk_number=person.kk_number,
            alive=person.alive,
        )

    async def family(self, kk_number: str) -> FamilyOut:
        async with self._registry() as registry:
            family = await registry.family(kk_number)
        if family is None:
            raise not_found("KK-NOT-FOUND", f"no family card {kk_number}")
        return FamilyOut(
            kk_number=family.kk_number,
            kecamatan=family.kecamatan,
            version=family.version,
            members=[_member(m) for m in family.members],
        )

    async def births_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> list[BirthOut]:
        async with self._registry() as registry:
            found = await registry.birth_by_key(hospital_id, encounter_id, birth_order)
        return [] if found is None else [BirthOut(**_fields(found))]

    async def births_of_mother(self, mother_nik: str) -> list[BirthOut]:
        async with self._registry() as registry:
            return [BirthOut(**_fields(b)) for b in await registry.births_of_mother(mother_nik)]

    async def registration_by_key(self, key: str) -> BirthRegistrationOut:
        with refusals():
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(_STORED, key)
        if row is None or row["operation"] != BIRTHS:
            raise not_found("REGISTRATION-NOT-FOUND", f"no birth registration with Idempotency-Key {key!r}")
        return BirthRegistrationOut.model_validate_json(row["response"])

    async def register_birth(self, key: str, request: BirthRegistrationIn) -> Answer:
        async def work(conn: PgConnection, at: datetime) -> BirthRegistrationOut:
            decision = Register(variant=request.akta_variant, late=request.late)
            registry = EmbeddedRegistry(conn)
            done = await registry.register_birth(_birth_notice(request), decision, at)
            await registry.flush()  # written with the key's row, in the same transaction
            card = done.family_card
            return BirthRegistrationOut(
                idempotency_key=key,
                child_nik=done.child_nik,
                akta_number=done.akta_number,
                issuing_regency=done.issuing_regency,
                kk_number=card.kk_number,
                kk_version=card.version,
                kecamatan=card.kecamatan,
                members=[_member(m) for m in card.members],
                registered_at=at,
            )

        return await self._once(key, BIRTHS, request, BirthRegistrationOut, work)

    async def record_stillbirth(self, key: str, request: StillbirthIn) -> Answer:
        async def work(conn: PgConnection, at: datetime) -> StillbirthOut:
            registry = EmbeddedRegistry(conn)
            if await registry.family(request.kk_number) is None:
                raise PermanentError(codes.KK_NOT_FOUND, f"no family card {request.kk_number}")
            await registry.record_stillbirth(_stillbirth_notice(request), at)
            await registry.flush()
            return StillbirthOut(idempotency_key=key, recorded_at=at)

        return await self._once(key, STILLBIRTHS, request, StillbirthOut, work)

    async def _once(
        self,
        key: str,
        operation: str,
        request: BaseModel,
        out: type[BaseModel],
        work: Callable[[PgConnection, datetime], Awaitable[BaseModel]],
    ) -> Answer:
        """Carry out `work` at most once per key, in one transaction with the key's row."""
        digest, at = request_hash(operation, request), self._clock()
        with refusals():
            async with self._pool.acquire() as conn, conn.transaction():
                if not await conn.fetchval(_CLAIM, key, operation, digest, at):
                    stored = await conn.fetchrow(_STORED, key)
                    assert stored is not None  # the claim ran into this key's row
                    return _replay(stored, operation, digest, out)
                body = await work(conn, at)
                await conn.execute(_ANSWER, key, 201, body.model_dump_json())
        return Answer(201, body)

    @contextlib.asynccontextmanager
    async def _registry(self):
        with refusals():
            async with self._pool.acquire() as conn:
                yield EmbeddedRegistry(conn)


def _replay(row: asyncpg.Record, operation: str, digest: str, out: type[BaseModel]) -> Answer:
    if row["operation"] != operation or row["request_hash"] != digest:
        raise Refusal(
            409,
            "IDEMPOTENCY-KEY-REUSED",
            f"this Idempotency-Key was first used with a different request ({row['operation']})",
        )
    return Answer(200, out.model_validate_json(row["response"]), replayed=True)


def _member(m) -> MemberOut:
    return MemberOut(nik=m.nik, name=m.name, sex=m.sex, birth_date=m.birth_date, relationship=m.relationship)


def _fields(birth) -> dict:
    return {name: getattr(birth, name) for name in BirthOut.model_fields}


def _birth_notice(r: BirthRegistrationIn) -> BirthNotice:
    return BirthNotice(
        message_id=r.message_id,
        hospital_id=r.hospital_id,
        encounter_id=r.encounter_id,
        mother_nik=r.mother_nik,
        kk_number=r.kk_number,
        mother_name=r.mother_name,
        mother_birth_date=None,
        child_name=r.child_name,
        sex=r.sex,
        born_at=r.born_at,
        birth_order=r.birth_order,
        plurality=r.plurality,
        weight_g=r.weight_g,
        length_cm=r.length_cm,
        gestational_weeks=r.gestational_weeks,
        attendant=r.attendant,
        place_type=r.place_type,
        marriage=r.marriage,
        reporter_nik=r.reporter_nik,
        witness_niks=tuple(r.witness_niks),
        father_nik=r.father_nik,
        father_name=r.father_name,
    )


def _stillbirth_notice(r: StillbirthIn) -> BirthNotice:
    """The stillbirth register keeps only the birth's key, mother, family, time, weight and gestation;
    the notice's other fields are required by the type but not recorded, so they get neutral values."""
    return BirthNotice(
        message_id=r.message_id,
        hospital_id=r.hospital_id,
        encounter_id=r.encounter_id,
        mother_nik=r.mother_nik,
        kk_number=r.kk_number,
        mother_name="",
        mother_birth_date=None,
        child_name="",
        sex=Sex.FEMALE,
        born_at=r.born_at,
        birth_order=r.birth_order,
        plurality=1,
        weight_g=r.weight_g,
        length_cm=None,
        gestational_weeks=r.gestational_weeks,
        attendant=Attendant.OTHER,
        place_type=PlaceType.OTHER,
        marriage=MarriageStatus.PARENTS_UNKNOWN,
        reporter_nik=r.mother_nik,
        witness_niks=(),
        stillborn=True,
    )
