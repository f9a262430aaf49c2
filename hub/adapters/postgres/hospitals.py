"""The hospital directory on the unit of work's connection: hospitals and their signing keys
(tables hospitals, 0001, and hospital_keys, 0017)."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from hub.adapters.postgres.database import PgConnection
from hub.domain.values import Hospital, HospitalKey
from hub.errors import OperatorError

_HOSPITAL_SELECT = "SELECT org_id, name, regency, active FROM hospitals"
_KEY_SELECT = "SELECT kid, org_id, jwk, valid_from, valid_until, revoked_at FROM hospital_keys"


def _hospital(row) -> Hospital:
    return Hospital(row["org_id"], row["name"], row["regency"], row["active"])


def _key(row) -> HospitalKey:
    return HospitalKey(
        row["kid"], row["org_id"], json.loads(row["jwk"]), row["valid_from"], row["valid_until"], row["revoked_at"]
    )


class PostgresHospitals:
    """Remembers hospital and key lookups for the unit of work's lifetime: a batch asks about few
    hospitals and keys, for every record (the trust check). Its own changes update or forget what it
    remembers."""

    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn
        self._seen: dict[str, Hospital | None] = {}
        self._keys: dict[str, HospitalKey | None] = {}

    async def hospital(self, org_id: str) -> Hospital | None:
        if org_id not in self._seen:
            row = await self._conn.fetchrow(_HOSPITAL_SELECT + " WHERE org_id = $1", org_id)
            self._seen[org_id] = None if row is None else _hospital(row)
        return self._seen[org_id]

    async def prefetch(self, org_ids: Collection[str], kids: Collection[str]) -> None:
        """Two statements for a batch's senders and keys; the ones not found are remembered as such."""
        hospitals = sorted(set(org_ids) - self._seen.keys())
        if hospitals:
            rows = await self._conn.fetch(_HOSPITAL_SELECT + " WHERE org_id = ANY($1::text[])", hospitals)
            found = {row["org_id"]: _hospital(row) for row in rows}
            self._seen.update({org_id: found.get(org_id) for org_id in hospitals})
        keys = sorted(set(kids) - self._keys.keys())
        if keys:
            rows = await self._conn.fetch(_KEY_SELECT + " WHERE kid = ANY($1::text[])", keys)
            known = {row["kid"]: _key(row) for row in rows}
            self._keys.update({kid: known.get(kid) for kid in keys})

    async def listed(self) -> list[Hospital]:
        return [_hospital(row) for row in await self._conn.fetch(_HOSPITAL_SELECT + " ORDER BY org_id")]

    async def add(self, hospital: Hospital) -> bool:
        added = await self._conn.fetchval(
            """INSERT INTO hospitals (org_id, name, regency, active) VALUES ($1, $2, $3, $4)
               ON CONFLICT (org_id) DO NOTHING RETURNING true""",
            hospital.org_id,
            hospital.name,
            hospital.regency,
            hospital.active,
        )
        self._seen.pop(hospital.org_id, None)
        return bool(added)

    async def set_active(self, org_id: str, active: bool) -> bool:
        row = await self._conn.fetchrow(
            "UPDATE hospitals SET active = $2 WHERE org_id = $1 RETURNING org_id, name, regency, active", org_id, active
        )
        self._seen[org_id] = None if row is None else _hospital(row)
        return row is not None

    async def key(self, kid: str) -> HospitalKey | None:
        if kid not in self._keys:
            row = await self._conn.fetchrow(_KEY_SELECT + " WHERE kid = $1", kid)
            self._keys[kid] = None if row is None else _key(row)
        return self._keys[kid]

    async def keys_of(self, org_id: str) -> list[HospitalKey]:
        rows = await self._conn.fetch(_KEY_SELECT + " WHERE org_id = $1 ORDER BY created_at, kid", org_id)
        return [_key(row) for row in rows]

    async def add_key(self, key: HospitalKey) -> None:
        if await self.hospital(key.org_id) is None:
            raise OperatorError(f"no hospital {key.org_id!r} is registered")
        added = await self._conn.fetchval(
            """INSERT INTO hospital_keys (kid, org_id, jwk, valid_from, valid_until, revoked_at)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6) ON CONFLICT (kid) DO NOTHING RETURNING true""",
            key.kid,
            key.org_id,
            json.dumps(key.jwk),
            key.valid_from,
            key.valid_until,
            key.revoked_at,
        )
        if not added:
            raise OperatorError(f"a key with the id {key.kid!r} is registered already")
        self._keys.pop(key.kid, None)

    async def retire_keys(self, org_id: str, until: datetime, keep: str) -> int:
        self._keys.clear()
        return await self._conn.fetchval(
            """WITH retired AS (
                   UPDATE hospital_keys SET valid_until = $2
                   WHERE org_id = $1 AND kid <> $3 AND (valid_until IS NULL OR valid_until > $2)
                   RETURNING 1)
               SELECT count(*) FROM retired""",
            org_id,
            until,
            keep,
        )

    async def revoke_key(self, kid: str, at: datetime) -> bool:
        self._keys.pop(kid, None)
        revoked = await self._conn.fetchval(
            "UPDATE hospital_keys SET revoked_at = $2 WHERE kid = $1 AND revoked_at IS NULL RETURNING true", kid, at
        )
        return bool(revoked)
