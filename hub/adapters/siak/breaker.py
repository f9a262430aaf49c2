"""A circuit breaker for the registry: stop calling a registry that keeps failing, try again later.

    closed ──(N consecutive failures)──▶ open ──(reset_after seconds)──▶ half-open
       ▲                                   ▲                               │
       └────────────(trial succeeds)───────┼────────(trial fails)──────────┘

While open, calls fail at once with RegistryUnavailable (the sagas wait and retry), so an outage
costs no timeouts and no load on a registry that is trying to recover. Written here rather than
taken from a library: the available asyncio breakers are unmaintained, and this one is 50 lines
whose state the hub persists for operators (`on_change`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_after: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, int], None] = lambda state, failures: None,
    ) -> None:
        self._threshold, self._reset_after, self._clock, self._on_change = (
            failure_threshold,
            reset_after,
            clock,
            on_change,
        )
        self.state, self.failures, self._opened_at, self._trial_running = CLOSED, 0, 0.0, False

    def allow(self) -> bool:
        """May a call go out now? In half-open, exactly one trial call at a time."""
        if self.state == OPEN and self._clock() - self._opened_at >= self._reset_after:
            self._set(HALF_OPEN)
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def success(self) -> None:
        self._trial_running = False
        self.failures = 0
        if self.state != CLOSED:
            self._set(CLOSED)

    def failure(self) -> None:
        self._trial_running = False
        self.failures += 1
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self._threshold):
            self._opened_at = self._clock()
            self._set(OPEN)

    def _set(self, state: str) -> None:
        self.state = state
        self._on_change(state, self.failures)
