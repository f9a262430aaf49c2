"""BrokerAdmin on the real, secured local broker (TLS + SASL/SCRAM-SHA-512, StandardAuthorizer,
nothing allowed without an ACL): the BrokerAccess contract, topic configuration, and the ACLs of
broker_policy enforced by Kafka itself for a hospital's principal."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
)
from pydantic import SecretStr
from typer.testing import CliRunner

from hub.adapters.kafka.admin import BrokerAdmin, broker_admin
from hub.adapters.kafka.security import Role, access
from hub.config import Settings, Topics
from hub.entrypoints.cli import app
from hub.errors import BrokerUnavailable, OperatorError
from hub.service.broker_policy import hospital_acls, hospital_username, principal
from hub.service.ports import TopicSpec
from tests.contracts.broker_access import BrokerAccessContract
from tests.support.environment import BOOTSTRAP

pytestmark = pytest.mark.kafka
SETTINGS = Settings(kafka_bootstrap=BOOTSTRAP)


@pytest.fixture(scope="module")
def names():
    """A prefix of this module's own, and everything made under it removed at the end."""
    prefix = f"brokeradmin-{uuid.uuid4().hex[:8]}-"
    yield prefix
    _clean_up(prefix)


@pytest.fixture
def broker() -> BrokerAdmin:
    return broker_admin(SETTINGS)


class TestBrokerAdmin(BrokerAccessContract):
    pass


def _admin() -> AdminClient:
    return AdminClient(access(SETTINGS, Role.ADMIN).librdkafka())


def _clean_up(prefix: str) -> None:
    admin = _admin()
    topics = [t for t in admin.list_topics(timeout=15).topics if t.startswith(prefix)]
    if topics:
        for future in admin.delete_topics(topics, operation_timeout=15).values():
            future.result()
    every = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
    )
    mine = [b for b in admin.describe_acls(every).result() if prefix in b.principal or b.name.startswith(prefix)]
    filters = {
        AclBindingFilter(
            b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
        )
        for b in mine
    }
    for future in admin.delete_acls(sorted(filters, key=str)).values() if filters else []:
        future.result()


def _topic_config(name: str, key: str) -> str:
    admin = _admin()  # kept until the answer came: a freed client fails its futures
    [future] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, name)]).values()
    return future.result()[key].value


async def test_a_hospitals_notification_topic_is_stamped_by_the_broker(broker, names):
    name = f"{names}stamped"
    await broker.ensure_topics([TopicSpec(name, 3, {"message.timestamp.type": "LogAppendTime"})])
    assert _topic_config(name, "message.timestamp.type") == "LogAppendTime"
    metadata = _admin().list_topics(name, timeout=15).topics[name]
    assert len(metadata.partitions) == 3


def _as(username: str, password: SecretStr, **extra) -> dict:
    config = access(SETTINGS, Role.ADMIN).librdkafka()
    quiet = {"log_level": 0}  # refusals are what these clients are for: no librdkafka log lines
    return {**config, "sasl.username": username, "sasl.password": password.get_secret_value(), **quiet, **extra}


def _produce(config: dict, topic: str) -> KafkaError | None:
    """One record, idempotently (KIP-679: Write on the topic is enough); Kafka's error or None."""
    outcome: list[KafkaError | None] = []
    producer = Producer({**config, "enable.idempotence": True, "message.timeout.ms": 10000})
    producer.produce(topic, b"{}", on_delivery=lambda error, _message: outcome.append(error))
    producer.flush(15)
    return outcome[0] if outcome else KafkaError(KafkaError._MSG_TIMED_OUT)


def _read_error(config: dict, topic: str, group: str) -> KafkaError | None:
    """Reads `topic` in `group` until the end of a partition: None, or the first error Kafka reports."""
    consumer = Consumer({**config, "group.id": group, "auto.offset.reset": "earliest", "enable.partition.eof": True})
    try:
        consumer.subscribe([topic])
        for _ in range(30):
            message = consumer.poll(1.0)
            if message is None:
                continue
            error = message.error()
            return None if error is None or error.code() == KafkaError._PARTITION_EOF else error
        return KafkaError(KafkaError._TIMED_OUT)
    finally:
        consumer.close()


