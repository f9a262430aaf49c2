"""Liveness and readiness.

Liveness (`/healthz`) says the process is alive and its event loop answers: nothing else, so a
slow database never gets a healthy process killed. Readiness (`/readyz`) runs every dependency
check concurrently, each with a deadline, and reports each by name. A check is an awaitable that
returns a short, non-personal detail or raises; the composition root decides what to check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from hub.observability import metrics

Check = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Report:
    ready: bool
    dependencies: dict[str, dict[str, str | bool]]

    def as_json(self) -> dict:
        return {"status": "ready" if self.ready else "not-ready", "dependencies": self.dependencies}


class Readiness:
    def __init__(self, checks: Mapping[str, Check], *, timeout: float = 2.0, cache_seconds: float = 1.0) -> None:
        self._checks, self._timeout, self._cache_seconds = dict(checks), timeout, cache_seconds
        self._last: tuple[float, Report] | None = None
        self._lock = asyncio.Lock()

    async def report(self) -> Report:
        """The dependencies' state, at most `cache_seconds` old (probes and scrapes may come often)."""
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self._cache_seconds:
                return self._last[1]
            results = await asyncio.gather(*(self._run(name, check) for name, check in self._checks.items()))
            report = Report(all(r["ok"] for _, r in results), dict(results))
            self._last = (time.monotonic(), report)
            return report

    async def _run(self, name: str, check: Check) -> tuple[str, dict[str, str | bool]]:
        try:
            detail = await asyncio.wait_for(check(), self._timeout)
            outcome: dict[str, str | bool] = {"ok": True, "detail": detail or "ok"}
        except TimeoutError:
            outcome = {"ok": False, "detail": f"no answer within {self._timeout:g} s"}
        except Exception as exc:  # noqa: BLE001 - any failure of a dependency means not ready; its kind is the detail
            outcome = {"ok": False, "detail": _describe(exc)}
        metrics.READY.labels(dependency=name).set(1 if outcome["ok"] else 0)
        return name, outcome


def _describe(exc: Exception) -> str:
    """The error's kind and its first line, cut short: drivers' messages name hosts, not people."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__
