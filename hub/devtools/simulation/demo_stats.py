"""The pure part of `hub demo`: reading result Bundles, matching them to sent notifications, counting.

No I/O here: times are passed in (monotonic seconds), so the tests drive it with plain numbers.
Only ids, statuses and hub codes are kept, never personal data.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.domain.outcomes import ResultStatus

STATUSES = (
    ResultStatus.REGISTERED,
    ResultStatus.DUPLICATE,
    ResultStatus.STILLBIRTH,
    ResultStatus.REVIEW,
    ResultStatus.REJECTED,
)
MISTAKES = ("placeholder-name", "weight-in-kg", "unknown-kk")
# What the hub should answer to each kind of notification the demo sends.
EXPECTED = {
    "valid": ResultStatus.REGISTERED,
    "twin": ResultStatus.REGISTERED,
    "stillbirth": ResultStatus.STILLBIRTH,
    "repeat-mother": ResultStatus.REVIEW,
    **{mistake: ResultStatus.REJECTED for mistake in MISTAKES},
}


@dataclass(frozen=True, slots=True)
class ResultView:
    """What the demo needs from one birth.result.v1 Bundle."""

    message_id: str
    status: str
    response_code: str | None
    codes: tuple[str, ...]


def read_result(bundle: Any) -> ResultView | None:
    """The answered message id, registration status, response code and issue codes; None if unreadable."""
    try:
        resources = [entry["resource"] for entry in bundle["entry"]]
        header = resources[0]
        response = header["response"]
        status = next(
            ext["valueCode"]
            for ext in header.get("extension", ())
            if str(ext.get("url", "")).endswith("registration-status")
        )
        codes = tuple(
            coding["code"]
            for res in resources
            if res.get("resourceType") == "OperationOutcome"
            for issue in res.get("issue", ())
            for coding in (issue.get("details") or {}).get("coding", ())
            if coding.get("code")
        )
        return ResultView(str(response["identifier"]), str(status), response.get("code"), codes)
    except (KeyError, IndexError, TypeError, AttributeError, StopIteration):
        return None


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def utc_offset_hours(regency: str) -> int:
    """Indonesia's time zone of a region code: WIB +7, WITA +8, WIT +9 (by province)."""
    province = int(regency[:2])
    if province in (63, 64, 65) or 51 <= province <= 53 or 71 <= province <= 76:
        return 8
    if province in (81, 82) or 91 <= province <= 96:
        return 9
    return 7  # 11..36 (Sumatra, Java), 61, 62 (West and Central Kalimantan)


@dataclass
class Tally:
    """Sent notifications and their first answers, matched by message id."""

    sent_at: dict[str, float] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)
    status_of: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    codes: dict[str, Counter] = field(default_factory=dict)
    failed_sends: int = 0
    repeats: int = 0
    code_mismatches: int = 0

    def sent(self, message_id: str, at: float, kind: str = "valid") -> None:
        self.sent_at[message_id] = at
        self.kind[message_id] = kind

    def send_failed(self, message_id: str) -> None:
        """The broker refused the notification: no answer can come, so stop waiting for it."""
        if self.sent_at.pop(message_id, None) is not None:
            self.kind.pop(message_id, None)
            self.failed_sends += 1

    def answer(self, result: ResultView, at: float) -> bool:
        """Count the first answer to one of our notifications; False for others' or repeated answers."""
        sent = self.sent_at.get(result.message_id)
        if sent is None:
            return False
        if result.message_id in self.status_of:
            self.repeats += 1  # e.g. the second result after a review decision
            return False
        self.status_of[result.message_id] = result.status
        self.counts[result.status] += 1
        self.latencies.append(max(0.0, at - sent))
        self.codes.setdefault(result.status, Counter()).update(set(result.codes))
        expected = "fatal-error" if result.status == ResultStatus.REJECTED else "ok"
        self.code_mismatches += result.response_code != expected
        return True

    @property
    def answered(self) -> int:
        return len(self.status_of)

    @property
    def unanswered(self) -> int:
        return len(self.sent_at) - self.answered

    @property
    def complete(self) -> bool:
        return self.unanswered == 0

    def latency_ms(self, q: float) -> float | None:
        found = percentile(self.latencies, q)
        return None if found is None else found * 1000

    def top_codes(self, status: str, limit: int = 8) -> list[tuple[str, int]]:
        return self.codes.get(status, Counter()).most_common(limit)

    def by_kind(self) -> dict[str, Counter]:
        """Outcome per kind of notification sent (valid, twin, stillbirth, each mistake); 'unanswered' too."""
        table: dict[str, Counter] = {}
        for message_id, kind in self.kind.items():
            table.setdefault(kind, Counter())[self.status_of.get(message_id, "unanswered")] += 1
        return table

    def surprises(self) -> Counter:
        """(kind, status) pairs answered otherwise than EXPECTED says."""
        return Counter(
            (self.kind[mid], status) for mid, status in self.status_of.items() if EXPECTED.get(self.kind[mid]) != status
        )

    def warnings(self, ending: str, timeout_s: float) -> list[str]:
        """What the summary must point out: unanswered, unexpected or inconsistent answers, refused sends."""
        found = {
            "timeout": f"stopped waiting {timeout_s:.0f}s after the last send: {self.unanswered} unanswered",
            "interrupted": f"interrupted: {self.unanswered} of {len(self.sent_at)} sent still unanswered",
        }
        lines = [found[ending]] if ending in found else []
        surprises = self.surprises()
        if surprises:
            lines.append(
                "unexpected answers: " + ", ".join(f"{k} -> {s} x{n}" for (k, s), n in sorted(surprises.items()))
            )
        if self.code_mismatches:
            lines.append(f"{self.code_mismatches} answers whose response.code does not fit their status")
        if self.failed_sends:
            lines.append(f"{self.failed_sends} notifications refused by Kafka (not counted as sent)")
        if self.repeats:
            lines.append(f"{self.repeats} further answers to notifications already answered (ignored)")
        return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def figures(tally: Tally, elapsed: float) -> list[tuple[str, str]]:
    """The progress and summary figures, in display order, as (measure, value)."""
    shown = (
        ResultStatus.REGISTERED,
        ResultStatus.REJECTED,
        ResultStatus.REVIEW,
        ResultStatus.STILLBIRTH,
        ResultStatus.DUPLICATE,
    )
    rows = [
        ("sent", len(tally.sent_at)),
        ("answered", tally.answered),
        ("unanswered", tally.unanswered),
        *((status, tally.counts[status]) for status in shown),
        ("answers/s", f"{tally.answered / elapsed:.1f}" if elapsed > 0 else "-"),
        ("latency p50 ms", _ms(tally.latency_ms(50))),
        ("latency p95 ms", _ms(tally.latency_ms(95))),
        ("latency max ms", _ms(tally.latency_ms(100))),
        ("elapsed s", f"{elapsed:.1f}"),
    ]
    return [(name, str(value)) for name, value in rows]


def kind_rows(tally: Tally) -> list[tuple[str, ...]]:
    """Per kind sent: 'kind (expected)', then counts by STATUSES and unanswered."""
    return [
        (f"{kind} ({EXPECTED.get(kind, '?')})", *(str(counts[s]) for s in (*STATUSES, "unanswered")))
        for kind, counts in sorted(tally.by_kind().items())
    ]
