"""In-memory fakes of the ports, for fast unit tests of the use cases.

They follow the same specification as the PostgreSQL adapters: tests/contracts holds one spec per
port, run against the fakes (tests/unit/test_port_contracts_fake.py) and against PostgreSQL
(tests/integration/test_port_contracts_postgres.py). A fake unit of work applies its changes only
on commit; rows it claims (sagas, document jobs) stay locked to it until it ends, as FOR UPDATE
SKIP LOCKED does. `FakeState.clock` plays PostgreSQL's now(): the time new sagas and jobs are due.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from pydantic import SecretStr

from hub.adapters.postgres.audit import GENESIS, entry_hash
from hub.domain import codes
from hub.domain.decision import Register, RegistryFacts, registration_date
from hub.domain.documents import (
    STATUS_CODE,
    Correction,
    DocumentKind,
    DocumentStatus,
    SignedDocument,
    StatusCode,
    StatusSlot,
)
from hub.domain.family import reissue_with_child
from hub.domain.numbers import akta_number, akta_prefix, nik_prefix, with_serial
from hub.domain.outcomes import ReviewStatus, SagaState
from hub.domain.values import (
    BirthNotice,
    Family,
    FamilyMember,
    Hospital,
    HospitalKey,
    Person,
    RegisteredBirth,
    Relationship,
)
from hub.errors import BrokerUnavailable, OperatorError, PermanentError, StoreUnavailable
from hub.service.broker_policy import Acl, Operation, Resource, permits
from hub.service.ports import (
    AuditEntry,
    CivilRegistry,
    ConsoleAccount,
    ConsoleSession,
    CorrectionProposal,
    Delivery,
    DocumentJob,
    DocumentRequest,
    InboxRecord,
    OutboundMessage,
    Registration,
    RegistrySaga,
    ReviewCase,
    StoredDocument,
    TopicSpec,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeLocks:
    """Rows claimed by open units of work (FOR UPDATE SKIP LOCKED). Shared by every unit of work of
    one state: never copied with the state, never rolled back; a unit of work releases its own when
    it ends."""

    def __init__(self) -> None:
        self._held: dict[Hashable, object] = {}

    def __deepcopy__(self, memo) -> FakeLocks:
        return self

    def free(self, key: Hashable, owner: object | None) -> bool:
        return owner is None or self._held.get(key, owner) is owner

    def take(self, key: Hashable, owner: object | None) -> None:
        if owner is not None:
            self._held.setdefault(key, owner)

    def release(self, owner: object) -> None:
        self._held = {key: held for key, held in self._held.items() if held is not owner}


def scoped(hospital_id: str | None, message_id: str) -> tuple[str, str]:
    """A message's key, as the tables keep it: message ids are scoped by the sending hospital, and
    a message whose sender could not be read (None) has the scope ''."""
    return hospital_id or "", message_id


class ScopedRows(dict):
    """Rows by (hospital, message id). For the tests' convenience a row may also be looked up by its
    message id alone, as long as only one hospital sent that id."""

    def _full(self, key):
        if not isinstance(key, str):
            return key
        matches = [k for k in self.keys() if k[1] == key]
        assert len(matches) <= 1, f"message id {key} was sent by several hospitals: look it up by (hospital, id)"
        return matches[0] if matches else ("?", key)

    def __getitem__(self, key):
        return super().__getitem__(self._full(key))

    def __contains__(self, key) -> bool:
        return super().__contains__(self._full(key))


@dataclass
class FakeState:
    hospitals: dict[str, Hospital] = field(default_factory=dict)
    hospital_keys: dict[str, HospitalKey] = field(default_factory=dict)  # by kid, in registration order
    persons: dict[str, Person] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)
    births: list[RegisteredBirth] = field(default_factory=list)
    reserved_cards: list[list[str]] = field(default_factory=list)  # what each reserve() asked for
    prepared: list[list[str]] = field(default_factory=list)  # the message ids each prepare() was given
    hospital_prefetches: list[tuple[list[str], list[str]]] = field(default_factory=list)  # (org ids, kids)
    serials: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    inbox: dict[tuple[str, str], InboxRecord] = field(default_factory=ScopedRows)
    deliveries: dict[tuple[str, int, int], tuple[str | None, str]] = field(default_factory=dict)  # (message id, action)
    dead_letters: list[tuple[Delivery, str, str | None]] = field(default_factory=list)  # (delivery, reason, detail)
    reviews: dict[tuple[str, str], ReviewCase] = field(default_factory=ScopedRows)
    audit: list[AuditEntry] = field(default_factory=list)
    audit_hashes: list[str] = field(default_factory=list)  # the chain: audit_hashes[i] is audit[i]'s hash
    sagas: dict[tuple[str, str], dict] = field(default_factory=ScopedRows)  # -> {state, document, attempts, ...}
    outbox: list[OutboundMessage] = field(default_factory=list)
    purged_events: set[str] = field(default_factory=set)  # bodies removed under the retention policy
    document_jobs: list[dict] = field(default_factory=list)
    documents: list[StoredDocument] = field(default_factory=list)
    status_lists: dict[tuple[str, int], int] = field(default_factory=dict)
    console_users: dict[str, ConsoleAccount] = field(default_factory=dict)
    console_sessions: dict[bytes, ConsoleSession] = field(default_factory=dict)
    proposals: dict[int, CorrectionProposal] = field(default_factory=dict)
    commits: int = 0
    clock: Callable[[], datetime] = _utc_now  # the store's now(): when new sagas and jobs are due
    locks: FakeLocks = field(default_factory=FakeLocks)


def _duplicate(what: str) -> StoreUnavailable:
    """A unique row written twice: PostgreSQL's UniqueViolationError, which the unit of work raises
    as StoreUnavailable (a concurrent writer won; a retry re-reads)."""
    return StoreUnavailable(f"UniqueViolationError: {what}")


class FakeHospitals:
    """Hospitals by organisation id; keys by kid, in the order they were registered."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def hospital(self, org_id: str) -> Hospital | None:
        return self.state.hospitals.get(org_id)

    async def listed(self) -> list[Hospital]:
        return sorted(self.state.hospitals.values(), key=lambda h: h.org_id)

    async def add(self, hospital: Hospital) -> bool:
        if hospital.org_id in self.state.hospitals:
            return False
        self.state.hospitals[hospital.org_id] = hospital
        return True

    async def set_active(self, org_id: str, active: bool) -> bool:
        found = self.state.hospitals.get(org_id)
        if found is not None:
            self.state.hospitals[org_id] = replace(found, active=active)
        return found is not None

    async def key(self, kid: str) -> HospitalKey | None:
        return self.state.hospital_keys.get(kid)

    async def prefetch(self, org_ids: Collection[str], kids: Collection[str]) -> None:
        self.state.hospital_prefetches.append((sorted(set(org_ids)), sorted(set(kids))))

    async def keys_of(self, org_id: str) -> list[HospitalKey]:
        return [k for k in self.state.hospital_keys.values() if k.org_id == org_id]

    async def add_key(self, key: HospitalKey) -> None:
        if key.org_id not in self.state.hospitals:
            raise OperatorError(f"no hospital {key.org_id!r} is registered")
        if key.kid in self.state.hospital_keys:
            raise OperatorError(f"a key with the id {key.kid!r} is registered already")
        self.state.hospital_keys[key.kid] = replace(key, jwk=dict(key.jwk))

    async def retire_keys(self, org_id: str, until: datetime, keep: str) -> int:
        retired = [
            k
            for k in self.state.hospital_keys.values()
            if k.org_id == org_id and k.kid != keep and (k.valid_until is None or k.valid_until > until)
        ]
        for k in retired:
            self.state.hospital_keys[k.kid] = replace(k, valid_until=until)
        return len(retired)

    async def revoke_key(self, kid: str, at: datetime) -> bool:
        found = self.state.hospital_keys.get(kid)
        if found is None or found.revoked_at is not None:
            return False
        self.state.hospital_keys[kid] = replace(found, revoked_at=at)
        return True


