"""The topics a hub installation has: its own, and two per hospital (see config.Topics)."""

from __future__ import annotations

from collections.abc import Iterable

from hub.config import Topics
from hub.service.ports import TopicSpec

# A hospital's notification topic stamps records with the broker's clock (LogAppendTime): the
# signature check takes a record's time as the moment it was signed, so a producer cannot backdate
# a record into a key's validity (a revoked key stays revoked).
BROKER_TIME = {"message.timestamp.type": "LogAppendTime"}


def topic_specs(topics: Topics, hospitals: Iterable[str], partitions: int, hospital_partitions: int) -> list[TopicSpec]:
    """The hub's own topics and, per hospital, its notification and result topics."""
    specs = [TopicSpec(name, max(1, partitions)) for name in topics.all()]
    for org_id in hospitals:
        specs += hospital_topic_specs(topics, org_id, hospital_partitions)
    return specs


def hospital_topic_specs(topics: Topics, org_id: str, partitions: int) -> list[TopicSpec]:
    """A hospital's notification topic (stamped by the broker) and its results topic."""
    return [
        TopicSpec(topics.notifications_of(org_id), partitions, dict(BROKER_TIME)),
        TopicSpec(topics.results_of(org_id), 1),
    ]
