"""Use case step: is a record from the hospital it claims to be from? Checked before anything else.

Kafka's ACLs let only a hospital's principal write its notification topic
(`birth.notification.v1.<org id>`); the hospital also signs every record (a detached JWS over the
exact bytes, hub/intake/signature.py) with a key registered for it (`hub hospitals`). A record is
trusted when the topic's hospital is registered and active, the signature verifies under one of its
keys valid at the record's time, and the bundle's MessageHeader.sender is that hospital.

A record that is not trusted is never registered and never takes its message id (a forger cannot
block the real message): it is kept with the dead letters, with its code, and, when its message
id can be read, answered on the results topic of the hospital whose topic carried it (the forged
sender hears nothing). An operator's replay judges it again with the keys valid at its original
time: a key revoked or expired since does not stop it, and one registered since with a validity
that covers the record's time (through the HospitalDirectory port; `hub hospitals` registers keys
valid from the moment of registration) lets it through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from hub.config import Topics
from hub.domain.codes import Code
from hub.intake import signature
from hub.intake.envelope import Envelope, Unreadable
from hub.service.ports import Delivery, UnitOfWork

_NAMESPACE = uuid.UUID("5d0c6b0e-55d5-4b55-9d0e-6f3a1d0c9e21")


@dataclass(frozen=True, slots=True)
class Distrust:
    """Why a record is not trusted, and the hospital that is answered (its topic's owner)."""

    code: Code
    hospital_id: str | None

    def result_event_id(self, delivery: Delivery) -> str:
        """Stable for this record (a re-publish is deduplicated), never the id of a real result."""
        where = f"{delivery.topic}:{delivery.partition}:{delivery.offset}"
        return str(uuid.uuid5(_NAMESPACE, f"untrusted/{self.hospital_id}/{where}"))


class SenderTrust:
    def __init__(self, topics: Topics) -> None:
        self._topics = topics

    async def prefetch(self, uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        """Read the hospitals and keys these records name, in one go (HospitalDirectory.prefetch)."""
        owners = {owner for d in deliveries if (owner := self._topics.hospital_of(d.topic))}
        kids = {p.kid for d in deliveries if isinstance(p := signature.parse(d.signature), signature.Parsed)}
        await uow.hospitals.prefetch(owners, kids)

    async def judge(
        self, uow: UnitOfWork, raw: bytes, delivery: Delivery, envelope: Envelope | Unreadable, now: datetime
    ) -> Distrust | None:
        """None when trusted. The record's time is its Kafka timestamp when the broker stamped it
        (LogAppendTime, as on hospitals' topics), else `now`: a producer's own timestamp could put
        a record back into a revoked key's validity."""
        owner = self._topics.hospital_of(delivery.topic)
        hospital = await uow.hospitals.hospital(owner) if owner else None
        parsed = signature.parse(delivery.signature)
        key = await uow.hospitals.key(parsed.kid) if isinstance(parsed, signature.Parsed) else None
        # An unreadable record names no sender: once its signature holds, it is the hospital's own
        # unreadable message, kept on the DLQ as any other.
        sender = envelope.hospital_id if isinstance(envelope, Envelope) else owner
        code = signature.judge(
            raw,
            delivery.signature,
            topic_hospital=hospital,
            sender=sender,
            key=key,
            at=(delivery.origin_at if delivery.broker_time else None) or now,
        )
        return None if code is None else Distrust(code, hospital.org_id if hospital else None)
