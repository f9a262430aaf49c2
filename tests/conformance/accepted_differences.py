"""Reference-validator errors the hub knowingly does not report, each with its reason.

An entry matches a reference error by the validator's message id (and, optionally, a fragment of
its location). The suite fails on any reference error of a mutation the hub accepts unless an
entry here covers it, and fails on an entry that no longer matches anything (a stale excuse).
Keep this list empty unless the hub truly cannot know what the validator checks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AcceptedDifference:
    message_id: str  # the reference validator's message id, e.g. "Terminology_TX_NoValid_2_CC"
    location: str  # a fragment of the error's location ("" for anywhere)
    reason: str

    def covers(self, message_id: str, location: str) -> bool:
        return message_id == self.message_id and self.location in location


ACCEPTED_DIFFERENCES: tuple[AcceptedDifference, ...] = (
    AcceptedDifference(
        "Terminology_PassThrough_TX_Message",
        ".language",
        "R4 binds Resource.language `preferred` (its maximum: all-languages, any BCP 47 tag); the "
        "reference validator's in-memory terminology refuses every tag outside the 21 Common Languages, "
        "Indonesian `id` and `id-ID` among them: an error the specification does not make, for the "
        "language of the country's own notifications. The hub refuses what is no registered BCP 47 tag.",
    ),
)
