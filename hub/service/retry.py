"""Retry with jittered exponential backoff, for transient errors only.

Transient failures never give up: the message stays uncommitted and the partition waits, which
is what keeps "nothing lost". Permanent errors and bugs pass straight through.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hub.errors import TransientError

T = TypeVar("T")


def backoff(attempt: int, initial: float, maximum: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...): `initial` doubled per retry, capped
    at `maximum`, and jittered to 50-100 % so that callers that failed together do not retry
    together. The one backoff of the hub: consumer retries, sagas, document jobs, HTTP clients."""
    delay = initial * 2 ** (max(attempt, 1) - 1)
    return random.uniform(0.5, 1.0) * (delay if maximum is None else min(delay, maximum))


log = logging.getLogger("hub.retry")
REMIND_EVERY = 60.0  # seconds between the warnings of one long run of failures


async def retry_transient(operation: Callable[[], Awaitable[T]], *, initial: float, maximum: float, what: str) -> T:
    """Run `operation` until it succeeds, with backoff after each transient failure. A run of
    failures is logged when it begins, every REMIND_EVERY seconds while it lasts, and when it ends:
    an outage of ten minutes is a dozen lines, not one per attempt."""
    attempt, began, warned = 1, 0.0, 0.0
    while True:
        try:
            result = await operation()
        except TransientError as exc:
            now, wait = time.monotonic(), backoff(attempt, initial, maximum)
            if attempt == 1:
                began = now
            if attempt == 1 or now - warned >= REMIND_EVERY:
                warned = now
                log.warning(
                    "transient failure, retrying what=%s attempt=%d wait_s=%.2f error=%s detail=%s",
                    what,
                    attempt,
                    wait,
                    type(exc).__name__,
                    str(exc)[:160],
                )
            await asyncio.sleep(wait)
            attempt += 1
        else:
            if attempt > 1:
                log.info("recovered what=%s attempts=%d after_s=%.1f", what, attempt, time.monotonic() - began)
            return result
