"""Who may do what on Kafka, as data: the ACLs of the hub's principals and of each hospital's.

Least privilege, role by role (deploy/local/kafka.sh makes the broker refuse whatever no ACL allows):
- the hub's consumer reads every hospital's notification topic (and the dead-letter topic, which
  replay reads) and commits its group's offsets;
- the outbox relay writes results, the civil events and dead letters, and reads nothing;
- a hospital writes its own notification topic, reads its own results topic and commits offsets
  of its own consumer groups. Nothing in a hospital's ACLs names another hospital's topic or group.

Idempotent producers (the relay's, and a hospital's: Java clients are idempotent by default since
Kafka 3.0) need no IdempotentWrite on the cluster: since KIP-679 (Kafka 2.8) the broker lets a
principal that may Write some topic get a producer id, and Kafka 3.9 deprecates IdempotentWrite.
Nobody uses transactions, so no principal gets a transactional id.

Kafka's implied operations hold here as on the broker: Read, Write, Delete and Alter allow
Describe too; `permits` evaluates a set of ACLs the way the broker's StandardAuthorizer does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from hub.config import Topics


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    CLUSTER = "cluster"
    TRANSACTIONAL_ID = "transactional_id"


class Pattern(StrEnum):
    LITERAL = "literal"  # the resource named exactly
    PREFIXED = "prefixed"  # every resource whose name starts with the name


class Operation(StrEnum):
    ALL = "all"
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DELETE = "delete"
    ALTER = "alter"
    DESCRIBE = "describe"
    CLUSTER_ACTION = "cluster_action"
    DESCRIBE_CONFIGS = "describe_configs"
    ALTER_CONFIGS = "alter_configs"
    IDEMPOTENT_WRITE = "idempotent_write"


class Permission(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


CLUSTER_NAME = "kafka-cluster"  # Kafka's one name for the cluster resource
_IMPLYING_DESCRIBE = {Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER}


@dataclass(frozen=True, slots=True, order=True)
class Acl:
    """One binding: `principal` may (or, denied, may not) do `operation` on the resources that
    `name` names by `pattern`, from any host."""

    principal: str
    resource_type: Resource
    pattern: Pattern
    name: str
    operation: Operation
    permission: Permission = Permission.ALLOW

    def covers(self, resource_type: Resource, name: str) -> bool:
        if resource_type is not self.resource_type:
            return False
        if self.pattern is Pattern.PREFIXED:
            return name.startswith(self.name)
        return self.name in (name, "*")

    def grants(self, operation: Operation) -> bool:
        if self.operation in (operation, Operation.ALL):
            return True
        if operation is Operation.DESCRIBE:
            return self.permission is Permission.ALLOW and self.operation in _IMPLYING_DESCRIBE
        implied = operation is Operation.DESCRIBE_CONFIGS and self.operation is Operation.ALTER_CONFIGS
        return implied and self.permission is Permission.ALLOW


def principal(username: str) -> str:
    return f"User:{username}"


def hospital_username(org_id: str) -> str:
    """The Kafka user (SCRAM) of a hospital."""
    return f"hospital-{org_id}"


def hospital_group(org_id: str) -> str:
    """The consumer group a hospital reads its results with; `<group>.<anything>` are its groups too."""
    return f"hospital-{org_id}"


def permits(acls: Iterable[Acl], who: str, resource_type: Resource, name: str, operation: Operation) -> bool:
    """Whether `who` may do `operation` on the resource: some ALLOW binding matches and no DENY does."""
    matching = [a for a in acls if a.principal == who and a.covers(resource_type, name) and a.grants(operation)]
    allowed = any(a.permission is Permission.ALLOW for a in matching)
    return allowed and not any(a.permission is Permission.DENY for a in matching)


def hub_consumer_acls(topics: Topics, group: str, username: str) -> list[Acl]:
    """The hub's consumer: every hospital's notification topic and the dead-letter topic (both start
    with `<notifications>.`), its consumer group. Consumer lag (end offsets, the group's committed
    offsets, the first uncommitted record) needs nothing more: Describe and Read on those topics,
    Describe on the group."""
    who = principal(username)
    return [
        *_both(who, Resource.TOPIC, Pattern.PREFIXED, f"{topics.notifications}.", Operation.READ, Operation.DESCRIBE),
        *_both(who, Resource.GROUP, Pattern.LITERAL, group, Operation.READ, Operation.DESCRIBE),
    ]


def relay_acls(topics: Topics, username: str) -> list[Acl]:
    """The outbox relay: every hospital's results topic, the civil events, the dead-letter topic."""
    who = principal(username)
    literal = [topics.births_registered, topics.family_cards, topics.documents_issued, topics.document_status]
    acls = _both(who, Resource.TOPIC, Pattern.PREFIXED, f"{topics.results}.", Operation.WRITE, Operation.DESCRIBE)
    for name in [*literal, topics.dead_letters]:
        acls += _both(who, Resource.TOPIC, Pattern.LITERAL, name, Operation.WRITE, Operation.DESCRIBE)
    return acls


def hospital_acls(topics: Topics, org_id: str, username: str | None = None) -> list[Acl]:
    """A hospital: writes its notifications, reads its results, with consumer groups of its own.

    Its groups are `hospital-<org>` and `hospital-<org>.<anything>`: a plain prefix `hospital-<org>`
    would also cover `hospital-<org>1`'s groups (organisation ids never hold a dot)."""
    who = principal(username or hospital_username(org_id))
    group = hospital_group(org_id)
    return [
        *_both(
            who, Resource.TOPIC, Pattern.LITERAL, topics.notifications_of(org_id), Operation.WRITE, Operation.DESCRIBE
        ),
        *_both(who, Resource.TOPIC, Pattern.LITERAL, topics.results_of(org_id), Operation.READ, Operation.DESCRIBE),
        Acl(who, Resource.GROUP, Pattern.LITERAL, group, Operation.READ),
        Acl(who, Resource.GROUP, Pattern.PREFIXED, f"{group}.", Operation.READ),
    ]


def _both(who: str, kind: Resource, pattern: Pattern, name: str, *operations: Operation) -> list[Acl]:
    return [Acl(who, kind, pattern, name, operation) for operation in operations]