class FakeRegistry:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def facts(self, notice: BirthNotice) -> RegistryFacts:
        return RegistryFacts(
            None,
            await self.person(notice.mother_nik),
            await self.family(notice.kk_number),
            await self.person(notice.father_nik) if notice.father_nik else None,
            await self.birth_by_key(notice.hospital_id, notice.encounter_id, notice.birth_order),
            tuple(await self.births_of_mother(notice.mother_nik)),
        )

    async def person(self, nik: str) -> Person | None:
        return self.state.persons.get(nik)

    async def family(self, kk_number: str) -> Family | None:
        return self.state.families.get(kk_number)

    async def birth_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> RegisteredBirth | None:
        return next(
            (
                b
                for b in self.state.births
                if (b.hospital_id, b.encounter_id, b.birth_order) == (hospital_id, encounter_id, birth_order)
            ),
            None,
        )

    async def births_of_mother(self, mother_nik: str) -> list[RegisteredBirth]:
        return sorted((b for b in self.state.births if b.mother_nik == mother_nik), key=lambda b: b.born_at)

    def _next(self, scope: str) -> int:
        self.state.serials[scope] += 1
        return self.state.serials[scope]

    async def reserve(self, family_cards: Collection[str]) -> None:
        self.state.reserved_cards.append(sorted(family_cards))

    async def prepare(self, notices: Sequence[BirthNotice], at: datetime) -> None:
        self.state.prepared.append([n.message_id for n in notices])

    async def flush(self) -> None:
        pass

    async def register_birth(self, notice: BirthNotice, decision: Register, at: datetime) -> Registration:
        family = self.state.families.get(notice.kk_number)
        if family is None:
            raise PermanentError(codes.KK_NOT_FOUND, "the family card disappeared before registration")
        prefix = nik_prefix(family.kecamatan, notice.birth_date, notice.sex)
        nik = with_serial(prefix, self._next(f"nik:{prefix}"))
        scope = akta_prefix(family.regency, late=decision.late, issued_on=registration_date(at, notice.born_at))
        akta = akta_number(scope, self._next(f"akta:{scope}"))
        card = reissue_with_child(
            family, FamilyMember(nik, notice.child_name, notice.sex, notice.birth_date, Relationship.CHILD)
        )
        self.state.persons[nik] = Person(nik, notice.child_name, notice.sex, notice.birth_date, family.kk_number)
        self.state.families[family.kk_number] = replace(family, version=card.version, members=card.members)
        self.state.births.append(_birth(notice, nik, akta, card.version))
        return Registration(nik, akta, family.regency, card, at)

    async def record_stillbirth(self, notice: BirthNotice, at: datetime) -> None:
        self.state.births.append(_birth(notice, None, None, None, stillborn=True))

    async def correct_child(self, child_nik: str, correction: Correction) -> bool:
        person = self.state.persons.get(child_nik)
        if person is not None and correction.child_name is not None:
            self.state.persons[child_nik] = replace(person, name=correction.child_name)
        return True


