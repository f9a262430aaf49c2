"""HTTP client for the SIAK-style registry, over the hub's retrying HTTP loop (hub/adapters/http_retry.py).

Only transient failures are retried (connection errors, timeouts, 429, 5xx): RegistryUnavailable
after the last attempt; a 4xx answer is the registry's decision and becomes a PermanentError with
its problem code. POSTs are retried only
because they carry an Idempotency-Key: the registry answers a repeated key with the first answer.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from hub.adapters.http_retry import RetryingHttp
from hub.adapters.siak.breaker import CircuitBreaker
from hub.domain import codes
from hub.errors import PermanentError, RegistryConflict, RegistryUnavailable

# The same birth was recorded under another key meanwhile: deciding again finds it (a duplicate).
CONFLICTS = {"BIRTH-ALREADY-RECORDED"}


class SiakClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        breaker: CircuitBreaker,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._http = RetryingHttp(
            base_url,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            breaker=breaker,
            unavailable=RegistryUnavailable,
            service="registry",
            transport=transport,
            verify=ssl_context or True,
        )
        self.breaker = breaker

    async def close(self) -> None:
        await self._http.close()

    async def get(self, path: str, *, params: dict | None = None, missing_ok: bool = False) -> Any:
        return await self._call("GET", path, params=params, missing_ok=missing_ok)

    async def post(self, path: str, body: dict, *, idempotency_key: str) -> Any:
        return await self._call("POST", path, json=body, headers={"Idempotency-Key": idempotency_key})

    async def _call(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        return _result(await self._http.request(method, path, **kwargs), missing_ok)


def _result(response: httpx.Response, missing_ok: bool) -> Any:
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 409 and body.get("code") in CONFLICTS:
            raise RegistryConflict(body.get("detail") or body["code"])
        code = str(body.get("code") or f"REGISTRY-HTTP-{response.status_code}")
        detail = str(body.get("detail") or body.get("title") or f"registry answered {response.status_code}")
        known = codes.CATALOGUE.get(code)  # the registry's own codes that the hub also uses (KK-NOT-FOUND)
        raise PermanentError(known or codes.REGISTRY_REJECTED, detail, origin=code)
    return response.json()