async def test_kafka_enforces_a_hospitals_acls(broker, names):
    topics = Topics(names)
    mine, theirs = f"{uuid.uuid4().hex[:8]}", f"{uuid.uuid4().hex[:8]}"
    specs = [TopicSpec(t, 1) for org in (mine, theirs) for t in topics.of_hospital(org)]
    await broker.ensure_topics(specs)
    username, password = f"{names}{hospital_username(mine)}", SecretStr(uuid.uuid4().hex)
    await broker.set_password(username, password)
    await broker.grant(hospital_acls(topics, mine, username))
    me = _as(username, password)
    assert _produce(me, topics.notifications_of(mine)) is None
    refused = _produce(me, topics.notifications_of(theirs))
    assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    forged = _produce(me, topics.results_of(mine))
    assert forged is not None and forged.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _read_error(me, topics.results_of(mine), f"hospital-{mine}.simrs") is None
    spying = _read_error(me, topics.results_of(theirs), f"hospital-{mine}")
    assert spying is not None and spying.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    other_group = _read_error(me, topics.results_of(mine), f"hospital-{theirs}")
    assert other_group is not None and other_group.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    assert _produce(_as("hub-admin", password), topics.notifications_of(mine)) is not None, "a wrong password"
    # disabling: every ACL revoked and the user deleted, the same client is refused at once
    assert await broker.revoke(principal(username)) == len(hospital_acls(topics, mine))
    assert await broker.delete_user(username)
    assert _produce(me, topics.notifications_of(mine)) is not None


async def test_a_wrong_admin_password_is_unavailable_and_never_quoted(names):
    wrong = uuid.uuid4().hex
    admin = BrokerAdmin(_as("hub-admin", SecretStr(wrong)), timeout_seconds=3)
    with pytest.raises(BrokerUnavailable) as raised:
        await admin.users()
    assert wrong not in str(raised.value)
    assert "hub-admin" in str(raised.value)


async def test_a_principal_without_the_powers_is_refused_as_an_operator_error(broker, names):
    username, password = f"{names}nobody", SecretStr(uuid.uuid4().hex)
    await broker.set_password(username, password)
    try:
        powerless = BrokerAdmin(_as(username, password), timeout_seconds=10)
        with pytest.raises(OperatorError, match="DESCRIBE on the cluster") as raised:
            await powerless.acls_of(principal(username))
        assert password.get_secret_value() not in str(raised.value)
        with pytest.raises(OperatorError, match="DESCRIBE on the cluster"):
            await powerless.users()
        with pytest.raises(OperatorError, match="AUTHORIZATION_FAILED"):
            await powerless.set_password(f"{names}other", SecretStr(uuid.uuid4().hex))
        with pytest.raises(OperatorError, match="AUTHORIZATION_FAILED"):
            await powerless.grant(hospital_acls(Topics(names), "zz"))
    finally:
        await broker.delete_user(username)


@pytest.mark.postgres
def test_hub_hospitals_on_the_real_database_and_broker(environment, tmp_path):
    """`hub hospitals add`, `list` and `disable` as an operator runs them: the hospital can publish
    with the printed credentials until it is disabled."""
    org, topics = f"9{uuid.uuid4().int % 10**9:09d}", environment.settings.topics
    env = environment.env(HUB_HOSPITAL_SECRETS_DIR=str(tmp_path))

    def hub(*args: str):
        return CliRunner().invoke(app, ["hospitals", *args], env=env)

    try:
        added = hub("add", org, "--name", "RS Integrasi", "--regency", "3273", "--reason", "integration test")
        assert added.exit_code == 0, added.output
        password = SecretStr((tmp_path / org / "kafka.password").read_text().strip())
        assert added.stdout.count(password.get_secret_value()) == 1
        assert _topic_config(topics.notifications_of(org), "message.timestamp.type") == "LogAppendTime"
        me = _as(f"hospital-{org}", password)
        assert _produce(me, topics.notifications_of(org)) is None
        [row] = [r for r in json.loads(hub("list", "--json").stdout) if r["org_id"] == org]
        assert (row["active"], row["kafka_user"], len(row["keys"])) == (True, True, 1)
        assert hub("add", org, "--name", "RS Integrasi", "--regency", "3273").exit_code == 2
        disabled = hub("disable", org, "--reason", "integration test")
        assert disabled.exit_code == 0, disabled.output
        assert _produce(me, topics.notifications_of(org)) is not None, "refused at once"
        synced = hub("sync", org)
        assert synced.exit_code == 0, synced.output
        assert _produce(me, topics.notifications_of(org)) is not None, "sync keeps a disabled hospital out"
    finally:
        _clean_up(environment.settings.topic_prefix)
        admin = _admin()
        with contextlib.suppress(KafkaException):
            for future in admin.alter_user_scram_credentials(
                [UserScramCredentialDeletion(f"hospital-{org}", ScramMechanism.SCRAM_SHA_512)]
            ).values():
                future.result()
        every_of_hospital = AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            principal(f"hospital-{org}"),
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        for future in admin.delete_acls([every_of_hospital]).values():
            future.result()
