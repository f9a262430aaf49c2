"""Anchoring the audit chain of one database, and verifying the chain against its anchors.

`anchor` records the chain's newest row in the anchor file (hub/adapters/audit_anchors.py) unless
the newest anchor already holds it; `verify` recomputes the chain and checks every anchor of this
database: its seal, and that the anchored row still exists with the anchored hash. Findings name
rows and anchor lines, never a row's contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from hub.adapters.audit_anchors import (
    Anchor,
    AnchorFile,
    AnchorKeyError,
    ensure_key,
    key_id,
    load_key,
    seal,
    seal_holds,
)
from hub.adapters.postgres.audit import chain_head, database_identity, rewrite_privileges, verify_chain
from hub.adapters.postgres.database import PgConnection, borrowed, translated
from hub.errors import TransientError

log = logging.getLogger("hub.audit")
MOST_FINDINGS = 200  # a truncated log with many anchors would otherwise list every one


@dataclass(frozen=True)
class Finding:
    row: int | None  # the audit row concerned, if any
    line: int | None  # the anchor file's line, if an anchor is concerned
    problem: str


@dataclass
class AuditReport:
    rows: int = 0
    head: tuple[int, str] | None = None
    anchor_file: str = ""
    anchors_checked: int = 0
    newest_anchor: Anchor | None = None
    findings: list[Finding] = field(default_factory=list)
    unlisted: int = 0  # findings beyond MOST_FINDINGS
    notes: list[str] = field(default_factory=list)  # worth knowing, not tampering

    @property
    def intact(self) -> bool:
        return not self.findings

    def add(self, finding: Finding) -> None:
        if len(self.findings) < MOST_FINDINGS:
            self.findings.append(finding)
        else:
            self.unlisted += 1


class AuditAnchoring:
    def __init__(self, pool: asyncpg.Pool, key_file: Path, anchor_file: Path, clock: Callable[[], datetime]) -> None:
        self._pool, self._key_file, self._file, self._clock = pool, key_file, AnchorFile(anchor_file), clock
        self._database: str | None = None

    async def _identity(self, conn: PgConnection) -> str:
        if self._database is None:
            self._database = await database_identity(conn)
        return self._database

    async def anchor(self) -> Anchor | None:
        """Anchor the newest row; None when the log is empty or its newest row is anchored already."""
        async with borrowed(self._pool) as conn:
            head, database = await chain_head(conn), await self._identity(conn)
        if head is None:
            return None
        newest = await asyncio.to_thread(self._file.newest, database)
        if newest is not None and (newest.row, newest.hash) == head:
            return None
        key = await asyncio.to_thread(ensure_key, self._key_file)
        anchor = seal(key, database, head[0], head[1], self._clock().isoformat())
        await asyncio.to_thread(self._file.append, anchor)
        log.debug("audit chain anchored row=%d file=%s", anchor.row, self._file.path)
        return anchor

    async def anchor_or_warn(self) -> Anchor | None:
        """`anchor`, for callers whose own work must not fail with it (the end of an operator
        command, `hub run`): a failure is logged and the next anchoring catches up."""
        try:
            return await self.anchor()
        except (TransientError, OSError, AnchorKeyError) as exc:
            log.warning("the audit chain was not anchored (anchored at the next chance) error=%s", exc)
            return None

    async def keep_anchored(self, every: float, stop: asyncio.Event) -> None:
        """`hub run`: anchor a changed head every `every` seconds, and once more when stopping."""
        while True:
            await self.anchor_or_warn()
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def verify(self) -> AuditReport:
        """The chain, and every anchor of this database against it. Raises AnchorKeyError when the
        key file is not a key."""
        key = await asyncio.to_thread(load_key, self._key_file)
        lines = await asyncio.to_thread(lambda: list(self._file.lines()))
        report = AuditReport(anchor_file=str(self._file.path))
        with translated():
            async with self._pool.acquire() as conn:
                database = await self._identity(conn)
                ours = _sealed_anchors(report, lines, database, key)
                chain = await verify_chain(conn, {anchor.row for _, anchor in ours})
                if powers := await rewrite_privileges(conn):
                    report.notes.append(
                        f"this role may {'/'.join(powers)} the audit log: it is the owner or a superuser, "
                        "so rewrites are only detected, not refused (README: the audit log and its database roles)"
                    )
        report.rows, report.head = chain.rows, chain.head
        for problem in chain.problems:
            report.add(Finding(problem.row, None, problem.problem))
        _compare(report, ours, chain.hashes)
        _note_coverage(report)
        return report


def _sealed_anchors(
    report: AuditReport, lines: list[tuple[int, Anchor | None]], database: str, key: bytes | None
) -> list[tuple[int, Anchor]]:
    """This database's anchors whose seal holds; a finding for every other line but those of
    other databases (counted in a note)."""
    ours, others, unchecked = [], 0, 0
    for number, anchor in lines:
        if anchor is None:
            report.add(Finding(None, number, "not an anchor: the line is unreadable"))
        elif anchor.database != database:
            others += 1
        elif key is None:
            unchecked += 1
        elif anchor.key != key_id(key):
            report.add(Finding(anchor.row, number, f"sealed with another key (id {anchor.key}), not this one"))
        elif not seal_holds(key, anchor):
            report.add(Finding(anchor.row, number, "the seal does not hold: the anchor was altered"))
        else:
            ours.append((number, anchor))
    if unchecked:
        report.add(Finding(None, None, f"{unchecked} anchor(s) cannot be checked: the anchor key file is missing"))
    if others:
        report.notes.append(f"{others} anchor(s) of other databases in the file were not checked")
    report.anchors_checked = len(ours)
    report.newest_anchor = max((anchor for _, anchor in ours), key=lambda a: a.row, default=None)
    return ours


def _compare(report: AuditReport, ours: list[tuple[int, Anchor]], stored: dict[int, str]) -> None:
    """Each anchored row must still be there with the anchored hash (one finding per row)."""
    seen: set[int] = set()
    for number, anchor in ours:
        if anchor.row in seen:
            continue
        if (found := stored.get(anchor.row)) is None:
            seen.add(anchor.row)
            report.add(
                Finding(anchor.row, number, f"anchored at {anchor.at} but gone: rows were deleted or the log truncated")
            )
        elif found != anchor.hash:
            seen.add(anchor.row)
            report.add(
                Finding(
                    anchor.row,
                    number,
                    f"its hash is not the one anchored at {anchor.at}: "
                    "this row or one before it was changed and the chain re-hashed",
                )
            )


def _note_coverage(report: AuditReport) -> None:
    newest, head = report.newest_anchor, report.head
    if head is not None and newest is None:
        report.notes.append(
            "no anchor of this database yet: deleting or re-hashing rows cannot be detected (`hub audit anchor`)"
        )
    elif head is not None and newest is not None and head[0] > newest.row:
        report.notes.append(f"rows after {newest.row} are not anchored yet (the chain alone protects them)")
