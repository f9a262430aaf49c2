"""Pure helpers: percentiles, medians over runs, and matching results to what was sent."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from bench.messages import EXPECTED
from hub.devtools.simulation.demo_stats import read_result


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not values:
        return None
    return values[min(len(values), max(1, math.ceil(q / 100 * len(values)))) - 1]


def latency_summary(latencies_ms: Iterable[float]) -> dict:
    ordered = sorted(latencies_ms)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
    }


def over_runs(runs: list[dict], metrics: Iterable[str]) -> dict[str, dict]:
    """median/min/max of each metric over the runs that have it (failed runs have none)."""
    summary = {}
    for metric in metrics:
        values = [run[metric] for run in runs if isinstance(run.get(metric), (int, float))]
        if values:
            summary[metric] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "runs": len(values),
            }
    return summary


def pair_results(sent: list[tuple[str, str]], results: list) -> list[tuple[str, int, object]]:
    """(kind, index in `sent`, result) pairs: the n-th sending of a message id with its n-th result in time."""
    by_id: dict[str, list] = defaultdict(list)
    for result in sorted(results, key=lambda r: r.created):
        by_id[result.correlation_id].append(result)
    seen: Counter = Counter()
    pairs = []
    for index, (message_id, kind) in enumerate(sent):
        found = by_id.get(message_id, [])
        if seen[message_id] < len(found):
            pairs.append((kind, index, found[seen[message_id]]))
        seen[message_id] += 1
    return pairs


def outcomes(pairs: list[tuple[str, int, object]]) -> dict:
    """Statuses answered, per kind sent, and how many differ from what that kind should get."""
    by_kind: dict[str, Counter] = defaultdict(Counter)
    codes: Counter = Counter()
    for kind, _, result in pairs:
        view = read_result(json.loads(result.value))
        status = view.status if view else "unreadable"
        by_kind[kind][status] += 1
        if view and status in ("rejected", "review-pending"):
            codes.update(set(view.codes))
    statuses = sum(by_kind.values(), Counter())
    unexpected = sum(
        n for kind, counter in by_kind.items() for status, n in counter.items() if EXPECTED.get(kind) != status
    )
    return {
        "statuses": dict(statuses),
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "unexpected": unexpected,
        "rejection_and_review_codes": dict(codes.most_common(12)),
    }