def _birth(notice: BirthNotice, nik, akta, version, stillborn=False) -> RegisteredBirth:
    return RegisteredBirth(
        notice.message_id,
        notice.hospital_id,
        notice.encounter_id,
        notice.birth_order,
        notice.mother_nik,
        notice.born_at,
        nik,
        akta,
        notice.kk_number,
        version,
        stillborn,
    )


class FakeInbox:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def delivered(self, delivery: Delivery) -> bool:
        return (delivery.topic, delivery.partition, delivery.offset) in self.state.deliveries

    async def prefetch(self, keys: list[tuple[str | None, str]]) -> None:
        return None

    async def find(self, hospital_id: str | None, message_id: str) -> InboxRecord | None:
        return self.state.inbox.get(scoped(hospital_id, message_id))

    async def record(self, record: InboxRecord) -> None:
        """Keeps where the message came from, not the delivery's key (as the inbox table does)."""
        key = scoped(record.hospital_id, record.message_id)
        if key in self.state.inbox:
            raise _duplicate(f"inbox already has {key}")
        self.state.inbox[key] = replace(record, delivery=replace(record.delivery, key=None))

    async def replace(self, record: InboxRecord) -> None:
        """The message's first delivery stays; an unknown (hospital, message id) changes nothing."""
        key = scoped(record.hospital_id, record.message_id)
        old = self.state.inbox.get(key)
        if old is None:
            return
        mother_nik = old.mother_nik if record.mother_nik is None else record.mother_nik
        self.state.inbox[key] = replace(record, delivery=old.delivery, mother_nik=mother_nik)

    async def claim_deliveries(self, deliveries: list[Delivery]) -> set[tuple[str, int, int]]:
        fresh = {(d.topic, d.partition, d.offset) for d in deliveries} - set(self.state.deliveries)
        self.state.deliveries.update({key: (None, "received") for key in fresh})
        return fresh

    async def note_deliveries(self, outcomes: list[tuple[Delivery, str | None, str | None, str]]) -> None:
        for d, _, message_id, action in outcomes:
            key = (d.topic, d.partition, d.offset)
            if key in self.state.deliveries:  # only claimed deliveries: like an UPDATE
                self.state.deliveries[key] = (message_id, action)

    async def record_delivery(
        self, delivery: Delivery, hospital_id: str | None, message_id: str | None, action: str
    ) -> None:
        key = (delivery.topic, delivery.partition, delivery.offset)
        if key in self.state.deliveries:
            raise _duplicate(f"delivery {key} already recorded")
        self.state.deliveries[key] = (message_id, action)

    async def record_dead_letter(self, delivery: Delivery, reason: str, detail: str | None) -> None:
        if any(
            (d.topic, d.partition, d.offset) == (delivery.topic, delivery.partition, delivery.offset)
            for d, _, _ in self.state.dead_letters
        ):
            raise _duplicate(f"dead letter {delivery} already recorded")
        self.state.dead_letters.append((delivery, reason, detail))


