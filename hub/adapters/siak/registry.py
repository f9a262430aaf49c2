"""The `siak-http` civil registry adapter: the CivilRegistry port over the SIAK-style REST contract."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from hub.adapters.siak.client import SiakClient
from hub.adapters.siak.models import (
    BirthOut,
    BirthRegistrationIn,
    BirthRegistrationOut,
    FamilyOut,
    PersonOut,
    StillbirthIn,
)
from hub.domain.decision import Register, RegistryFacts
from hub.domain.documents import Correction
from hub.domain.family import FamilyCardVersion
from hub.domain.values import BirthNotice, Family, FamilyMember, Person, RegisteredBirth
from hub.service.ports import Registration

KEY_NAMESPACE = uuid.UUID("0e3f6c52-8a61-4f0e-9d35-3c7b1f2a9e11")


def idempotency_key(kind: str, hospital_id: str, message_id: str) -> str:
    """Derived from the message (sending hospital, message id): every retry of one registration
    uses the same key, and two hospitals' messages with the same id never share one."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{kind}/{hospital_id}/{message_id}"))


class SiakHttpRegistry:
    def __init__(self, client: SiakClient) -> None:
        self._client = client

    async def facts(self, notice: BirthNotice) -> RegistryFacts:
        """The lookups the decision needs, sent to the registry concurrently."""

        async def nobody() -> None:
            return None

        mother, father, family, same, births = await asyncio.gather(
            self.person(notice.mother_nik),
            self.person(notice.father_nik) if notice.father_nik else nobody(),
            self.family(notice.kk_number),
            self.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order),
            self.births_of_mother(notice.mother_nik),
        )
        return RegistryFacts(None, mother, family, father, same, tuple(births))

    async def person(self, nik: str) -> Person | None:
        found = await self._client.get(f"/v1/persons/{nik}", missing_ok=True)
        if found is None:
            return None
        p = PersonOut.model_validate(found)
        return Person(p.nik, p.name, p.sex, p.birth_date, p.kk_number, p.alive)

    async def family(self, kk_number: str) -> Family | None:
        found = await self._client.get(f"/v1/families/{kk_number}", missing_ok=True)
        if found is None:
            return None
        f = FamilyOut.model_validate(found)
        return Family(f.kk_number, f.kecamatan, f.version, tuple(_member(m) for m in f.members))

    async def birth_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> RegisteredBirth | None:
        found = await self._client.get(
            "/v1/births", params={"hospital_id": hospital_id, "encounter_id": encounter_id, "birth_order": birth_order}
        )
        return _birth(found[0]) if found else None

    async def births_of_mother(self, mother_nik: str) -> list[RegisteredBirth]:
        return [_birth(b) for b in await self._client.get("/v1/births", params={"mother_nik": mother_nik})]

    async def reserve(self, family_cards: Collection[str]) -> None:
        """SIAK serialises its own writers; nothing to reserve from here."""

    async def prepare(self, notices: Sequence[BirthNotice], at: datetime) -> None:
        """Nothing to read ahead: SIAK is asked when a saga registers."""

    async def flush(self) -> None:
        """Every write is made at once."""

    async def register_birth(self, notice: BirthNotice, decision: Register, at: datetime) -> Registration:
        body = BirthRegistrationIn(
            message_id=notice.message_id,
            hospital_id=notice.hospital_id,
            encounter_id=notice.encounter_id,
            mother_nik=notice.mother_nik,
            mother_name=notice.mother_name,
            kk_number=notice.kk_number,
            father_nik=notice.father_nik,
            father_name=notice.father_name,
            child_name=notice.child_name,
            sex=notice.sex,
            born_at=notice.born_at,
            birth_order=notice.birth_order,
            plurality=notice.plurality,
            weight_g=notice.weight_g,
            length_cm=notice.length_cm,
            gestational_weeks=notice.gestational_weeks,
            attendant=notice.attendant,
            place_type=notice.place_type,
            marriage=notice.marriage,
            reporter_nik=notice.reporter_nik,
            witness_niks=list(notice.witness_niks),
            akta_variant=decision.variant,
            late=decision.late,
        )
        answer = await self._client.post(
            "/v1/births",
            body.model_dump(mode="json"),
            idempotency_key=idempotency_key("birth", notice.hospital_id, notice.message_id),
        )
        out = BirthRegistrationOut.model_validate(answer)
        card = FamilyCardVersion(out.kk_number, out.kk_version, out.kecamatan, tuple(_member(m) for m in out.members))
        return Registration(out.child_nik, out.akta_number, out.issuing_regency, card, out.registered_at)

    async def record_stillbirth(self, notice: BirthNotice, at: datetime) -> None:
        body = StillbirthIn(
            message_id=notice.message_id,
            hospital_id=notice.hospital_id,
            encounter_id=notice.encounter_id,
            mother_nik=notice.mother_nik,
            kk_number=notice.kk_number,
            born_at=notice.born_at,
            birth_order=notice.birth_order,
            weight_g=notice.weight_g,
            gestational_weeks=notice.gestational_weeks,
        )
        await self._client.post(
            "/v1/stillbirths",
            body.model_dump(mode="json"),
            idempotency_key=idempotency_key("stillbirth", notice.hospital_id, notice.message_id),
        )

    async def correct_child(self, child_nik: str, correction: Correction) -> bool:
        """The SIAK contract has no correction call: SIAK, the registry's owner, applies a
        pembetulan from the civil.documents-issued event (reason "correction") it consumes."""
        return False


def _member(m) -> FamilyMember:
    return FamilyMember(m.nik, m.name, m.sex, m.birth_date, m.relationship)


def _birth(found: dict) -> RegisteredBirth:
    b = BirthOut.model_validate(found)
    return RegisteredBirth(
        b.message_id,
        b.hospital_id,
        b.encounter_id,
        b.birth_order,
        b.mother_nik,
        b.born_at,
        b.child_nik,
        b.akta_number,
        b.kk_number,
        b.kk_version,
        b.stillborn,
    )
