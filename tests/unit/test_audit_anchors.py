"""Audit anchors: the seal holds only for the anchor as written and the key that wrote it; the key
file is made once, private, and agreed on by concurrent creators; the anchor file survives
garbage; the operator's identity is the operating system's."""

from __future__ import annotations

import os
import pwd
import socket
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from hub.adapters.audit_anchors import (
    AnchorFile,
    AnchorKeyError,
    ensure_key,
    key_id,
    load_key,
    parse,
    seal,
    seal_holds,
)
from hub.entrypoints import ops_common

KEY = bytes(range(32))
DATABASE = "7301234567890123456/hub"
DIGEST = "ab" * 32
AT = "2026-11-30T10:00:00+00:00"


def test_a_sealed_anchor_holds_and_survives_its_line():
    anchor = seal(KEY, DATABASE, 42, DIGEST, AT)
    assert seal_holds(KEY, anchor)
    assert parse(anchor.line()) == anchor
    assert seal_holds(KEY, parse(anchor.line()))


@pytest.mark.parametrize(
    "change",
    [
        {"row": 41},
        {"hash": "cd" * 32},
        {"at": "2026-11-30T10:00:01+00:00"},
        {"database": "7301234567890123456/other"},
        {"mac": "00" * 32},
        {"v": 2},
    ],
)
def test_changing_any_field_breaks_the_seal(change):
    assert not seal_holds(KEY, replace(seal(KEY, DATABASE, 42, DIGEST, AT), **change))


def test_an_anchor_sealed_with_another_key_does_not_hold():
    other = bytes(reversed(range(32)))
    anchor = seal(other, DATABASE, 42, DIGEST, AT)
    assert anchor.key == key_id(other) != key_id(KEY)
    assert not seal_holds(KEY, anchor)
    # even when the line claims this key's id: the MAC still needs the key itself
    assert not seal_holds(KEY, replace(anchor, key=key_id(KEY)))


def test_the_key_is_created_once_private_and_never_shown_by_its_id(tmp_path):
    path = tmp_path / "audit" / "anchor.key"
    assert load_key(path) is None
    key = ensure_key(path)
    assert len(key) == 32 and ensure_key(path) == key == load_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key.hex() not in key_id(key) and len(key_id(key)) == 16


def test_concurrent_creators_agree_on_one_key(tmp_path):
    path = tmp_path / "anchor.key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: ensure_key(path), range(16)))
    assert len(keys) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["anchor.key"], "no draft left behind"


def test_a_key_file_that_is_not_a_key_is_refused_without_echoing_it(tmp_path):
    path = tmp_path / "anchor.key"
    path.write_text("not-hex-secret")
    with pytest.raises(AnchorKeyError) as refused:
        load_key(path)
    assert "not-hex-secret" not in str(refused.value)
    path.write_text("abcd")
    with pytest.raises(AnchorKeyError, match="shorter"):
        load_key(path)


def test_the_anchor_file_lists_every_line_and_finds_the_newest_of_a_database(tmp_path):
    anchors = AnchorFile(tmp_path / "anchors.jsonl")
    assert list(anchors.lines()) == [] and anchors.newest(DATABASE) is None
    first, other, second = (
        seal(KEY, DATABASE, 1, DIGEST, AT),
        seal(KEY, "1/elsewhere", 9, DIGEST, AT),
        seal(KEY, DATABASE, 2, "cd" * 32, AT),
    )
    anchors.append(first)
    with anchors.path.open("a") as found:
        found.write('{"row": "half a line\n')
    anchors.append(other)
    anchors.append(second)
    assert list(anchors.lines()) == [(1, first), (2, None), (3, other), (4, second)]
    assert anchors.newest(DATABASE) == second and anchors.newest("1/elsewhere") == other
    assert stat.S_IMODE(anchors.path.stat().st_mode) == 0o600


def test_the_operator_is_the_operating_system_account_at_this_host(monkeypatch):
    account = pwd.getpwuid(os.geteuid()).pw_name
    monkeypatch.setattr(ops_common, "_login_uid", lambda: None)
    assert ops_common.operator_identity() == f"{account}@{socket.gethostname()}"
    monkeypatch.setenv("HUB_OPERATOR", "someone-else")  # no longer read
    assert ops_common.operator_identity() == f"{account}@{socket.gethostname()}"


def test_after_sudo_the_login_account_is_named_too(monkeypatch):
    monkeypatch.setattr(ops_common, "_login_uid", lambda: 4242)
    monkeypatch.setattr(ops_common, "_account", lambda uid: {4242: "budi"}.get(uid, "hub"))
    assert ops_common.operator_identity() == f"budi as hub@{socket.gethostname()}"