class FakeReviews:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def open(self, notice: BirthNotice, document: bytes, reasons: tuple[str, ...]) -> None:
        key = scoped(notice.hospital_id, notice.message_id)
        if key in self.state.reviews:
            raise _duplicate(f"review of {key} already open")
        self.state.reviews[key] = ReviewCase(
            notice.message_id, notice.hospital_id, tuple(reasons), document, "open", self.state.clock()
        )

    async def get(self, hospital_id: str, message_id: str, *, lock: bool = False) -> ReviewCase | None:
        return self.state.reviews.get(scoped(hospital_id, message_id))

    async def decide(
        self, hospital_id: str, message_id: str, status: ReviewStatus, officer: str, note: str, at: datetime
    ) -> None:
        key = scoped(hospital_id, message_id)
        case = self.state.reviews.get(key)
        if case is not None:
            self.state.reviews[key] = replace(case, status=status, decided_by=officer, note=note, decided_at=at)


class FakeAuditLog:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def append(self, entry: AuditEntry, at: datetime) -> str:
        """Chained like the PostgreSQL log: the hash of the previous entry, the time and the entry."""
        digest = entry_hash(self.state.audit_hashes[-1] if self.state.audit_hashes else GENESIS, at.isoformat(), entry)
        self.state.audit.append(entry)
        self.state.audit_hashes.append(digest)
        return digest


class FakeOutbox:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def expired_now(self, message: OutboundMessage) -> bool:
        return message.event_id in self.state.purged_events

    async def add(self, messages: list[OutboundMessage]) -> None:
        self.state.outbox.extend(messages)

    async def expired(self, event_id: str) -> bool:
        return event_id in self.state.purged_events

    async def copy_event(self, event_id: str) -> bool:
        found = next((m for m in self.state.outbox if m.event_id == event_id and not self.expired_now(m)), None)
        if found is not None:
            self.state.outbox.append(replace(found, origin_at=None))
        return found is not None


