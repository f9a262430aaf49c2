"""What a notification's trail shows, for `hub status` and the console's search: its steps in time
order, the state of its latest result, and personal data masked.

Pure functions over the read model's trail dicts (`PostgresOperationsView.trails`). Masking keeps
what an operator needs to follow a case (ids, codes, the region part of a number) and hides the
person: NIK and KK numbers keep their first six digits, names become initials, dates of birth go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hub.logging import mask_number

MASKED_DATE = "****-**-**"


def masked(value: Any) -> Any:
    """Mask every NIK/KK-like number inside a JSON-able structure."""
    if isinstance(value, str):
        return mask_number(value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(item) for item in value]
    return value


def initials(name: str | None) -> str | None:
    """`Siti Nur Rahma` -> `S. N. R.`: enough to tell two people of one family apart, not to identify."""
    if name is None:
        return None
    return " ".join(f"{word[0].upper()}." for word in name.split() if word[0].isalnum()) or "*"


def masked_date(value: date | datetime | str | None) -> str | None:
    return None if value is None else MASKED_DATE


@dataclass(frozen=True, slots=True)
class Step:
    """One thing that happened to a notification. `what` is how `hub status` names it (English);
    `kind` with `values` lets the console name it in the reader's language."""

    at: datetime | None
    kind: str
    what: str
    where: str
    detail: str | None
    values: dict[str, str] = field(default_factory=dict)


def timeline(trail: dict[str, Any]) -> list[Step]:
    """The trail's steps, oldest first: received, registered, review, registry saga, results and
    events queued or published, operator actions, document jobs and issued documents."""
    steps = [
        Step(d["handled_at"], "received", "received", f"{d['topic']} p{d['partition']} @{d['offset']}", d["action"])
        for d in trail["deliveries"]
    ]
    if (reg := trail["registration"]) is not None:
        what = (
            "stillbirth recorded"
            if reg["stillborn"]
            else f"akta {reg['akta_number']} ({reg['registration_type']}, {reg['variant']})"
        )
        steps.append(
            Step(
                reg["registered_at"],
                "registered",
                "registered",
                what,
                f"child {reg['child_nik'] or '-'}, KK {reg['kk_number']} v{reg['kk_version'] or '-'}",
            )
        )
    if (review := trail["review"]) is not None:
        steps.append(
            Step(review["opened_at"], "review-opened", "review opened", ", ".join(review["reasons"]), review["status"])
        )
        if review["decided_at"]:
            steps.append(
                Step(
                    review["decided_at"],
                    "review-decided",
                    f"review {review['status']}",
                    f"by {review['decided_by']}",
                    review["note"],
                    {"status": review["status"]},
                )
            )
    if (saga := trail.get("registry_saga")) is not None:
        steps.append(Step(saga["created_at"], "saga-opened", "registry saga opened", "siak-http", ""))
        waiting = saga["state"] in ("pending", "failed-retrying")
        steps.append(
            Step(
                saga["updated_at"],
                "saga-state",
                f"registry saga {saga['state']}",
                f"attempts {saga['attempts']}",
                saga["last_error"] or (f"next attempt {saga['next_attempt_at']:%H:%M:%S}" if waiting else ""),
                {"state": saga["state"]},
            )
        )
    steps += [
        Step(
            p["created_at"],
            "queued" if p["sent_at"] is None else "published",
            "queued" if p["sent_at"] is None else "published",
            p["topic"],
            f"event {p['event_id']}",
        )
        for p in trail["published"]
    ]
    steps += [
        Step(_moment(a["at"]), "operator", f"operator: {a['action']}", a["actor"], a["reason"], {"action": a["action"]})
        for a in trail["audit"]
    ]
    steps += [_document_job(job) for job in trail.get("document_jobs", [])]
    steps += [
        Step(
            d["issued_at"],
            "document-issued",
            f"document issued ({d['reason']})",
            f"{d['kind']} {d['number']} v{d['version']}",
            f"{d['status']}{' (' + d['status_reason'] + ')' if d['status_reason'] else ''}; id {d['document_id']}; "
            f"key {d['key_id']}; status list {d['regency']}/{d['list_year']}#{d['list_index']}",
            {"reason": d["reason"]},
        )
        for d in trail.get("documents", [])
    ]
    return sorted(steps, key=lambda step: (step.at is None, step.at.timestamp() if step.at else 0.0))


def _moment(value: datetime | str | None) -> datetime | None:
    """The audit log keeps its times as the ISO 8601 text it hashed."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _document_job(job: dict[str, Any]) -> Step:
    if job["state"] == "done":
        return Step(
            job["done_at"],
            "documents-made",
            f"documents made ({job['reason']})",
            f"result #{job['sequence']}",
            "",
            {"reason": job["reason"]},
        )
    waiting = f"attempts {job['attempts']}, next {job['next_attempt_at']:%H:%M:%S}"
    return Step(
        job["created_at"],
        "documents-pending",
        f"documents pending ({job['reason']})",
        waiting,
        job["last_error"] or "",
        {"reason": job["reason"]},
    )


@dataclass(frozen=True, slots=True)
class LatestResult:
    """The hospital's latest result for a notification (the second one after a review decision).
    `state`: sent (the broker has it), queued (in the outbox) or preparing (its documents are being made)."""

    sequence: int
    status: str
    codes: tuple[str, ...]
    state: str


def latest_result(trail: dict[str, Any]) -> LatestResult | None:
    inbox = trail["inbox"]
    if inbox is None:
        return None
    event_id = str(inbox["result_event_id"])
    published = [p for p in trail["published"] if p["event_id"] == event_id]
    state = "sent" if any(p["sent_at"] is not None for p in published) else "queued" if published else "preparing"
    return LatestResult(inbox["result_sequence"], inbox["status"], tuple(inbox["codes"] or ()), state)
