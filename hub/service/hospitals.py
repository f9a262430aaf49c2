"""Use cases: the hospitals that send notifications (`hub hospitals`): onboarding, disabling,
their signing keys, and their access to Kafka.

A hospital is a row in the directory with its public signing keys (the database) and, on the
broker, two topics, a SCRAM user `hospital-<org>` and its ACLs (hub/service/broker_policy.py). The
database is the source of truth: each action commits its change and its audit entry in one unit of
work first, then makes the broker follow. When the broker step fails (Kafka down), the database
change stands and `sync` repairs the broker later: it makes topics, credentials and ACLs of every
active hospital and removes the access of every disabled one (also what a rebuilt broker needs).

Secrets: a generated Kafka password (and a generated private signing key, when the hospital gave
no public key) is written under `secrets_dir/<org>/` (folder mode 700, files 600) and returned once
for the operator to hand over; it is never logged, audited or kept anywhere else by the hub.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr

from hub.config import Topics, is_hospital_id
from hub.domain.values import Hospital, HospitalKey
from hub.errors import BrokerUnavailable, ConfigurationError, OperatorError
from hub.intake import signature
from hub.service.broker_policy import (
    hospital_acls,
    hospital_group,
    hospital_username,
    hub_consumer_acls,
    principal,
    relay_acls,
)
from hub.service.ports import AuditEntry, BrokerAccess, UnitOfWork
from hub.service.topic_layout import hospital_topic_specs

log = logging.getLogger("hub.hospitals")
T = TypeVar("T")
REGENCY = re.compile(r"\d{4}")


@dataclass(frozen=True)
class ClientProfile:
    """What every hospital's Kafka client is told besides its own credentials."""

    bootstrap: str
    ca_file: Path
    protocol: str = "SASL_SSL"
    mechanism: str = "SCRAM-SHA-512"


@dataclass(frozen=True)
class HubPrincipals:
    """The hub's own Kafka users and its consumer group (their ACLs: `grant_hub_acls`)."""

    consumer: str
    relay: str
    group: str


@dataclass(frozen=True)
class HospitalAccess:
    """A hospital's Kafka client configuration, with its password (shown once)."""

    org_id: str
    username: str
    password: SecretStr
    profile: ClientProfile
    notifications: str
    results: str
    secrets_dir: Path

    @property
    def group(self) -> str:
        return hospital_group(self.org_id)

    def client_properties(self) -> str:
        """A Java client's properties (librdkafka's equivalents in the comments)."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{self.username}" password="{self.password.get_secret_value()}";'
        )
        return "\n".join(
            [
                f"# Hospital {self.org_id}: publish to {self.notifications}, read results from {self.results}",
                f"# with group.id={self.group} (or {self.group}.<name>). librdkafka: sasl.mechanisms,",
                "# sasl.username, sasl.password and ssl.ca.location instead of sasl.mechanism,",
                "# sasl.jaas.config and ssl.truststore.*.",
                f"bootstrap.servers={self.profile.bootstrap}",
                f"security.protocol={self.profile.protocol}",
                f"sasl.mechanism={self.profile.mechanism}",
                f"sasl.jaas.config={jaas}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={self.profile.ca_file.resolve()}",
                "",
            ]
        )


@dataclass(frozen=True)
class Onboarded:
    """What `add` did: the hospital, its first key and its Kafka access (password shown once)."""

    hospital: Hospital
    kid: str
    access: HospitalAccess
    private_key_file: Path | None  # where the generated private key was written; None when one was given
    topics_created: list[str]


@dataclass(frozen=True)
class HospitalStatus:
    hospital: Hospital
    keys: list[HospitalKey]
    kafka_user: bool | None  # whether its SCRAM credential exists; None when Kafka could not be asked


@dataclass(frozen=True)
class Rotated:
    org_id: str
    kid: str
    old_keys_valid_until: datetime
    retired: int
    private_key_file: Path | None


@dataclass(frozen=True)
class SyncReport:
    active: list[str] = field(default_factory=list)
    cut_off: list[str] = field(default_factory=list)  # disabled hospitals whose access was removed
    topics_created: list[str] = field(default_factory=list)
    new_access: list[HospitalAccess] = field(default_factory=list)  # credentials made now (passwords shown once)


class SecretsFolder:
    """Files with secrets under `root/<org>/`: folders 700, files 600 (whatever the umask)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, org_id: str) -> Path:
        return self.root / org_id

    def write(self, org_id: str, name: str, content: str | bytes) -> Path:
        folder = self.folder(org_id)
        for path in (self.root, folder):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask, and an existing folder keeps its own
        target = folder / name
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode through open(): set it
        with os.fdopen(descriptor, "wb") as file:
            file.write(content.encode() if isinstance(content, str) else content)
        return target


