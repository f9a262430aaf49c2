"""Create the hub's topics when they are missing (the local broker does not auto-create)."""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from hub.config import Topics
from hub.errors import BrokerUnavailable

log = logging.getLogger("hub.kafka")


async def ensure_topics(bootstrap: str, topics: Topics, partitions: int, replication: int = 1) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, partitions if name == topics.notifications else max(1, partitions), replication)
            for name in topics.all()
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another hub made them between list and create
                await admin.create_topics(wanted)
        for topic in wanted:
            log.info("topic created name=%s partitions=%d", topic.name, topic.num_partitions)
        return [t.name for t in wanted]
    except KafkaConnectionError as exc:
        raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    except KafkaError as exc:
        if getattr(exc, "retriable", False):
            raise BrokerUnavailable(str(exc)) from exc
        raise
    finally:
        await admin.close()
