"""The status list (hub/documents/status_list.py): IETF Token Status List in its CWT form."""

from __future__ import annotations

import random
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
import pytest

from hub.adapters.signing import pki
from hub.adapters.signing.local import LocalSigner
from hub.documents.cose import sign1
from hub.documents.status_list import (
    EXP,
    IAT,
    STATUS_LIST,
    SUB,
    TYPE,
    encode_statuses,
    issue_status_list,
    verify_status_list,
)
from hub.documents.trust import TrustList
from hub.domain.documents import StatusCode

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 7, 6, 3, 0, tzinfo=UTC)
TTL = 300


def uri() -> str:
    return f"https://verifikasi.example.go.id/status/3273/{uuid.uuid4().hex[:8]}"


@pytest.fixture
def signer(tmp_path: Path) -> LocalSigner:
    pki.ensure_keys(tmp_path / "pki", now=T0)
    return LocalSigner(tmp_path / "pki", clock=lambda: NOW)


async def issue(
    signer: LocalSigner, statuses: dict[int, StatusCode], size: int, *, at: datetime = NOW, list_uri: str | None = None
) -> bytes:
    kid = (await signer.current_key()).kid
    return await issue_status_list(list_uri or uri(), statuses, size, signer, kid, at, TTL)


async def trust_of(signer: LocalSigner) -> TrustList:
    return TrustList.from_signing_keys(await signer.published_keys())


def test_two_bits_per_slot_lowest_bits_first_as_in_the_draft():
    codes = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]  # the draft's 2-bit example

    packed = encode_statuses({i: StatusCode(c) for i, c in enumerate(codes)}, len(codes))

    assert packed == bytes([0xC9, 0x44, 0xF9])


def test_a_slot_outside_the_list_is_refused():
    with pytest.raises(ValueError):
        encode_statuses({4: StatusCode.INVALID}, 4)


async def test_every_status_reads_back_from_the_signed_list(signer: LocalSigner):
    size = 1_003
    statuses = {i: StatusCode(random.randrange(4)) for i in range(size)}
    statuses.update(
        {0: StatusCode.SUPERSEDED, 1: StatusCode.SUSPENDED, 2: StatusCode.INVALID, size - 1: StatusCode.VALID}
    )
    list_uri = uri()

    check = verify_status_list(
        await issue(signer, statuses, size, list_uri=list_uri), await trust_of(signer), NOW, uri=list_uri
    )

    assert (check.valid, check.reason, check.uri, check.ttl_seconds) == (True, None, list_uri, TTL)
    assert [check.status(i) for i in range(size)] == [statuses[i] for i in range(size)]
    assert check.issued_at == NOW and check.expires_at > NOW


async def test_unlisted_slots_are_valid_and_a_slot_beyond_the_list_is_an_error(signer: LocalSigner):
    check = verify_status_list(await issue(signer, {5: StatusCode.INVALID}, 8), await trust_of(signer), NOW)

    assert [check.status(i) for i in range(8)] == [StatusCode.VALID] * 5 + [StatusCode.INVALID] + [StatusCode.VALID] * 2
    with pytest.raises(IndexError):
        check.status(8)


async def test_a_changed_signature_is_a_bad_signature(signer: LocalSigner):
    token = cbor2.loads(await issue(signer, {3: StatusCode.INVALID}, 16))
    token.value[3] = token.value[3][:-1] + bytes([token.value[3][-1] ^ 1])

    check = verify_status_list(cbor2.dumps(token), await trust_of(signer), NOW)

    assert (check.valid, check.reason) == (False, "bad-signature")
    with pytest.raises(ValueError):
        check.status(3)


async def test_a_revocation_removed_from_the_list_is_a_bad_signature(signer: LocalSigner):
    token = cbor2.loads(await issue(signer, {3: StatusCode.INVALID}, 16))
    claims = cbor2.loads(token.value[2])
    claims[STATUS_LIST]["lst"] = zlib.compress(bytes(4))
    token.value[2] = cbor2.dumps(claims, canonical=True)

    assert verify_status_list(cbor2.dumps(token), await trust_of(signer), NOW).reason == "bad-signature"


async def test_an_expired_list_is_refused(signer: LocalSigner):
    token = await issue(signer, {}, 16)
    check = verify_status_list(token, await trust_of(signer), NOW + timedelta(days=1))

    assert (check.valid, check.reason) == (False, "expired")
    assert verify_status_list(token, await trust_of(signer), NOW + timedelta(hours=23)).valid


async def test_the_list_of_another_uri_is_refused(signer: LocalSigner):
    check = verify_status_list(await issue(signer, {}, 16), await trust_of(signer), NOW, uri=uri())

    assert (check.valid, check.reason) == (False, "wrong-list")


async def test_a_list_signed_by_an_unknown_key_is_refused(signer: LocalSigner, tmp_path: Path):
    pki.ensure_keys(tmp_path / "other", now=T0)

    check = verify_status_list(await issue(signer, {}, 16), await trust_of(LocalSigner(tmp_path / "other")), NOW)

    assert (check.valid, check.reason) == (False, "unknown-key")


async def test_issuing_the_same_list_again_replays_the_signature(signer: LocalSigner):
    list_uri = uri()

    first = await issue(signer, {1: StatusCode.SUPERSEDED}, 16, list_uri=list_uri)
    again = await issue(signer, {1: StatusCode.SUPERSEDED}, 16, list_uri=list_uri)
    changed = await issue(signer, {1: StatusCode.INVALID}, 16, list_uri=list_uri)

    assert again == first and changed != first


@pytest.mark.parametrize(("changed", "limit"), [(0, 100), (1_000, 4_000)])
async def test_a_list_of_100_000_slots_is_small(signer: LocalSigner, changed: int, limit: int):
    statuses = {i: StatusCode.SUPERSEDED for i in random.sample(range(100_000), changed)}

    token = await issue(signer, statuses, 100_000)

    assert len(cbor2.loads(cbor2.loads(token).value[2])[STATUS_LIST]["lst"]) < limit
    assert len(token) < limit + 200


HOSTILE = {
    "empty": b"",
    "garbage": b"\xff\x00garbage",
    "text": "not bytes",
    "deep": b"\x81" * 10_000,
    "qr token type": cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"k"}), {}, cbor2.dumps({}), b""])),
    "huge": b"\x00" * (9 * 1024 * 1024),
}


@pytest.mark.parametrize("token", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_input_is_malformed_and_never_raises(signer: LocalSigner, token):
    check = verify_status_list(token, await trust_of(signer), NOW)

    assert (check.valid, check.reason) == (False, "malformed")


async def test_a_validly_signed_list_that_is_not_zlib_is_malformed(signer: LocalSigner):
    iat = int(NOW.timestamp())
    claims = {SUB: uri(), IAT: iat, EXP: iat + 60, STATUS_LIST: {"bits": 2, "lst": b"not zlib"}}
    token = await sign1(
        claims, signer=signer, kid=(await signer.current_key()).kid, idempotency_key=uuid.uuid4().hex, typ=TYPE
    )

    assert verify_status_list(token, await trust_of(signer), NOW).reason == "malformed"
