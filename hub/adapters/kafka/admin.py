"""BrokerAccess on confluent-kafka's AdminClient (librdkafka): topics, SCRAM users and ACLs.

Why librdkafka and not aiokafka here: aiokafka's admin client has neither SCRAM credentials
(AlterUserScramCredentials, KIP-554) nor ACL listing by principal. The AdminClient's futures are
blocking (concurrent.futures), so each operation runs in a worker thread off the event loop.

Errors: a broker that does not answer in time (down, unreachable, TLS or SASL failing) is
BrokerUnavailable; a refusal (not authorised, invalid request) is OperatorError. Their texts name
the operation, the user and Kafka's error, never a password: every text is scrubbed of the
admin's and of the password being set before it leaves this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from hub.config import Settings
from hub.errors import BrokerUnavailable, ConfigurationError, HubError, OperatorError
from hub.service.broker_policy import Acl, Operation, Pattern, Permission, Resource
from hub.service.ports import TopicSpec

log = logging.getLogger("hub.kafka.admin")
K = TypeVar("K")
SCRAM_ITERATIONS = 8192  # as kafka-configs' default for SCRAM-SHA-512 (4096 is the minimum)
_UNAVAILABLE = {
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._TIMED_OUT_QUEUE,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE,
    KafkaError._AUTHENTICATION,
    KafkaError._SSL,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.SASL_AUTHENTICATION_FAILED,
}
_RESOURCES = {
    Resource.TOPIC: ResourceType.TOPIC,
    Resource.GROUP: ResourceType.GROUP,
    Resource.CLUSTER: ResourceType.BROKER,  # librdkafka's name for Kafka's CLUSTER resource (type 4)
    Resource.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID,
}
_PATTERNS = {Pattern.LITERAL: ResourcePatternType.LITERAL, Pattern.PREFIXED: ResourcePatternType.PREFIXED}
_PERMISSIONS = {Permission.ALLOW: AclPermissionType.ALLOW, Permission.DENY: AclPermissionType.DENY}


class BrokerAdmin:
    """`config`: librdkafka settings (security.access(settings, Role.ADMIN).librdkafka()), or a
    function returning them, called when the first operation needs the client (a command that
    never reaches Kafka then needs no admin password)."""

    def __init__(
        self, config: Mapping[str, str] | Callable[[], Mapping[str, str]], *, timeout_seconds: float = 15.0
    ) -> None:
        self._config = config
        self._timeout = timeout_seconds
        self._client: AdminClient | None = None
        self._secrets: list[str] = []
        self._last_error: str | None = None
        self._where = "Kafka"
        self._powers: set[AclOperation] | None = None  # the principal's operations on the cluster

    async def ensure_topics(self, specs: list[TopicSpec]) -> list[str]:
        if not specs:
            return []
        return await asyncio.to_thread(self._ensure_topics, specs)

    async def set_password(self, username: str, password: SecretStr) -> None:
        secret = password.get_secret_value()
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
        upsert = UserScramCredentialUpsertion(username, info, secret.encode())
        await asyncio.to_thread(self._alter, upsert, f"set the password of Kafka user {username!r}", secret)

    async def delete_user(self, username: str) -> bool:
        deletion = UserScramCredentialDeletion(username, ScramMechanism.SCRAM_SHA_512)
        return await asyncio.to_thread(self._alter, deletion, f"delete Kafka user {username!r}")

    async def grant(self, acls: list[Acl]) -> None:
        wanted = sorted(set(acls))
        if wanted:
            await asyncio.to_thread(self._grant, wanted)

    async def revoke(self, principal: str) -> int:
        return await asyncio.to_thread(self._revoke, principal)

    async def acls_of(self, principal: str) -> list[Acl]:
        return await asyncio.to_thread(self._acls_of, principal)

    async def users(self) -> list[str]:
        return await asyncio.to_thread(self._users)

    # --- in a worker thread -------------------------------------------------------------------

    def _ensure_topics(self, specs: list[TopicSpec]) -> list[str]:
        wanted = [NewTopic(s.name, s.partitions, replication_factor=-1, config=dict(s.config)) for s in specs]
        futures = self._admin().create_topics(wanted, request_timeout=self._timeout, operation_timeout=self._timeout)
        created = []
        for name, future in futures.items():
            try:
                self._result(future, f"create topic {name!r}")
            except _Refused as refused:
                if refused.code != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise refused.error from None
                continue
            log.info("topic created name=%s", name)
            created.append(name)
        return sorted(created)

    def _alter(self, alteration: Any, what: str, secret: str | None = None) -> bool:
        futures = self._admin().alter_user_scram_credentials([alteration], request_timeout=self._timeout)
        try:
            for future in futures.values():
                self._result(future, what, secret)
        except _Refused as refused:
            if isinstance(alteration, UserScramCredentialDeletion) and refused.code == KafkaError.RESOURCE_NOT_FOUND:
                return False
            raise refused.error from None
        return True

    def _grant(self, acls: list[Acl]) -> None:
        bindings = [_binding(acl) for acl in acls]
        futures = self._admin().create_acls(bindings, request_timeout=self._timeout)
        for binding, future in futures.items():
            self._refused_raises(
                future, f"grant {_named(binding.operation)} on {binding.name!r} to {binding.principal}"
            )

    def _revoke(self, principal: str) -> int:
        futures = self._admin().delete_acls([_every_acl_of(principal)], request_timeout=self._timeout)
        return sum(len(self._refused_raises(f, f"revoke the ACLs of {principal}")) for f in futures.values())

    def _acls_of(self, principal: str) -> list[Acl]:
        self._require(AclOperation.DESCRIBE, f"list the ACLs of {principal}")  # else Kafka answers: none
        future = self._admin().describe_acls(_every_acl_of(principal), request_timeout=self._timeout)
        return sorted(_acl(b) for b in self._refused_raises(future, f"list the ACLs of {principal}"))

    def _users(self) -> list[str]:
        self._require(AclOperation.DESCRIBE, "list the Kafka users")
        future = self._admin().describe_user_scram_credentials(request_timeout=self._timeout)
        assert isinstance(future, Future)  # without a list of users: one future for all
        return sorted(self._refused_raises(future, "list the Kafka users"))

    def _require(self, operation: AclOperation, what: str) -> None:
        """Refuse what the principal may not do on the cluster before asking. Not only for a clearer
        text: DescribeAcls answers an unauthorised principal with no ACLs rather than an error, and
        a refused DescribeUserScramCredentials corrupts confluent-kafka 2.16's heap (the process
        aborts when the client is freed)."""
        if self._powers is None:
            future = self._admin().describe_cluster(include_authorized_operations=True, request_timeout=self._timeout)
            self._powers = set(self._refused_raises(future, "describe the cluster").authorized_operations or ())
        if operation not in self._powers:
            raise OperatorError(
                f"{self._where} may not {what} (it needs {operation.name} on the cluster: the admin principal, "
                "HUB_KAFKA_ADMIN_USERNAME, is meant to be a super user)"
            )

    def _admin(self) -> AdminClient:
        if self._client is None:
            given = dict(self._config() if callable(self._config) else self._config)
            self._secrets = [given["sasl.password"]] if given.get("sasl.password") else []
            self._where = f"Kafka at {given.get('bootstrap.servers', '?')} as {given.get('sasl.username', '?')!r}"
            ca_file = given.get("ssl.ca.location")
            if ca_file and not Path(ca_file).is_file():
                raise ConfigurationError(
                    f"Kafka CA certificate {ca_file} not found (HUB_KAFKA_CA_FILE; deploy/local/kafka.sh creates the local one)"
                )
            config: dict[str, str | int | float | bool] = {**given, "log_level": 2}  # its own log: critical only
            try:
                self._client = AdminClient(config, error_cb=self._remember)
            except KafkaException as exc:  # an invalid configuration (e.g. the CA file unreadable)
                raise ConfigurationError(
                    f"cannot configure the Kafka admin client: {self._scrubbed(_error(exc).str())}"
                ) from None
        return self._client

    def _remember(self, error: KafkaError) -> None:
        """Client-level errors (connection, TLS, SASL): named when an operation then times out."""
        self._last_error = f"{error.name()}: {self._scrubbed(error.str())}"

    def _refused_raises(self, future: Future, what: str) -> Any:
        try:
            return self._result(future, what)
        except _Refused as refused:
            raise refused.error from None

    def _result(self, future: Future, what: str, secret: str | None = None) -> Any:
        try:
            return future.result(timeout=self._timeout + 5)
        except KafkaException as exc:
            raise self._translated(_error(exc), what, secret) from None
        except TimeoutError:
            raise self._unavailable(what, "no answer", secret) from None

    def _translated(self, error: KafkaError, what: str, secret: str | None) -> HubError | _Refused:
        if error.code() in _UNAVAILABLE or error.retriable():
            return self._unavailable(what, f"{error.name()}: {error.str()}", secret)
        text = self._scrubbed(f"{self._where} refused to {what}: {error.name()}: {error.str()}", secret)
        return _Refused(error.code(), OperatorError(text))

    def _unavailable(self, what: str, why: str, secret: str | None) -> BrokerUnavailable:
        self._admin().poll(0)  # serves error_cb: the connection's own error, if there was one
        last = f"; last error: {self._last_error}" if self._last_error else ""
        return BrokerUnavailable(self._scrubbed(f"cannot {what}: {self._where} not answering ({why}){last}", secret))

    def _scrubbed(self, text: str, secret: str | None = None) -> str:
        for value in [*self._secrets, *([secret] if secret else [])]:
            text = text.replace(value, "***")
        return text


class _Refused(Exception):
    """Carries Kafka's error code with the refusal, for the callers that accept some codes."""

    def __init__(self, code: int, error: OperatorError) -> None:
        super().__init__(str(error))
        self.code, self.error = code, error


