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
log = logging.getLogger("hub.retry")


async def retry_transient(
    operation: Callable[[], Awaitable[T]], *, initial: float, maximum: float, what: str
) -> T:
    delay = initial
    attempt = 1
    while True:
        try:
            return await operation()
        except TransientError as exc:
            wait = random.uniform(delay / 2, delay)
            log.warning("transient failure, retrying what=%s attempt=%d wait_s=%.2f error=%s detail=%s",
                        what, attempt, wait, type(exc).__name__, str(exc)[:160])
            await asyncio.sleep(wait)
            delay = min(delay * 2, maximum)
            attempt += 1
