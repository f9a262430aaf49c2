"""Is the SIAK registry reachable? One GET of its health endpoint, for the hub's readiness."""

from __future__ import annotations

import httpx


async def siak_reachable(base_url: str, path: str, seconds: float) -> str:
    async with httpx.AsyncClient(timeout=seconds) as client:
        response = await client.get(base_url.rstrip("/") + path)
    response.raise_for_status()
    return f"siak-http {response.status_code}"
