"""The hub's judgement of one document: the pipeline's pure intake (envelope, text, structure,
FHIR conformance when wired, profile rules), as a message from the hub's topic would get it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.config import Topics
from hub.intake.envelope import Envelope
from hub.service.pipeline import IntakeLimits, Pipeline

PIPELINE = Pipeline(Topics("conformance."), IntakeLimits(512 * 1024, 32, True), lambda _region: True)


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    blocking: tuple[str, ...]  # codes of the blocking issues (or the dead-letter reason)
    where: tuple[str, ...]  # "CODE at expression" for each blocking issue, for failure messages

    def summary(self) -> str:
        return "accepted" if self.accepted else "rejected: " + "; ".join(self.where)


def judge(document: dict[str, Any], now: datetime) -> Verdict:
    envelope = PIPELINE.open(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    if not isinstance(envelope, Envelope):
        return Verdict(False, (envelope.reason.code,), (f"{envelope.reason.code} (dead letter)",))
    inspection = PIPELINE.inspect(envelope, now)
    profile = inspection.profile
    issues = inspection.problems if profile is None else profile.issues
    blocking = [issue for issue in issues if issue.blocks]
    accepted = profile is not None and profile.notice is not None and not blocking
    return Verdict(
        accepted,
        tuple(issue.code.code for issue in blocking),
        tuple(f"{issue.code.code} at {issue.expression} ({issue.detail})" for issue in blocking),
    )
