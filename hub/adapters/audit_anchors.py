"""Anchors of the audit chain outside the database (issue #8).

An anchor states: in database D, at time T, audit row R had hash H. It is sealed with an
HMAC-SHA256 under a key the database never holds (HUB_AUDIT_KEY_FILE: 32 random bytes in hex,
created on first use, mode 600) and appended as one JSON line to a file the operator keeps
(HUB_AUDIT_ANCHOR_FILE). Each row's hash covers every row before it, so one anchor pins the whole
chain up to R: whoever can write the database but does not hold the key cannot delete row R or an
older one, truncate the table, or edit a row and re-hash the rest without `hub audit verify`
reporting it. Rows newer than the newest anchor have only the chain: operator commands anchor as
they end and `hub run` every HUB_AUDIT_ANCHOR_SECONDS, so that window stays short.

A line of the file (keys sorted; the seal covers every other field):
    {"at": "2026-11-30T10:00:00+00:00", "database": "7301.../hub", "hash": "<row hash>",
     "key": "<key id>", "mac": "<HMAC-SHA256, hex>", "row": 42, "v": 1}
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

VERSION = 1
KEY_BYTES = 32
_TAIL_BYTES = 64 * 1024  # enough for the last few hundred anchors


class AnchorKeyError(Exception):
    """The key file exists but is not a key (the message says why, never its contents)."""


@dataclass(frozen=True)
class Anchor:
    database: str
    row: int
    hash: str
    at: str
    key: str  # the id of the key that sealed it
    mac: str
    v: int = VERSION

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")) + "\n"


def key_id(key: bytes) -> str:
    """Names a key without revealing it (16 hex digits)."""
    return hashlib.sha256(b"hub audit anchor key\n" + key).hexdigest()[:16]


def _mac(key: bytes, database: str, row: int, digest: str, at: str, v: int) -> str:
    sealed = json.dumps(
        {"at": at, "database": database, "hash": digest, "key": key_id(key), "row": row, "v": v},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hmac.new(key, sealed.encode(), hashlib.sha256).hexdigest()


def seal(key: bytes, database: str, row: int, digest: str, at: str) -> Anchor:
    return Anchor(database, row, digest, at, key_id(key), _mac(key, database, row, digest, at, VERSION))


def seal_holds(key: bytes, anchor: Anchor) -> bool:
    expected = _mac(key, anchor.database, anchor.row, anchor.hash, anchor.at, anchor.v)
    return anchor.key == key_id(key) and hmac.compare_digest(expected, anchor.mac)


def load_key(path: Path) -> bytes | None:
    """The key, or None when the file does not exist."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise AnchorKeyError(f"{path} does not hold a hex key") from None
    if len(key) < KEY_BYTES:
        raise AnchorKeyError(f"{path} holds a key shorter than {KEY_BYTES} bytes")
    return key


def ensure_key(path: Path) -> bytes:
    """The key, created (mode 600, in a folder of mode 700) if missing. Two processes creating it
    at once agree: the file appears whole (a hard link of a finished file) or not at all."""
    if (key := load_key(path)) is not None:
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES).hex().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(draft, path)
    finally:
        draft.unlink()
    found = load_key(path)
    assert found is not None
    return found


def parse(line: str) -> Anchor | None:
    """An anchor from a line of the file; None when the line is not one."""
    try:
        data = json.loads(line)
        return Anchor(
            database=str(data["database"]),
            row=int(data["row"]),
            hash=str(data["hash"]),
            at=str(data["at"]),
            key=str(data["key"]),
            mac=str(data["mac"]),
            v=int(data["v"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


class AnchorFile:
    """Anchors, one JSON line each, appended by every process that anchors on this machine."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, anchor: Anchor) -> None:
        """One write of one whole line to a file opened for appending, flushed to disk: lines of
        concurrent writers do not interleave."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, anchor.line().encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def lines(self) -> Iterator[tuple[int, Anchor | None]]:
        """(line number, anchor or None if the line is unreadable), oldest first; nothing when
        the file does not exist."""
        try:
            with self.path.open(encoding="utf-8", errors="replace") as found:
                for number, line in enumerate(found, 1):
                    if line.strip():
                        yield number, parse(line)
        except FileNotFoundError:
            return

    def newest(self, database: str) -> Anchor | None:
        """The newest anchor of `database` among the file's last lines (None if there is none:
        the caller anchors again, which is harmless)."""
        try:
            with self.path.open("rb") as found:
                found.seek(max(0, found.seek(0, os.SEEK_END) - _TAIL_BYTES))
                tail = found.read().decode("utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return None
        for line in reversed(tail):
            if (anchor := parse(line)) is not None and anchor.database == database:
                return anchor
        return None