def public_key_from(data: bytes) -> dict:
    """A public key as a file holds it (a PEM public key or a JWK), as a JWK; OperatorError otherwise."""
    return signature.public_jwk_from_pem(data)


async def grant_hub_acls(broker: BrokerAccess, topics: Topics, hub: HubPrincipals) -> None:
    """The ACLs of the hub's consumer and outbox relay for these topics (idempotent). A granted ACL
    reaches the broker's authorizer through the metadata log a moment later: this waits (10 s at
    most) until the broker shows them, so a consumer started next does not meet an authorisation
    error."""
    wanted = hub_consumer_acls(topics, hub.group, hub.consumer) + relay_acls(topics, hub.relay)
    await broker.grant(wanted)
    for _ in range(50):
        shown = set(await broker.acls_of(principal(hub.consumer))) | set(await broker.acls_of(principal(hub.relay)))
        if set(wanted) <= shown:
            return
        await asyncio.sleep(0.2)


class HospitalDesk:
    """`hub hospitals`: every action is audited under `by`, the operator's identity."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        broker: BrokerAccess,
        topics: Topics,
        clock: Callable[[], datetime],
        *,
        regency_known: Callable[[str], bool],
        profile: ClientProfile,
        hub: HubPrincipals,
        secrets_dir: Path,
        partitions: int,
    ) -> None:
        self._uow, self._broker, self._topics, self._clock = unit_of_work, broker, topics, clock
        self._regency_known, self._profile, self._hub = regency_known, profile, hub
        self._secrets, self._partitions = SecretsFolder(secrets_dir), partitions

    async def add(
        self, org_id: str, name: str, regency: str, public_key: dict | None, by: str, reason: str = ""
    ) -> Onboarded:
        """Register the hospital with its first key, then give it its topics, Kafka user and ACLs.
        Without a public key a key pair is generated (development: the private key goes to the
        secrets folder). An organisation id already registered is refused."""
        hospital = Hospital(self._org_id(org_id), _name(name), self._regency(regency), True)
        jwk, private_pem = _key_pair(public_key)
        kid = _kid(hospital.org_id, jwk)
        now = self._clock()
        async with self._uow() as uow:
            if await uow.hospitals.hospital(hospital.org_id) is not None or not await uow.hospitals.add(hospital):
                raise OperatorError(
                    f"hospital {hospital.org_id} is registered already (`hub hospitals sync {hospital.org_id}` "
                    "repairs its Kafka access; `hub hospitals rotate-key` gives it a new key)"
                )
            await uow.hospitals.add_key(HospitalKey(kid, hospital.org_id, jwk, now))
            details = {"name": hospital.name, "regency": hospital.regency, "kid": kid, "key": _origin(private_pem)}
            await uow.audit.append(
                AuditEntry(by, "hospitals.add", hospital.org_id, reason or "new hospital", details), now
            )
            await uow.commit()
        log.info("hospital registered org=%s kid=%s", hospital.org_id, kid)
        key_file = self._private_key(hospital.org_id, kid, private_pem)
        created, access = await self._repairable(hospital.org_id, self._provision(hospital.org_id))
        return Onboarded(hospital, kid, access, key_file, created)

    async def listed(self) -> list[HospitalStatus]:
        """Every hospital with its keys, and whether its Kafka user exists (None: Kafka could not be asked)."""
        async with self._uow() as uow:
            found = [(h, await uow.hospitals.keys_of(h.org_id)) for h in await uow.hospitals.listed()]
        try:
            users: set[str] | None = set(await self._broker.users())
        except (BrokerUnavailable, ConfigurationError) as exc:  # e.g. no admin password on this host
            log.warning("Kafka users not listed error=%s", type(exc).__name__)
            users = None
        return [
            HospitalStatus(h, keys, None if users is None else hospital_username(h.org_id) in users)
            for h, keys in found
        ]

    async def disable(self, org_id: str, by: str, reason: str) -> int:
        """Refuse the hospital's notifications from now on and remove its Kafka user and every ACL
        of it: it can neither publish nor read any more. Returns how many ACLs were removed."""
        _need_reason(reason)
        await self._set_active(org_id, False, by, reason)
        return await self._repairable(org_id, self._cut_off(org_id))

    async def enable(self, org_id: str, by: str, reason: str = "") -> HospitalAccess:
        """Accept the hospital again, with a new Kafka password (the old one was deleted)."""
        await self._set_active(org_id, True, by, reason or "enabled again")
        _created, access = await self._repairable(org_id, self._provision(org_id))
        return access

    async def rotate_key(
        self, org_id: str, public_key: dict | None, overlap: timedelta, by: str, reason: str = ""
    ) -> Rotated:
        """Add a new key, valid from now; every other key of the hospital stays valid until now +
        `overlap` at most (senders switch over without a refused notification in between)."""
        if overlap < timedelta(0):
            raise OperatorError("the overlap cannot be negative")
        jwk, private_pem = _key_pair(public_key)
        kid = _kid(self._org_id(org_id), jwk)
        now = self._clock()
        until = now + overlap
        async with self._uow() as uow:
            await self._existing(uow, org_id)
            await uow.hospitals.add_key(HospitalKey(kid, org_id, jwk, now))
            retired = await uow.hospitals.retire_keys(org_id, until, keep=kid)
            details = {
                "kid": kid,
                "key": _origin(private_pem),
                "retired": retired,
                "old_keys_valid_until": until.isoformat(),
            }
            await uow.audit.append(
                AuditEntry(by, "hospitals.rotate-key", org_id, reason or "key rotation", details), now
            )
            await uow.commit()
        log.info("hospital key rotated org=%s kid=%s retired=%d", org_id, kid, retired)
        return Rotated(org_id, kid, until, retired, self._private_key(org_id, kid, private_pem))

    async def revoke_key(
        self, kid: str, by: str, reason: str, since: datetime | None = None
    ) -> tuple[HospitalKey, int]:
        """Refuse the key from now on, or from `since` on (a leaked key: from when it may have
        leaked, so records signed with it after that, still unread or kept as dead letters, are
        refused too). Returns the key and how many keys of its hospital are still valid now (0: the
        hospital cannot send until it gets a new one)."""
        _need_reason(reason)
        now = self._clock()
        if since is not None and since > now:
            raise OperatorError("a key is revoked from now or from a moment in the past, not in the future")
        at = since or now
        async with self._uow() as uow:
            key = await uow.hospitals.key(kid)
            if key is None:
                raise OperatorError(f"no signing key {kid!r}")
            if not await uow.hospitals.revoke_key(kid, at):
                raise OperatorError(f"key {kid!r} is revoked already")
            still_valid = sum(k.valid_at(now) for k in await uow.hospitals.keys_of(key.org_id) if k.kid != kid)
            await uow.audit.append(
                AuditEntry(by, "hospitals.revoke-key", kid, reason, {"org_id": key.org_id, "from": at.isoformat()}), now
            )
            await uow.commit()
        log.info("hospital key revoked org=%s kid=%s", key.org_id, kid)
        return key, still_valid

    async def sync(self, by: str, org_id: str | None = None) -> SyncReport:
        """Make the broker follow the directory: topics, a Kafka user (when it has none: a new
        password) and ACLs for every active hospital; no user and no ACL for a disabled one. Without
        `org_id`, every hospital and the hub's own ACLs."""
        async with self._uow() as uow:
            hospitals = [await self._existing(uow, org_id)] if org_id else await uow.hospitals.listed()
        users = set(await self._broker.users())
        if org_id is None:
            await grant_hub_acls(self._broker, self._topics, self._hub)
        report = SyncReport()
        for hospital in hospitals:
            if hospital.active:
                await self._sync_active(hospital.org_id, hospital_username(hospital.org_id) in users, report)
            else:
                await self._cut_off(hospital.org_id)
                report.cut_off.append(hospital.org_id)
        await self._audit_sync(by, org_id, report)
        return report

    async def grant_hub_acls(self) -> None:
        await grant_hub_acls(self._broker, self._topics, self._hub)

    # --- the broker's side ----------------------------------------------------------------------

    async def _provision(self, org_id: str) -> tuple[list[str], HospitalAccess]:
        created = await self._ensure_topics(org_id)
        access = await self._new_credential(org_id)
        await self._broker.grant(hospital_acls(self._topics, org_id))
        log.info("hospital Kafka access granted org=%s user=%s", org_id, access.username)
        return created, access

    async def _sync_active(self, org_id: str, has_user: bool, report: SyncReport) -> None:
        report.topics_created.extend(await self._ensure_topics(org_id))
        if not has_user:
            report.new_access.append(await self._new_credential(org_id))
        await self._broker.grant(hospital_acls(self._topics, org_id))
        report.active.append(org_id)

    async def _ensure_topics(self, org_id: str) -> list[str]:
        return await self._broker.ensure_topics(hospital_topic_specs(self._topics, org_id, self._partitions))

    async def _new_credential(self, org_id: str) -> HospitalAccess:
        username = hospital_username(org_id)
        password = SecretStr(secrets.token_urlsafe(32))
        notifications, results = self._topics.of_hospital(org_id)
        access = HospitalAccess(
            org_id, username, password, self._profile, notifications, results, self._secrets.folder(org_id)
        )
        self._secrets.write(org_id, "kafka.password", password.get_secret_value() + "\n")  # first: never lost
        await self._broker.set_password(username, password)
        self._secrets.write(org_id, "client.properties", access.client_properties())
        return access

    async def _cut_off(self, org_id: str) -> int:
        removed = await self._broker.revoke(principal(hospital_username(org_id)))
        await self._broker.delete_user(hospital_username(org_id))
        log.info("hospital Kafka access removed org=%s acls=%d", org_id, removed)
        return removed

    async def _repairable(self, org_id: str, step: Coroutine[Any, Any, T]) -> T:
        try:
            return await step
        except BrokerUnavailable as exc:
            raise BrokerUnavailable(
                f"hospital {org_id} is recorded, but its Kafka access is not up to date: {exc}; once Kafka "
                f"answers, run `hub hospitals sync {org_id}` (secrets made so far: {self._secrets.folder(org_id)})"
            ) from exc

    # --- the directory's side -------------------------------------------------------------------

    async def _set_active(self, org_id: str, active: bool, by: str, reason: str) -> None:
        now = self._clock()
        async with self._uow() as uow:
            found = await self._existing(uow, org_id)
            if found.active is active:
                state = "active" if active else "disabled"
                raise OperatorError(
                    f"hospital {org_id} is {state} already (`hub hospitals sync {org_id}` repairs its Kafka access)"
                )
            await uow.hospitals.set_active(org_id, active)
            action = "hospitals.enable" if active else "hospitals.disable"
            await uow.audit.append(AuditEntry(by, action, org_id, reason, {}), now)
            await uow.commit()
        log.info("hospital %s org=%s", "enabled" if active else "disabled", org_id)

    async def _existing(self, uow: UnitOfWork, org_id: str) -> Hospital:
        found = await uow.hospitals.hospital(self._org_id(org_id))
        if found is None:
            raise OperatorError(f"no hospital {org_id!r} is registered")
        return found

    async def _audit_sync(self, by: str, org_id: str | None, report: SyncReport) -> None:
        details = {
            "active": len(report.active),
            "cut_off": report.cut_off,
            "topics_created": len(report.topics_created),
            "new_credentials": [a.org_id for a in report.new_access],
        }
        async with self._uow() as uow:
            await uow.audit.append(
                AuditEntry(by, "hospitals.sync", org_id or "*", "broker follows the directory", details), self._clock()
            )
            await uow.commit()

    def _private_key(self, org_id: str, kid: str, pem: bytes | None) -> Path | None:
        if pem is None:
            return None
        self._secrets.write(org_id, f"signing-key-{_file_safe(kid)}.pem", pem)
        self._secrets.write(org_id, "signing-key.kid", kid + "\n")  # the current key's id
        return self._secrets.write(org_id, "signing-key.pem", pem)  # the current key

    def _org_id(self, org_id: str) -> str:
        if not is_hospital_id(org_id):
            raise OperatorError(
                "an organisation id is 1 to 64 letters, digits and hyphens, starting with a letter or digit"
            )
        return org_id

    def _regency(self, regency: str) -> str:
        if not REGENCY.fullmatch(regency) or not self._regency_known(regency):
            raise OperatorError(f"{regency!r} is not a regency code (4 digits of a current kabupaten or kota)")
        return regency


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 200 or not cleaned.isprintable():
        raise OperatorError("a hospital's name: 1 to 200 printable characters")
    return cleaned


def _key_pair(public_key: dict | None) -> tuple[dict, bytes | None]:
    """(the public JWK, the private key's PEM when it was generated here)."""
    if public_key is None:
        private_pem, jwk = signature.new_key()
        return jwk, private_pem
    return public_key, None  # checked by signature.kid_for: EC P-256, public members only


def _kid(org_id: str, jwk: dict) -> str:
    return signature.kid_for(org_id, jwk)  # OperatorError for private material, other curves, invalid keys


def _origin(private_pem: bytes | None) -> str:
    return "given" if private_pem is None else "generated"


def _file_safe(kid: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", kid)[:100]


def _need_reason(reason: str) -> None:
    if not reason.strip():
        raise OperatorError("say why (the reason goes to the audit log)")
