"""The names of what happened, in one place: result statuses, handling outcomes, replay kinds,
registry saga states and review statuses.

StrEnums: each member is its own string value, so it is stored, logged and compared as that text
(`ResultStatus.REGISTERED == "registered"`), and a typo is an AttributeError, not a silent new state.
"""

from __future__ import annotations

from enum import StrEnum


class ResultStatus(StrEnum):
    """What the hospital's result says (the registration-status extension), plus the one state
    that sends no result yet."""

    REGISTERED = "registered"
    DUPLICATE = "duplicate"
    STILLBIRTH = "stillbirth-recorded"
    REVIEW = "review-pending"
    REJECTED = "rejected"
    PENDING = "registry-pending"  # waiting for the external registry: no result is sent yet

    @property
    def response_code(self) -> str:
        """MessageHeader.response.code: fatal-error for a rejection, ok for everything else."""
        return "fatal-error" if self is ResultStatus.REJECTED else "ok"


class Handling(StrEnum):
    """What handling one delivery did, when it was not answering with a new result."""

    ALREADY_PROCESSED = "already-processed"  # this delivery (topic, partition, offset) was handled before
    RESENT = "resent-result"  # a re-sent message id: the earlier result was queued again
    DEAD_LETTER = "dead-letter"  # unreadable: kept on the DLQ with the reason
    RETRYING = "failed-retrying"  # the registry was unavailable: the saga waits


class ReplayKind(StrEnum):
    """How a replayed message counts in the replay report."""

    ALREADY = "already-processed"
    NEW = "newly-processed"
    REJECTED = "rejected"
    UNREADABLE = "unreadable"
    SKIPPED = "skipped"


class SagaState(StrEnum):
    """pending → written | failed-retrying → ... | failed-permanent (hub/service/registry_sagas.py)."""

    PENDING = "pending"
    WRITTEN = "written"
    RETRYING = "failed-retrying"
    FAILED = "failed-permanent"

    @classmethod
    def due(cls) -> tuple[SagaState, ...]:
        return cls.PENDING, cls.RETRYING


class ReviewStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


Outcome = ResultStatus | Handling | ReplayKind
