"""The integrator's signing snippet in README.md ("Signing notifications"), run from the README itself
so the two cannot drift apart: what it signs, the hub's own check verifies."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from hub.intake import signature

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"<!-- signing-snippet:start -->\n```python\n(.*?)```\n<!-- signing-snippet:end -->", re.DOTALL)


@pytest.fixture(scope="module")
def snippet() -> str:
    found = _BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(found) == 1, "README.md holds the snippet once, between its markers"
    return found[0]


@pytest.fixture(scope="module")
def hub_signature(snippet):
    namespace: dict = {}
    exec(compile(snippet, "README.md#signing-snippet", "exec"), namespace)
    return namespace["hub_signature"]


def _verifies(raw: bytes, value: str, jwk: dict) -> bool:
    parsed = signature.parse(value)
    return isinstance(parsed, signature.Parsed) and signature.verify(raw, parsed, jwk)


def test_the_snippet_uses_the_standard_library_and_cryptography_only(snippet):
    imported = set()
    for node in ast.walk(ast.parse(snippet)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == {"base64", "json", "cryptography"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"resourceType":"Bundle","type":"message"}',
        '{"name": "Bayi Ny. Ümi"}\n'.encode(),
        b"",
        b"\xff\xfe not UTF-8 \x00",
    ],
)
def test_what_the_snippet_signs_the_hub_verifies(hub_signature, raw):
    private_pem, jwk = signature.new_key()
    kid = signature.kid_for("1032730011", jwk)
    value = hub_signature(raw, private_pem, kid)
    parsed = signature.parse(value)
    assert isinstance(parsed, signature.Parsed) and parsed.kid == kid
    assert _verifies(raw, value, jwk)
    assert not _verifies(raw + b" ", value, jwk), "over exactly these bytes"
    assert not _verifies(raw, value, signature.new_key()[1]), "under this key only"


def test_a_short_r_or_s_is_padded_to_32_bytes(snippet):
    """About one signature in 128 has an r or s under 32 bytes: sign until one did, and check it."""
    namespace: dict = {}
    exec(compile(snippet, "README.md#signing-snippet", "exec"), namespace)
    decode, short = namespace["decode_dss_signature"], []

    def spying(der: bytes) -> tuple[int, int]:
        r, s = decode(der)
        short.append(min(r, s) < 1 << 248)
        return r, s

    namespace["decode_dss_signature"] = spying
    private_pem, jwk = signature.new_key()
    for _ in range(5000):  # (127/128) ** 5000: no short one in 10**17 runs
        raw = os.urandom(24)
        value = namespace["hub_signature"](raw, private_pem, "k1")
        if short[-1]:
            assert _verifies(raw, value, jwk)
            return
    pytest.fail("no signature with a short r or s was made")


def test_the_snippet_and_hub_sign_agree_on_the_header(hub_signature):
    private_pem, _ = signature.new_key()
    ours, theirs = signature.sign(b"x", private_pem, "k1"), hub_signature(b"x", private_pem, "k1")
    assert ours.split("..")[0] == theirs.split("..")[0], "the same protected header, byte for byte"
