"""`LocalSigner`: the DocumentSigner port over a development PKI directory (see pki.py).

The embedded default: the hub signs with its own keys, on the event loop (one ECDSA P-256
signature takes well under a millisecond). keys.json is re-read whenever it changes on disk, so a
rotation by another process (`rotate`) is seen by a running hub without a restart.

Contract, as for the remote signer:
- `sign_digest` signs a 32-byte SHA-256 digest with ECDSA P-256 and returns the DER signature;
- it refuses a kid it does not know (SIGNING-KEY-UNKNOWN) or whose `not_after` has passed
  (SIGNING-KEY-RETIRED): permanent errors, the caller takes the current key and signs again;
- it is idempotent by key: the same idempotency key and digest return the same signature, the same
  key with another kid or digest is refused (IDEMPOTENCY-KEY-REUSED). The record is in memory and
  bounded (oldest forgotten first); a forgotten key signs anew, which is harmless (a different,
  equally valid signature);
- unreadable or corrupt key files raise SignerUnavailable (an operator must repair the directory).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from hub.adapters.signing import pki
from hub.domain import codes
from hub.errors import PermanentError, SignerUnavailable
from hub.service.ports import SigningKey

DIGEST_SIZE = 32


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalSigner:
    """Signs with the keys under `directory` (created beforehand by `pki.ensure_keys`)."""

    def __init__(self, directory: Path, clock: Callable[[], datetime] = _utc_now, *, remembered: int = 10_000) -> None:
        self._directory, self._clock, self._remembered = directory, clock, remembered
        self._index_stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, SigningKey] = {}
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._done: OrderedDict[str, tuple[str, bytes, bytes]] = OrderedDict()

    async def current_key(self) -> SigningKey:
        current = [key for key in self._published().values() if key.not_after is None]
        if len(current) != 1:
            raise SignerUnavailable(f"the key directory has {len(current)} current keys, not one")
        return current[0]

    async def published_keys(self) -> tuple[SigningKey, ...]:
        return tuple(self._published().values())

    async def sign_digest(self, digest: bytes, *, kid: str, idempotency_key: str) -> bytes:
        if len(digest) != DIGEST_SIZE:
            raise PermanentError(
                codes.SIGNING_DIGEST_INVALID, f"a SHA-256 digest has {DIGEST_SIZE} bytes, not {len(digest)}"
            )
        replayed = self._replay(idempotency_key, kid, digest)
        if replayed is not None:
            return replayed
        self._check_usable(kid)
        signature = self._private_key(kid).sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        self._remember(idempotency_key, kid, digest, signature)
        return signature

    def _replay(self, idempotency_key: str, kid: str, digest: bytes) -> bytes | None:
        done = self._done.get(idempotency_key)
        if done is None:
            return None
        if done[:2] != (kid, digest):
            raise PermanentError(codes.IDEMPOTENCY_KEY_REUSED, "the idempotency key was used for another signature")
        self._done.move_to_end(idempotency_key)
        return done[2]

    def _remember(self, idempotency_key: str, kid: str, digest: bytes, signature: bytes) -> None:
        self._done[idempotency_key] = (kid, digest, signature)
        while len(self._done) > self._remembered:
            self._done.popitem(last=False)

    def _check_usable(self, kid: str) -> None:
        key = self._published().get(kid)
        if key is None:
            raise PermanentError(codes.SIGNING_KEY_UNKNOWN, f"no signing key {kid}")
        if key.not_after is not None and self._clock() >= key.not_after:
            raise PermanentError(
                codes.SIGNING_KEY_RETIRED, f"signing key {kid} was retired at {key.not_after.isoformat()}"
            )

    def _published(self) -> dict[str, SigningKey]:
        """The keys of keys.json, read again when the file was replaced or changed."""
        try:
            stat = (self._directory / pki.INDEX).stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stamp != self._index_stamp:
                self._keys = {key.kid: key for key in pki.load_keys(self._directory)}
                self._index_stamp = stamp
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SignerUnavailable(f"the signing keys cannot be read: {type(exc).__name__}") from exc
        return self._keys

    def _private_key(self, kid: str) -> ec.EllipticCurvePrivateKey:
        key = self._private.get(kid)
        if key is None:
            try:
                key = pki.load_private_key(self._directory, kid)
            except (OSError, ValueError, TypeError) as exc:
                raise SignerUnavailable(f"signing key {kid} cannot be read: {type(exc).__name__}") from exc
            self._private[kid] = key
        return key
