"""Is the SIAK registry reachable? One GET of its health endpoint, for the hub's readiness, over the
same mutual TLS as the registry calls (a registry that refuses the hub's certificate is not ready)."""

from __future__ import annotations

import ssl

import httpx


async def siak_reachable(base_url: str, path: str, seconds: float, ssl_context: ssl.SSLContext | None = None) -> str:
    async with httpx.AsyncClient(timeout=seconds, verify=ssl_context or True) as client:
        response = await client.get(base_url.rstrip("/") + path)
    response.raise_for_status()
    return f"siak-http {response.status_code}"
