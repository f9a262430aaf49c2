"""Retry with jittered exponential backoff, for transient errors only.

Transient failures never give up: the message stays uncommitted and the partition waits, which
is what keeps "nothing lost". Permanent errors and bugs pass straight through.
"""

from __future__ import annotations

import asyncio
import logging
import random
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


async def retry_transient(operation: Callable[[], Awaitable[T]], *, initial: float, maximum: float, what: str) -> T:
    attempt = 1
    while True:
        try:
            return await operation()
        except TransientError as exc:
            wait = backoff(attempt, initial, maximum)
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
