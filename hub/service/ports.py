"""Ports: what the use cases need from the outside, by capability.

Each port has a PostgreSQL adapter (hub/adapters/postgres) and an in-memory fake
(tests/fakes.py); tests/contracts holds the specification against both.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

from pydantic import SecretStr

from hub.domain.decision import Register, RegistryFacts
from hub.domain.documents import (
    Content,
    Correction,
    DocumentKind,
    DocumentRef,
    DocumentStatus,
    SignedDocument,
    StatusCode,
    StatusSlot,
)
from hub.domain.family import FamilyCardVersion
from hub.domain.outcomes import ReviewStatus, SagaState
from hub.domain.values import BirthNotice, Family, Hospital, HospitalKey, Person, RegisteredBirth
from hub.service.broker_policy import Acl


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a message came from: its Kafka coordinates identify one delivery of it.

    `trace_context`: the sender's W3C trace context (hub/observability/tracing.py), when it sent
    one and tracing is on; `timestamp_ms`: the record's Kafka timestamp; `signature`: its
    `hub-signature` header (hub/intake/signature.py). None of them is part of the delivery's
    identity, and the inbox keeps none."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    trace_context: str | None = field(default=None, compare=False)
    timestamp_ms: int | None = field(default=None, compare=False)
    signature: bytes | None = field(default=None, compare=False, repr=False)
    broker_time: bool = field(default=False, compare=False)  # timestamp_ms is the broker's (LogAppendTime)

    @property
    def origin_at(self) -> datetime | None:
        """When the record was produced (or appended): where a result's end-to-end age starts."""
        if self.timestamp_ms is None or self.timestamp_ms < 0:
            return None
        try:
            return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):  # a producer's clock far off (CreateTime): no time
            return None


