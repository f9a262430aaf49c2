"""Who may do what on Kafka: each role gets exactly what its work needs (hub/service/broker_policy.py)."""

from __future__ import annotations

import pytest

from hub.config import Topics
from hub.service.broker_policy import (
    Acl,
    Operation,
    Pattern,
    Permission,
    Resource,
    hospital_acls,
    hospital_username,
    hub_consumer_acls,
    permits,
    principal,
    relay_acls,
)

R, W, D = Operation.READ, Operation.WRITE, Operation.DESCRIBE
TOPIC, GROUP, CLUSTER = Resource.TOPIC, Resource.GROUP, Resource.CLUSTER
ORGS = ["1032730001", "10327300", "1032730001-b", "rs-a"]  # one is a prefix of another, one has a hyphen


@pytest.fixture(params=["", "t-91f2."])
def topics(request) -> Topics:
    return Topics(request.param)


def everything(topics: Topics) -> list[Acl]:
    acls = hub_consumer_acls(topics, "hub", "hub") + relay_acls(topics, "hub-relay")
    for org in ORGS:
        acls += hospital_acls(topics, org)
    return acls


def test_a_hospital_writes_its_notifications_and_reads_its_results_with_its_own_groups(topics):
    acls = everything(topics)
    for org in ORGS:
        me = principal(hospital_username(org))
        assert permits(acls, me, TOPIC, topics.notifications_of(org), W)
        assert permits(acls, me, TOPIC, topics.notifications_of(org), D)
        assert permits(acls, me, TOPIC, topics.results_of(org), R)
        assert permits(acls, me, TOPIC, topics.results_of(org), D)
        assert permits(acls, me, GROUP, f"hospital-{org}", R)
        assert permits(acls, me, GROUP, f"hospital-{org}.simrs", R)
        assert permits(acls, me, GROUP, f"hospital-{org}.simrs", D), "Read implies Describe (offset fetch)"


def test_a_hospital_can_do_nothing_else(topics):
    acls = everything(topics)
    for org in ORGS:
        me = principal(hospital_username(org))
        assert not permits(acls, me, TOPIC, topics.notifications_of(org), R), "it cannot read what others could see"
        assert not permits(acls, me, TOPIC, topics.results_of(org), W), "it cannot forge results"
        for name in [*topics.all(), topics.notifications, topics.results]:
            for operation in (R, W, D):
                assert not permits(acls, me, TOPIC, name, operation), (name, operation)
        assert not permits(acls, me, GROUP, "hub", R)
        assert not permits(acls, me, CLUSTER, "kafka-cluster", Operation.IDEMPOTENT_WRITE)
        assert not permits(acls, me, CLUSTER, "kafka-cluster", Operation.CREATE)


def test_no_hospital_reaches_another_hospitals_topics_or_groups(topics):
    acls = everything(topics)
    for org in ORGS:
        me = principal(hospital_username(org))
        for other in (o for o in ORGS if o != org):
            for name in topics.of_hospital(other):
                for operation in (R, W, D):
                    assert not permits(acls, me, TOPIC, name, operation), (org, name, operation)
            for group in (f"hospital-{other}", f"hospital-{other}.simrs"):
                assert not permits(acls, me, GROUP, group, R), (org, group)


def test_a_hospitals_acls_never_name_another_hospitals_topic(topics):
    for org in ORGS:
        named = {acl.name for acl in hospital_acls(topics, org)}
        others = {name for other in ORGS if other != org for name in topics.of_hospital(other)}
        assert not named & others
        assert all(acl.principal == "User:hospital-" + org for acl in hospital_acls(topics, org))
        topic_acls = [acl for acl in hospital_acls(topics, org) if acl.resource_type is TOPIC]
        assert {acl.pattern for acl in topic_acls} == {Pattern.LITERAL}, "never a prefix on topics"


