"""The BrokerAccess port: topics, SCRAM users and ACLs of the Kafka cluster.

Fixtures a concrete suite provides:
- `broker`: the BrokerAccess under test;
- `names`: a prefix no other test uses, for topics, users and principals (a real broker is shared).
"""

from __future__ import annotations

from pydantic import SecretStr

from hub.config import Topics
from hub.service.broker_policy import Acl, Operation, Pattern, Resource, hospital_acls, principal
from hub.service.ports import TopicSpec
from tests.contracts.support import unique


def _name(names: str) -> str:
    return f"{names}{unique()[:8]}"


class BrokerAccessContract:
    async def test_missing_topics_are_created_once(self, broker, names):
        first, second = _name(names), _name(names)
        specs = [TopicSpec(first, 2, {"message.timestamp.type": "LogAppendTime"}), TopicSpec(second, 1)]
        assert await broker.ensure_topics(specs) == sorted([first, second])
        assert await broker.ensure_topics(specs) == [], "done again, it changes nothing"

    async def test_an_existing_topic_is_left_alone_and_the_others_are_made(self, broker, names):
        existing, new = _name(names), _name(names)
        await broker.ensure_topics([TopicSpec(existing, 1)])
        assert await broker.ensure_topics([TopicSpec(existing, 3), TopicSpec(new, 1)]) == [new]
        assert await broker.ensure_topics([]) == []

    async def test_a_user_is_made_given_a_new_password_and_deleted(self, broker, names):
        user = _name(names)
        assert user not in await broker.users()
        await broker.set_password(user, SecretStr(unique()))
        assert user in await broker.users()
        await broker.set_password(user, SecretStr(unique()))  # a new password for the same user
        assert (await broker.users()).count(user) == 1
        assert await broker.delete_user(user) is True
        assert user not in await broker.users()
        assert await broker.delete_user(user) is False, "there was nothing to delete"

    async def test_granted_acls_are_listed_by_principal_and_granting_again_changes_nothing(self, broker, names):
        org = _name(names).replace(".", "-")
        acls = hospital_acls(Topics(names), org)
        who = acls[0].principal
        await broker.grant(acls)
        await broker.grant(acls)
        assert await broker.acls_of(who) == sorted(acls)
        assert await broker.acls_of(principal(_name(names))) == []

    async def test_every_kind_of_binding_comes_back_as_it_was_granted(self, broker, names):
        who = principal(_name(names))
        acls = [
            Acl(who, Resource.TOPIC, Pattern.PREFIXED, f"{names}results.", Operation.WRITE),
            Acl(who, Resource.GROUP, Pattern.LITERAL, f"{names}group", Operation.READ),
            Acl(who, Resource.CLUSTER, Pattern.LITERAL, "kafka-cluster", Operation.DESCRIBE),
            Acl(who, Resource.TRANSACTIONAL_ID, Pattern.PREFIXED, f"{names}tx", Operation.DESCRIBE),
        ]
        await broker.grant(acls)
        assert await broker.acls_of(who) == sorted(acls)
        assert await broker.revoke(who) == len(acls)

    async def test_revoking_removes_every_acl_of_the_principal_and_no_other(self, broker, names):
        topics = Topics(names)
        one, other = _name(names).replace(".", "-"), _name(names).replace(".", "-")
        mine, theirs = hospital_acls(topics, one), hospital_acls(topics, other)
        await broker.grant(mine + theirs)
        assert await broker.revoke(mine[0].principal) == len(mine)
        assert await broker.acls_of(mine[0].principal) == []
        assert await broker.acls_of(theirs[0].principal) == sorted(theirs)
        assert await broker.revoke(mine[0].principal) == 0
        await broker.revoke(theirs[0].principal)