class FakeSagas:
    """Sagas as dicts {state, document, attempts, next_attempt_at, last_error, owed_copies} by (hospital, message id),
    following hub/adapters/postgres/sagas.py: a claimed saga is locked to its unit of work (`owner`)."""

    def __init__(self, state: FakeState, owner: object | None = None) -> None:
        self.state, self._owner = state, owner

    async def open(
        self,
        hospital_id: str | None,
        message_id: str,
        document: bytes,
        *,
        trace_context: str | None = None,
        origin_at: datetime | None = None,
    ) -> None:
        """Opening a saga again makes it pending and due now with the new document; attempts stay."""
        key = scoped(hospital_id, message_id)
        before = self.state.sagas.get(key, {"attempts": 0, "last_error": None})
        self.state.sagas[key] = {
            "state": SagaState.PENDING,
            "document": document,
            "attempts": before["attempts"],
            "next_attempt_at": self.state.clock(),
            "last_error": before["last_error"],
            "owed_copies": 0,
            "trace_context": trace_context,
            "origin_at": origin_at,
        }

    async def claim_due(self, now: datetime) -> RegistrySaga | None:
        due = [
            (saga["next_attempt_at"], key)
            for key, saga in self.state.sagas.items()
            if saga["state"] in (SagaState.PENDING, SagaState.RETRYING)
            and saga["next_attempt_at"] <= now
            and self.state.locks.free(("saga", key), self._owner)
        ]
        if not due:
            return None
        _, key = min(due, key=lambda found: found[0])
        self.state.locks.take(("saga", key), self._owner)
        saga = self.state.sagas[key]
        return RegistrySaga(
            key[0] or None,
            key[1],
            saga["state"],
            saga["document"],
            saga["attempts"],
            saga["owed_copies"],
            saga["trace_context"],
            saga["origin_at"],
        )

    async def owe_copy(self, hospital_id: str | None, message_id: str) -> bool:
        saga = self.state.sagas.get(scoped(hospital_id, message_id))
        if saga is None or saga["state"] not in (SagaState.PENDING, SagaState.RETRYING):
            return False
        saga["owed_copies"] += 1
        return True

    async def finish(
        self, hospital_id: str | None, message_id: str, state: SagaState, error: str | None = None
    ) -> None:
        if (key := scoped(hospital_id, message_id)) in self.state.sagas:
            saga = self.state.sagas[key]
            saga.update(state=state, attempts=saga["attempts"] + 1, last_error=error)

    async def retry_at(self, hospital_id: str | None, message_id: str, when: datetime, error: str) -> None:
        if (key := scoped(hospital_id, message_id)) in self.state.sagas:
            saga = self.state.sagas[key]
            saga.update(state=SagaState.RETRYING, attempts=saga["attempts"] + 1, next_attempt_at=when, last_error=error)


def _job_of(job: dict, hospital_id: str | None, message_id: str) -> bool:
    request = job["request"]
    return scoped(request.hospital_id, request.message_id) == scoped(hospital_id, message_id)


