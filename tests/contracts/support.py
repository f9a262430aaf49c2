"""Small builders shared by the port specifications: unique ids and deliveries, times."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hub.service.ports import Delivery, InboxRecord

_offsets = itertools.count(1)
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 vendor=value"  # traceparent and tracestate


def unique() -> str:
    return str(uuid.uuid4())


def delivery() -> Delivery:
    """A delivery no other test uses: a topic of its own."""
    return Delivery(f"contract.{uuid.uuid4().hex[:12]}", next(_offsets) % 8, next(_offsets), b"key")


def utc_now() -> datetime:
    """Now, to the microsecond PostgreSQL keeps."""
    return datetime.now(UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def inbox_record(message_id: str | None = None, **changes) -> InboxRecord:
    """An inbox row; its delivery has no key, as the inbox keeps only topic, partition and offset."""
    values = dict(
        message_id=message_id or unique(),
        hospital_id="1032730001",
        status="registered",
        result_event_id=unique(),
        codes=(),
        delivery=replace(delivery(), key=None),
        mother_nik=None,
        result_sequence=1,
    )
    values.update(changes)
    return InboxRecord(**values)
