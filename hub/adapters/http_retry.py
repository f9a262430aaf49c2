"""The one HTTP call loop of the hub's outbound clients (SIAK, the signing service): per-attempt
timeouts, retries of transient failures with the hub's backoff, and a circuit breaker.

Transient: a transport error (refused, reset, dropped, timed out), 429 or 5xx. Those are retried up
to `retries` times, then the client's own TransientError is raised; with the circuit open it is
raised at once and nothing is sent. Any other answer is settled and returned to the client, which
reads it (a 4xx is the service's decision, never retried). POSTs may be retried only because they
carry an Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx

from hub.adapters.siak.breaker import HALF_OPEN, CircuitBreaker
from hub.errors import TransientError
from hub.service.retry import backoff


class RetryingHttp:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        breaker: CircuitBreaker,
        unavailable: type[TransientError],
        service: str,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,  # the service's TLS: hub/adapters/service_tls.py
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            verify=verify,
            headers={"accept": "application/json"},
        )
        self._retries, self._backoff, self.breaker = retries, backoff, breaker
        self._unavailable, self._service = unavailable, service

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The first settled answer (2xx-4xx but 429), after retrying transient failures."""
        failure = "no attempt made"
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(backoff(attempt, self._backoff))
            if not self.breaker.allow():
                raise self._unavailable(f"circuit {self.breaker.state}: {self._service} calls paused")
            response = await self._attempt(method, path, **kwargs)
            if isinstance(response, httpx.Response):
                return response
            failure = response
        raise self._unavailable(f"{method} {path} failed after {self._retries + 1} attempts: {failure}")

    async def _attempt(self, method: str, path: str, **kwargs: Any) -> httpx.Response | str:
        """One exchange, reported to the breaker: the settled response, or why it is worth retrying."""
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            self.breaker.failure()
            return type(exc).__name__
        except BaseException:
            # Cancelled (or a bug) mid-call: a half-open breaker must not wait forever for this trial.
            if self.breaker.state == HALF_OPEN:
                self.breaker.failure()
            raise
        if response.status_code == 429 or response.status_code >= 500:
            self.breaker.failure()
            return f"HTTP {response.status_code} {problem_code(response)}".rstrip()
        self.breaker.success()
        return response


def problem_code(response: httpx.Response) -> str:
    """The `code` of a problem+json answer, or "" when there is none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""
