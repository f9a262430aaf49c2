"""Gap-free serial allocation for NIK, KK and akta numbers.

The counter row of a scope is incremented inside the caller's transaction and stays locked until
it commits: concurrent registrations in one scope queue behind each other, and a rollback gives
the serial back, so issued numbers have no gaps and no repeats.
"""

from __future__ import annotations

import asyncpg

from hub.adapters.postgres.database import PgConnection
from hub.errors import NumberSpaceExhausted

_NEXT = """
INSERT INTO number_serials AS s (scope, last) VALUES ($1, 1)
ON CONFLICT (scope) DO UPDATE SET last = s.last + 1
RETURNING last
"""


async def next_serial(conn: PgConnection, scope: str) -> int:
    try:
        return await conn.fetchval(_NEXT, scope)
    except asyncpg.exceptions.CheckViolationError:
        raise NumberSpaceExhausted(scope) from None