def test_the_hub_consumer_reads_every_hospitals_notifications_and_the_dead_letters(topics):
    acls, me = everything(topics), principal("hub")
    for org in ORGS:
        assert permits(acls, me, TOPIC, topics.notifications_of(org), R)
        assert permits(acls, me, TOPIC, topics.notifications_of(org), D)
        assert not permits(acls, me, TOPIC, topics.notifications_of(org), W)
        assert not permits(acls, me, TOPIC, topics.results_of(org), R)
        assert not permits(acls, me, TOPIC, topics.results_of(org), W)
    assert permits(acls, me, TOPIC, topics.dead_letters, R), "replay reads the dead letters"
    assert permits(acls, me, GROUP, "hub", R)
    assert permits(acls, me, GROUP, "hub", D), "consumer lag reads the group's offsets"
    assert not permits(acls, me, GROUP, "hospital-1032730001", R)
    for name in (topics.births_registered, topics.family_cards, topics.documents_issued, topics.document_status):
        assert not permits(acls, me, TOPIC, name, W)
        assert not permits(acls, me, TOPIC, name, R)


def test_the_relay_writes_results_civil_events_and_dead_letters_and_reads_nothing(topics):
    acls, me = everything(topics), principal("hub-relay")
    civil = [topics.births_registered, topics.family_cards, topics.documents_issued, topics.document_status]
    for name in [*civil, topics.dead_letters, *(topics.results_of(org) for org in ORGS)]:
        assert permits(acls, me, TOPIC, name, W), name
        assert permits(acls, me, TOPIC, name, D), name
        assert not permits(acls, me, TOPIC, name, R), name
    for org in ORGS:
        assert not permits(acls, me, TOPIC, topics.notifications_of(org), W), "it never writes as a hospital"
    assert not any(acl.resource_type is GROUP for acl in relay_acls(topics, "hub-relay"))
    # KIP-679: Write on a topic lets an idempotent producer get its producer id; no cluster ACL needed
    assert not any(acl.resource_type is CLUSTER for acl in everything(topics))


def test_prefixes_keep_to_their_family():
    topics = Topics()
    acls = everything(topics)
    assert not permits(acls, "User:hub", TOPIC, "birth.notification.v10.x", R)
    assert not permits(acls, "User:hub-relay", TOPIC, "birth.result.v10.x", W)
    assert not permits(acls, "User:hub", TOPIC, Topics("other.").notifications_of("1032730001"), R)


def test_permits_follows_kafkas_authorizer():
    me = "User:x"
    allow_all = Acl(me, TOPIC, Pattern.LITERAL, "t", Operation.ALL)
    deny_write = Acl(me, TOPIC, Pattern.LITERAL, "t", W, Permission.DENY)
    deny_read = Acl(me, TOPIC, Pattern.LITERAL, "t", R, Permission.DENY)
    assert permits([allow_all], me, TOPIC, "t", W)
    assert not permits([allow_all, deny_write], me, TOPIC, "t", W), "a deny wins"
    assert permits([allow_all, deny_read], me, TOPIC, "t", D), "denying Read does not deny Describe"
    assert not permits([allow_all], "User:y", TOPIC, "t", W)
    assert not permits([allow_all], me, GROUP, "t", R)
    assert permits([Acl(me, TOPIC, Pattern.LITERAL, "*", R)], me, TOPIC, "anything", R)
    assert not permits([Acl(me, TOPIC, Pattern.LITERAL, "t", D)], me, TOPIC, "t", R), "Describe implies nothing"
    alter = Acl(me, TOPIC, Pattern.LITERAL, "t", Operation.ALTER_CONFIGS)
    assert permits([alter], me, TOPIC, "t", Operation.DESCRIBE_CONFIGS)


def test_a_hospital_id_that_topics_refuse_is_refused():
    with pytest.raises(ValueError):
        hospital_acls(Topics(), "dlq")
    with pytest.raises(ValueError):
        hospital_acls(Topics(), "a.b")