class FakeDocuments:
    """Jobs as dicts {id, request, state, attempts, owed_copies, next_attempt_at}; documents in issue order.
    A claimed job is locked to its unit of work (`owner`)."""

    def __init__(self, state: FakeState, owner: object | None = None) -> None:
        self.state, self._owner = state, owner

    async def request(self, request: DocumentRequest) -> None:
        if any(
            _job_of(j, request.hospital_id, request.message_id) and j["request"].sequence == request.sequence
            for j in self.state.document_jobs
        ):
            return
        self.state.document_jobs.append(
            {
                "id": len(self.state.document_jobs) + 1,
                "request": request,
                "state": "pending",
                "attempts": 0,
                "owed_copies": 0,
                "next_attempt_at": self.state.clock(),
            }
        )

    async def claim_due(self, now: datetime) -> DocumentJob | None:
        """The earliest due job whose family has no earlier pending job, skipping jobs others hold."""
        pending = [j for j in self.state.document_jobs if j["state"] == "pending"]
        due = [
            job
            for job in pending
            if job["next_attempt_at"] <= now
            and self.state.locks.free(("job", job["id"]), self._owner)
            and not any(e["request"].kk_number == job["request"].kk_number and e["id"] < job["id"] for e in pending)
        ]
        if not due:
            return None
        job = min(due, key=lambda j: (j["next_attempt_at"], j["id"]))
        self.state.locks.take(("job", job["id"]), self._owner)
        return DocumentJob(job["id"], job["request"], job["attempts"], job["owed_copies"])

    def _job(self, job_id: int) -> dict:
        return next(j for j in self.state.document_jobs if j["id"] == job_id)

    async def owe_copy(self, hospital_id: str | None, message_id: str) -> bool:
        jobs = [j for j in self.state.document_jobs if _job_of(j, hospital_id, message_id)]
        if not jobs or jobs[-1]["state"] != "pending":
            return False
        jobs[-1]["owed_copies"] += 1
        return True

    async def retry_at(self, job_id: int, when: datetime, error: str) -> None:
        self._job(job_id).update(attempts=self._job(job_id)["attempts"] + 1, next_attempt_at=when, error=error)

    async def finish(self, job_id: int) -> None:
        self._job(job_id).update(state="done", attempts=self._job(job_id)["attempts"] + 1)

    async def next_version(self, kind: DocumentKind, number: str) -> int:
        return 1 + max(
            (d.ref.version for d in self.state.documents if (d.ref.kind, d.ref.number) == (kind, number)), default=0
        )

    async def allocate_slot(self, regency: str, year: int) -> StatusSlot:
        index = self.state.status_lists.get((regency, year), 0)
        self.state.status_lists[(regency, year)] = index + 1
        return StatusSlot(regency, year, index)

    async def store(
        self,
        document: SignedDocument,
        *,
        kk_number: str,
        message_id: str,
        reason: str,
        stale: bool = False,
        hospital_id: str | None = None,
    ) -> str | None:
        if stale:
            self.state.documents.append(
                StoredDocument(
                    replace(document.ref, status=DocumentStatus.SUPERSEDED),
                    document.content,
                    kk_number,
                    message_id,
                    document.pdf,
                    document.qr_payload,
                    document.key_id,
                    reason,
                    status_reason="a newer card version was issued first",
                    hospital_id=hospital_id,
                )
            )
            return None
        previous = await self.current(document.ref.kind, document.ref.number)
        if previous is not None:
            await self.set_status(
                previous.ref.document_id,
                DocumentStatus.SUPERSEDED,
                f"superseded by version {document.ref.version}",
                document.ref.issued_at,
            )
        self.state.documents.append(
            StoredDocument(
                document.ref,
                document.content,
                kk_number,
                message_id,
                document.pdf,
                document.qr_payload,
                document.key_id,
                reason,
                previous.ref.document_id if previous else None,
                hospital_id=hospital_id,
            )
        )
        return previous.ref.document_id if previous else None

    async def current(self, kind: DocumentKind, number: str) -> StoredDocument | None:
        return next(
            (
                d
                for d in self.state.documents
                if (d.ref.kind, d.ref.number) == (kind, number) and d.ref.status is DocumentStatus.ACTIVE
            ),
            None,
        )

    async def get(self, document_id: str) -> StoredDocument | None:
        return next((d for d in self.state.documents if d.ref.document_id == document_id), None)

    async def versions(self, kind: DocumentKind, number: str) -> list[StoredDocument]:
        return sorted(
            (d for d in self.state.documents if (d.ref.kind, d.ref.number) == (kind, number)),
            key=lambda d: d.ref.version,
        )

    async def of_message(self, hospital_id: str | None, message_id: str) -> list[StoredDocument]:
        return sorted(
            (d for d in self.state.documents if scoped(d.hospital_id, d.message_id) == scoped(hospital_id, message_id)),
            key=lambda d: (d.ref.issued_at, d.ref.kind.value),
        )

    async def set_status(self, document_id: str, status: DocumentStatus, reason: str, at: datetime) -> None:
        self.state.documents = [
            replace(d, ref=replace(d.ref, status=status), status_reason=reason)
            if d.ref.document_id == document_id
            else d
            for d in self.state.documents
        ]

    async def statuses(self, regency: str, year: int) -> tuple[dict[int, StatusCode], int]:
        found = {
            d.ref.slot.index: STATUS_CODE[d.ref.status]
            for d in self.state.documents
            if (d.ref.slot.regency, d.ref.slot.year) == (regency, year) and d.ref.status is not DocumentStatus.ACTIVE
        }
        return found, self.state.status_lists.get((regency, year), 0)


class FakeConsoleAccounts:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def add(self, account: ConsoleAccount) -> None:
        if account.username in self.state.console_users:
            raise OperatorError(f"a console user named {account.username!r} exists already")
        self.state.console_users[account.username] = account

    async def get(self, username: str, *, lock: bool = False) -> ConsoleAccount | None:
        return self.state.console_users.get(username)

    async def all(self) -> list[ConsoleAccount]:
        return [self.state.console_users[name] for name in sorted(self.state.console_users)]

    async def save(self, account: ConsoleAccount) -> None:
        if account.username in self.state.console_users:
            self.state.console_users[account.username] = account

    async def open_session(self, session: ConsoleSession) -> None:
        self.state.console_sessions[session.token_hash] = session

    async def session(self, token_hash: bytes) -> ConsoleSession | None:
        return self.state.console_sessions.get(token_hash)

    async def touch(self, token_hash: bytes, at: datetime) -> None:
        found = self.state.console_sessions.get(token_hash)
        if found is not None:
            self.state.console_sessions[token_hash] = replace(found, last_seen_at=max(found.last_seen_at, at))

    async def end_session(self, token_hash: bytes) -> None:
        self.state.console_sessions.pop(token_hash, None)

    async def end_sessions_of(self, username: str) -> int:
        ended = [h for h, s in self.state.console_sessions.items() if s.username == username]
        for token_hash in ended:
            del self.state.console_sessions[token_hash]
        return len(ended)