def broker_admin(settings: Settings) -> BrokerAdmin:
    """The admin principal's BrokerAdmin; its password is read when the first operation needs it."""
    from hub.adapters.kafka.security import Role, access

    return BrokerAdmin(lambda: access(settings, Role.ADMIN).librdkafka())


def _error(exc: KafkaException) -> KafkaError:
    found = exc.args[0] if exc.args else None
    return found if isinstance(found, KafkaError) else KafkaError(KafkaError._FAIL, str(exc))


def _binding(acl: Acl) -> AclBinding:
    return AclBinding(
        _RESOURCES[acl.resource_type],
        acl.name,
        _PATTERNS[acl.pattern],
        acl.principal,
        "*",
        AclOperation[acl.operation.name],
        _PERMISSIONS[acl.permission],
    )


def _every_acl_of(principal: str) -> AclBindingFilter:
    anything: Any = None  # a filter's None matches any name and host (the stubs say str)
    return AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.ANY,
        principal,
        anything,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def _acl(binding: AclBinding) -> Acl:
    return Acl(
        binding.principal,
        _reverse(_RESOURCES, binding.restype),
        _reverse(_PATTERNS, binding.resource_pattern_type),
        binding.name,
        Operation[_named(binding.operation)],
        _reverse(_PERMISSIONS, binding.permission_type),
    )


def _named(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def _reverse(table: Mapping[K, object], value: object) -> K:
    for key, theirs in table.items():
        if theirs == value:
            return key
    raise OperatorError(f"an ACL with {value} that the hub does not manage")