@dataclass(frozen=True, slots=True)
class Registration:
    """What a registered birth produced: the three documents' numbers."""

    child_nik: str
    akta_number: str
    issuing_regency: str
    family_card: FamilyCardVersion
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to publish after commit. `event_id` is stable across re-publishes.

    `trace_context`: the trace the relay publishes it in (and sends on in its `traceparent`
    header); `origin_at`: when the hospital sent the notification it answers, for the result's
    end-to-end age. Both optional; a copy of an event (`Outbox.copy_event`) keeps the trace
    context but not `origin_at`, so a re-sent result does not count as a slow one."""

    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    trace_context: str | None = None
    origin_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboxRecord:
    """A processed message. Its key is (hospital_id, message_id): message ids are chosen by each
    hospital, so they are unique only within the sending hospital. None is the scope of messages
    whose sender could not be read."""

    message_id: str
    hospital_id: str | None
    status: str
    result_event_id: str
    codes: tuple[str, ...]
    delivery: Delivery
    mother_nik: str | None = None
    result_sequence: int = 1


@dataclass(frozen=True, slots=True)
class ReviewCase:
    message_id: str
    hospital_id: str
    reasons: tuple[str, ...]
    document: bytes | None  # None once the retention period after the decision has passed
    status: str
    opened_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operator action: who, what (action on subject), why, and details without personal data."""

    actor: str
    action: str
    subject: str
    reason: str
    details: dict


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A published document-signing key. Verifiers accept a signature made with `kid` at a time
    between `not_before` and `not_after` (None: the key still signs)."""

    kid: str
    certificate_chain: tuple[bytes, ...]  # DER: the signing certificate first, its CA last
    not_before: datetime
    not_after: datetime | None = None


class DocumentSigner(Protocol):
    """Signs documents for the issuing office: a local key store (the embedded default) or a remote
    signing service (in production, a PSrE such as BSrE over its HTTP API).

    Only digests leave the hub: no personal data goes to the signer. The algorithm is ECDSA on
    P-256 over a SHA-256 digest (COSE/JOSE ES256; PAdES with ecdsa-with-SHA256).
    """

    async def current_key(self) -> SigningKey:
        """The key that signs now (its id goes into every signature and QR)."""
        ...

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        """The DER-encoded ECDSA signature of a 32-byte SHA-256 digest with key `kid`.

        Idempotent by key: the same idempotency key and digest return the same signature.
        Raises SignerUnavailable (retry later) or PermanentError (the key is unknown or retired)."""
        ...

    async def published_keys(self) -> tuple[SigningKey, ...]:
        """Every key verifiers must know: current and retired ones, with their validity."""
        ...


@dataclass(frozen=True, slots=True)
class DocumentRequest:
    """Documents owed for one result: issue a new version of each of `contents`, then attach them
    to `result` (the hospital's result Bundle, FHIR JSON) and send it.

    `reason` is "registration" or "correction"; `correction` names the corrected fields;
    `trace_context` and `origin_at` travel on to the result (see OutboundMessage)."""

    message_id: str
    sequence: int
    reason: str
    kk_number: str
    contents: tuple[Content, ...]
    result: dict
    hospital_id: str | None
    correction: dict[str, str] | None = None
    trace_context: str | None = None
    origin_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DocumentJob:
    id: int
    request: DocumentRequest
    attempts: int
    owed_copies: int


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """An issued document version as the store keeps it."""

    ref: DocumentRef
    content: Content
    kk_number: str
    message_id: str
    pdf: bytes
    qr_payload: str
    key_id: str
    reason: str
    supersedes: str | None = None
    status_reason: str | None = None
    hospital_id: str | None = None  # with message_id, the notification it documents


class Documents(Protocol):
    """Issued documents, their statuses and status-list slots, and the document work still owed.

    A job is claimed locked to one worker until its transaction ends (a crash releases it); jobs of
    one family are claimed in the order they were requested, so KK versions are issued in order.
    At most one version of a document is active; storing a new one supersedes the previous one."""

    async def request(self, request: DocumentRequest) -> None: ...

    async def claim_due(self, now: datetime) -> DocumentJob | None: ...

    async def owe_copy(self, hospital_id: str | None, message_id: str) -> bool:
        """The hospital re-sent the message id while its documents were being made: send the result
        once more when they are. False when no job waits (the result can be copied now)."""
        ...

    async def retry_at(self, job_id: int, when: datetime, error: str) -> None: ...

    async def finish(self, job_id: int) -> None: ...

    async def next_version(self, kind: DocumentKind, number: str) -> int:
        """The next version number; locks the document's identity until the transaction ends."""
        ...

    async def allocate_slot(self, regency: str, year: int) -> StatusSlot: ...

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
        """Store a new version and supersede the active one, whose id is returned (None if none).
        `stale`: a newer document already holds its place (a family card for an older card version
        that was signed late): store it as superseded and leave the active one alone."""
        ...

    async def current(self, kind: DocumentKind, number: str) -> StoredDocument | None: ...

    async def get(self, document_id: str) -> StoredDocument | None: ...

    async def versions(self, kind: DocumentKind, number: str) -> list[StoredDocument]: ...

    async def of_message(self, hospital_id: str | None, message_id: str) -> list[StoredDocument]: ...

    async def set_status(self, document_id: str, status: DocumentStatus, reason: str, at: datetime) -> None: ...

    async def statuses(self, regency: str, year: int) -> tuple[dict[int, StatusCode], int]:
        """The status of every slot of a list, and the list's size (slots allocated)."""
        ...


class DocumentMaker(Protocol):
    """Makes one signed document version: signs its QR payload, renders the PDF, signs the PDF.
    CPU-bound; implementations run it off the event loop (threads, or other processes)."""

    async def make(
        self, content: Content, ref: DocumentRef, key: SigningKey, status_uri: str, location: str
    ) -> tuple[bytes, str]:
        """(the PAdES-signed PDF, the signed QR payload printed on it)."""
        ...


class HospitalDirectory(Protocol):
    """The hospitals the hub accepts notifications from (`hub hospitals`), and their signing keys.

    A key id (`kid`) is unique across hospitals. A key is valid at a time t when
    valid_from <= t, t < valid_until (if set) and t < revoked_at (if set); see HospitalKey."""

    async def hospital(self, org_id: str) -> Hospital | None: ...

    async def prefetch(self, org_ids: Collection[str], kids: Collection[str]) -> None:
        """Optional speed-up: read these hospitals and keys now, in one go, for later `hospital` and
        `key` calls in this unit of work."""
        ...

    async def listed(self) -> list[Hospital]:
        """Every hospital, by organisation id."""
        ...

    async def add(self, hospital: Hospital) -> bool:
        """False (and nothing changed) when the organisation id is already registered."""
        ...

    async def set_active(self, org_id: str, active: bool) -> bool:
        """False when no such hospital."""
        ...

    async def key(self, kid: str) -> HospitalKey | None: ...

    async def keys_of(self, org_id: str) -> list[HospitalKey]:
        """Every key the hospital ever registered, oldest first."""
        ...

    async def add_key(self, key: HospitalKey) -> None:
        """Raises OperatorError when the kid is taken."""
        ...

    async def retire_keys(self, org_id: str, until: datetime, keep: str) -> int:
        """Rotation: every key of the hospital other than `keep` that is open-ended, or valid beyond
        `until`, is valid until `until` from now on. Returns how many were changed."""
        ...

    async def revoke_key(self, kid: str, at: datetime) -> bool:
        """The key is refused from `at` on. False when no such key or already revoked."""
        ...


class CivilRegistry(Protocol):
    """The civil registry (Dukcapil). Register calls run inside the caller's unit of work.

    `register_birth` assigns the child's NIK, issues the akta and reissues the KK as one atomic
    change; numbers are allocated gap-free. Writes to one family are serialised.
    """

    async def facts(self, notice: BirthNotice) -> RegistryFacts:
        """What the decision needs (mother, father, family, same birth, the mother's births);
        `hospital` is left None: hospitals are the hub's own directory."""
        ...

    async def person(self, nik: str) -> Person | None: ...

    async def family(self, kk_number: str) -> Family | None: ...

    async def birth_by_key(self, hospital_id: str, encounter_id: str, birth_order: int) -> RegisteredBirth | None: ...

    async def births_of_mother(self, mother_nik: str) -> list[RegisteredBirth]: ...

    async def reserve(self, family_cards: Collection[str]) -> None:
        """Before the unit of work's first write: the family cards (KK numbers) its registrations
        will likely write to. A registry that serialises writers per regency locks their regencies
        in one fixed order, so that two writers never wait on each other in a cycle; a registration
        of a family not reserved is still serialised, on its own. No-op elsewhere."""
        ...

    async def prepare(self, notices: Sequence[BirthNotice], at: datetime) -> None:
        """Optional speed-up, after `reserve`: read now, in one go, what deciding and registering
        these notices at about `at` will need. Later calls answer the same as without it."""
        ...

    async def flush(self) -> None:
        """Write what registrations of this unit of work kept back; the unit of work calls it
        before it commits. No-op for a registry that writes at once."""
        ...

    async def register_birth(self, notice: BirthNotice, decision: Register, at: datetime) -> Registration: ...

    async def record_stillbirth(self, notice: BirthNotice, at: datetime) -> None: ...

    async def correct_child(self, child_nik: str, correction: Correction) -> bool:
        """Apply a pembetulan to the child's record (name, parents' names as recorded for the child).
        False when this registry takes corrections from the civil.documents-issued event instead."""
        ...


class Inbox(Protocol):
    """What the hub has processed, keyed by (hospital id, message id), and which deliveries it has seen.

    Message ids are scoped by the sending hospital: another hospital's message with the same id is
    another message (hospital None, a sender that could not be read, is a scope of its own).
    Written in the same transaction as the registry writes and the outbox rows: a message found
    here has had all its effects.
    """

    async def delivered(self, delivery: Delivery) -> bool: ...

    async def claim_deliveries(self, deliveries: list[Delivery]) -> set[tuple[str, int, int]]:
        """Record deliveries not seen before; returns the (topic, partition, offset) of those."""
        ...

    async def note_deliveries(self, outcomes: list[tuple[Delivery, str | None, str | None, str]]) -> None:
        """Set the (hospital id, message id) and outcome of claimed deliveries."""
        ...

    async def prefetch(self, keys: list[tuple[str | None, str]]) -> None:
        """Optional speed-up: read the rows of these (hospital id, message id) now, in one go, for
        later `find`s in this unit of work."""
        ...

    async def find(self, hospital_id: str | None, message_id: str) -> InboxRecord | None: ...

    async def record(self, record: InboxRecord) -> None: ...

    async def replace(self, record: InboxRecord) -> None:
        """Overwrite the row of a message that was processed again (replay, review decision)."""
        ...

    async def record_delivery(
        self, delivery: Delivery, hospital_id: str | None, message_id: str | None, action: str
    ) -> None: ...

    async def record_dead_letter(self, delivery: Delivery, reason: str, detail: str | None) -> None: ...


class Reviews(Protocol):
    """The queue of notifications a Dukcapil officer must decide, keyed by (hospital id, message id)."""

    async def open(self, notice: BirthNotice, document: bytes, reasons: tuple[str, ...]) -> None: ...

    async def get(self, hospital_id: str, message_id: str, *, lock: bool = False) -> ReviewCase | None: ...

    async def decide(
        self, hospital_id: str, message_id: str, status: ReviewStatus, officer: str, note: str, at: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RegistrySaga:
    """A registry write owed for one notification (`document`: the notification as received;
    `trace_context` and `origin_at`: see OutboundMessage)."""

    hospital_id: str | None
    message_id: str
    state: SagaState
    document: bytes
    attempts: int
    owed_copies: int = 0
    trace_context: str | None = None
    origin_at: datetime | None = None


class RegistrySagas(Protocol):
    """Registry writes to an external registry, tracked: pending → written | failed-retrying → ... |
    failed-permanent. A claimed saga stays locked to its worker until the transaction ends.
    One saga per message: keyed by (hospital id, message id), like the inbox."""

    async def open(
        self,
        hospital_id: str | None,
        message_id: str,
        document: bytes,
        *,
        trace_context: str | None = None,
        origin_at: datetime | None = None,
    ) -> None:
        """Opening a saga again (a replay) makes it pending and due now, with the new document and trace."""
        ...

    async def claim_due(self, now: datetime) -> RegistrySaga | None: ...

    async def owe_copy(self, hospital_id: str | None, message_id: str) -> bool:
        """The hospital re-sent the message id before its result existed: send the result once more.
        False when the saga finished meanwhile: its result can be copied now."""
        ...

    async def finish(
        self, hospital_id: str | None, message_id: str, state: SagaState, error: str | None = None
    ) -> None: ...

    async def retry_at(self, hospital_id: str | None, message_id: str, when: datetime, error: str) -> None: ...


class AuditLog(Protocol):
    """Append-only record of operator actions, each entry chained to the previous by a hash."""

    async def append(self, entry: AuditEntry, at: datetime) -> str: ...


class Outbox(Protocol):
    async def add(self, messages: list[OutboundMessage]) -> None: ...

    async def expired(self, event_id: str) -> bool:
        """True when the event was published and its body later removed under the retention policy."""
        ...

    async def copy_event(self, event_id: str) -> bool:
        """Queue an already queued event again (same event id and trace context, no `origin_at`);
        False if unknown."""
        ...


@dataclass(frozen=True, slots=True)
class ConsoleAccount:
    """A back-office console user: one role (hub/service/accounts.py says what each may do).
    `password_hash` is an argon2id hash string; the password itself is never kept."""

    username: str
    display_name: str
    role: str
    password_hash: str
    created_at: datetime
    password_set_at: datetime
    disabled_at: datetime | None = None
    failed_signins: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in console session, known by the SHA-256 of its cookie token."""

    token_hash: bytes
    username: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class ConsoleAccounts(Protocol):
    """Console users and their sessions."""

    async def add(self, account: ConsoleAccount) -> None:
        """Refused with OperatorError when the username is taken."""
        ...

    async def get(self, username: str, *, lock: bool = False) -> ConsoleAccount | None:
        """`lock`: hold the account's row until the transaction ends (concurrent changes and
        sign-ins of one account then happen one after the other)."""
        ...

    async def all(self) -> list[ConsoleAccount]: ...

    async def save(self, account: ConsoleAccount) -> None:
        """Replace the stored account of `account.username` (which exists)."""
        ...

    async def open_session(self, session: ConsoleSession) -> None: ...

    async def session(self, token_hash: bytes) -> ConsoleSession | None: ...

    async def touch(self, token_hash: bytes, at: datetime) -> None: ...

    async def end_session(self, token_hash: bytes) -> None: ...

    async def end_sessions_of(self, username: str) -> int:
        """End every session of the user; returns how many ended."""
        ...


@dataclass(frozen=True, slots=True)
class CorrectionProposal:
    """A pembetulan an officer proposed; a supervisor approves (then it is applied) or rejects it."""

    id: int
    akta_number: str
    changes: dict
    reason: str
    proposed_by: str
    proposed_at: datetime
    status: str = "open"
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


class CorrectionProposals(Protocol):
    async def propose(self, akta_number: str, changes: dict, reason: str, by: str, at: datetime) -> int: ...

    async def get(self, proposal_id: int, *, lock: bool = False) -> CorrectionProposal | None: ...

    async def listed(self, status: str | None) -> list[CorrectionProposal]:
        """Oldest first; `status` None: all."""
        ...

    async def decide(self, proposal_id: int, status: str, by: str, note: str, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over every port: all effects of one message commit together or not at all.

    The ports are read-only members (an implementation may hold more specific types); only
    `registry` may be replaced, as a dry-run replay does to stop at the first registry write."""

    registry: CivilRegistry

    @property
    def hospitals(self) -> HospitalDirectory: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def reviews(self) -> Reviews: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def sagas(self) -> RegistrySagas: ...

    @property
    def documents(self) -> Documents: ...

    @property
    def accounts(self) -> ConsoleAccounts: ...

    @property
    def proposals(self) -> CorrectionProposals: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create: its name, partitions and topic-level configuration (e.g. a hospital's
    notification topic has message.timestamp.type=LogAppendTime: the broker stamps the time)."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict, hash=False)


class BrokerAccess(Protocol):
    """Administration of the Kafka cluster: topics, SCRAM users (SCRAM-SHA-512) and ACLs
    (hub/service/broker_policy.py). Every operation is idempotent: done again, it changes nothing.
    Passwords travel as SecretStr and are never logged or put into an error text."""

    async def ensure_topics(self, specs: list[TopicSpec]) -> list[str]:
        """Create the topics that do not exist; returns the names created. Existing topics are left as they are."""
        ...

    async def set_password(self, username: str, password: SecretStr) -> None:
        """Create the user, or give it a new password."""
        ...

    async def delete_user(self, username: str) -> bool:
        """Remove the user's credential (new connections are refused); False when there was none."""
        ...

    async def grant(self, acls: list[Acl]) -> None:
        """Add the bindings; those that exist already stay as they are."""
        ...

    async def revoke(self, principal: str) -> int:
        """Remove every binding of the principal (e.g. `User:hospital-1234`); returns how many."""
        ...

    async def acls_of(self, principal: str) -> list[Acl]:
        """Every binding of the principal, sorted."""
        ...

    async def users(self) -> list[str]:
        """The users that have a SCRAM credential, sorted."""
        ...