class FakeCorrectionProposals:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def propose(self, akta_number: str, changes: dict, reason: str, by: str, at: datetime) -> int:
        number = max(self.state.proposals, default=0) + 1
        self.state.proposals[number] = CorrectionProposal(number, akta_number, dict(changes), reason, by, at)
        return number

    async def get(self, proposal_id: int, *, lock: bool = False) -> CorrectionProposal | None:
        return self.state.proposals.get(proposal_id)

    async def listed(self, status: str | None) -> list[CorrectionProposal]:
        found = [p for p in self.state.proposals.values() if status is None or p.status == status]
        return sorted(found, key=lambda p: (p.proposed_at, p.id))

    async def decide(self, proposal_id: int, status: str, by: str, note: str, at: datetime) -> None:
        found = self.state.proposals[proposal_id]
        self.state.proposals[proposal_id] = replace(found, status=status, decided_by=by, note=note, decided_at=at)


class FakeUnitOfWork:
    """Works on a copy of the shared state; commit publishes the copy, leaving without commit drops it.

    `registry` makes the civil registry on the unit of work's state (like PostgresUnitOfWork's):
    a test can stand in a registry that fails or refuses."""

    def __init__(self, shared: FakeState, registry: Callable[[FakeState], CivilRegistry] = FakeRegistry) -> None:
        self.shared, self._registry = shared, registry

    async def __aenter__(self) -> FakeUnitOfWork:
        self.state = copy.deepcopy(self.shared)
        self.hospitals, self.registry = FakeHospitals(self.state), self._registry(self.state)
        self.inbox, self.outbox, self.reviews = FakeInbox(self.state), FakeOutbox(self.state), FakeReviews(self.state)
        self.audit = FakeAuditLog(self.state)
        self.sagas = FakeSagas(self.state, owner=self)
        self.documents = FakeDocuments(self.state, owner=self)
        self.accounts = FakeConsoleAccounts(self.state)
        self.proposals = FakeCorrectionProposals(self.state)
        return self

    async def commit(self) -> None:
        self.state.commits += 1
        self.shared.__dict__.update(self.state.__dict__)

    async def __aexit__(self, *exc: object) -> None:
        self.state.locks.release(self)  # the transaction ends: its claimed rows are free again


class FakeBrokerAccess:
    """The Kafka cluster's topics, SCRAM users and ACLs, in memory. `down = True`: every call
    raises BrokerUnavailable, as a broker that does not answer. `permits` asks the ACLs as the
    broker's authorizer would (hub.service.broker_policy.permits)."""

    def __init__(self) -> None:
        self.topics: dict[str, TopicSpec] = {}
        self.passwords: dict[str, SecretStr] = {}
        self.acls: set[Acl] = set()
        self.down = False

    async def ensure_topics(self, specs: list[TopicSpec]) -> list[str]:
        self._answers()
        created = sorted({s.name for s in specs if s.name not in self.topics})
        self.topics.update({s.name: s for s in specs if s.name in created})
        return created

    async def set_password(self, username: str, password: SecretStr) -> None:
        self._answers()
        self.passwords[username] = password

    async def delete_user(self, username: str) -> bool:
        self._answers()
        return self.passwords.pop(username, None) is not None

    async def grant(self, acls: list[Acl]) -> None:
        self._answers()
        self.acls |= set(acls)

    async def revoke(self, principal: str) -> int:
        self._answers()
        gone = {a for a in self.acls if a.principal == principal}
        self.acls -= gone
        return len(gone)

    async def acls_of(self, principal: str) -> list[Acl]:
        self._answers()
        return sorted(a for a in self.acls if a.principal == principal)

    async def users(self) -> list[str]:
        self._answers()
        return sorted(self.passwords)

    def permits(self, principal: str, resource_type: Resource, name: str, operation: Operation) -> bool:
        return permits(self.acls, principal, resource_type, name, operation)

    def _answers(self) -> None:
        if self.down:
            raise BrokerUnavailable("the fake broker is down")
