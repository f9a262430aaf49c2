"""Read a process's /metrics and /readyz the way Prometheus and a kubelet do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of every sample the endpoint exposes."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def by_label(samples: dict, name: str, label: str) -> dict[str, float]:
    return {dict(key)[label]: v for (n, key), v in samples.items() if n == name and label in dict(key)}


def readiness(base_url: str) -> tuple[int, dict]:
    """(status, body); (0, {}) while nothing listens yet (the endpoint starts just after the hub)."""
    try:
        response = httpx.get(f"{base_url}/readyz", timeout=10)
    except httpx.TransportError:
        return 0, {}
    return response.status_code, response.json()


async def eventually(check: Callable[[], bool], timeout: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(every)
    return check()
