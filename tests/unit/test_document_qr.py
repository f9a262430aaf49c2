"""The signed QR payload (hub/documents/qr.py) and the trust list it is checked against."""

from __future__ import annotations

import dataclasses
import random
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import base45
import cbor2
import pytest

from hub.adapters.signing import pki
from hub.adapters.signing.local import LocalSigner
from hub.documents.cose import sign1
from hub.documents.qr import (
    PREFIX,
    DocumentClaims,
    KkFacts,
    issue_payload,
    verify_payload,
)
from hub.documents.trust import TrustList
from hub.domain.documents import (
    AktaContent,
    DocumentKind,
    DocumentRef,
    KkContent,
    KkMember,
    Official,
    StatusSlot,
    document_id,
)
from hub.domain.values import AktaVariant, Sex
from tests.unit.builders import WIB, kk, nik

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ISSUED = datetime(2026, 7, 6, 3, 0, 30, 250_000, tzinfo=UTC)
REGENCY = "3273"
STATUS_URI = "https://verifikasi.dukcapil.example.go.id/status/3273/2026"  # as long as a real host
OFFICIAL = Official("Pejabat Uji", "Kepala Dinas Kependudukan dan Pencatatan Sipil Kota Uji")
# Invented names, as long as the longer real ones: the size tests need realistic lengths.
NAMES = [
    "BAGUS PRASETYO WIRAHADI",
    "SEKAR AYU KUSUMANINGRUM",
    "ANGGITA LARASATI WIRAHADI",
    "MUHAMMAD RAFIF ALGHIFARI",
    "DEWANTI PUSPA WIRAHADI",
    "GALIH PAMUNGKAS WIRAHADI",
    "RATNA KINANTI SEKARSARI",
    "HENDRAWAN TIRTA WIRAHADI",
]


def akta(serial: str | None = None) -> tuple[AktaContent, DocumentRef]:
    number = f"{REGENCY}-LU-06072026-{serial or uuid.uuid4().int % 10_000:04}"
    content = AktaContent(
        akta_number=number,
        registration_type="LU",
        variant=AktaVariant.BOTH_PARENTS,
        child_nik=nik(sex=Sex.MALE),
        child_name=NAMES[3],
        sex=Sex.MALE,
        born_at=datetime(2026, 7, 5, 23, 30, tzinfo=WIB),
        place_of_birth="KOTA UJI",
        child_order=2,
        birth_order=1,
        plurality=1,
        mother_name=NAMES[1],
        father_name=NAMES[0],
        issuing_regency=REGENCY,
        issuing_regency_name="KOTA UJI",
        issued_on=date(2026, 7, 6),
        official=OFFICIAL,
    )
    return content, ref(DocumentKind.AKTA, number)


def family_card(members: int) -> tuple[KkContent, DocumentRef]:
    number = kk()
    rows = tuple(
        KkMember(nik(), NAMES[i], Sex.FEMALE, "KOTA UJI", date(1990 + i, 1, 1), "ANAK") for i in range(members)
    )
    content = KkContent(
        kk_number=number,
        kk_version=3,
        head_name=NAMES[0],
        address="",
        kecamatan="327301",
        kecamatan_name="UJI",
        regency=REGENCY,
        regency_name="KOTA UJI",
        province_name="JAWA BARAT",
        issued_on=date(2026, 7, 6),
        members=rows,
        official=OFFICIAL,
    )
    return content, ref(DocumentKind.KK, number, version=2)


def ref(kind: DocumentKind, number: str, version: int = 1) -> DocumentRef:
    return DocumentRef(
        document_id(kind, number, version),
        kind,
        number,
        version,
        ISSUED,
        StatusSlot(REGENCY, 2026, uuid.uuid4().int % 100_000),
    )


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    pki.ensure_keys(tmp_path / "pki", now=T0)
    return tmp_path / "pki"


@pytest.fixture
def signer(directory: Path) -> LocalSigner:
    return LocalSigner(directory, clock=lambda: ISSUED)


async def trust_of(signer: LocalSigner) -> TrustList:
    return TrustList.from_signing_keys(await signer.published_keys())


async def issue(signer: LocalSigner, claims: DocumentClaims, kid: str | None = None) -> str:
    kid = kid or (await signer.current_key()).kid
    return await issue_payload(claims, signer, kid, uuid.uuid4().hex)


def token_of(payload: str) -> cbor2.CBORTag:
    return cbor2.loads(zlib.decompress(base45.b45decode(payload[len(PREFIX) :])))


def payload_of(token: cbor2.CBORTag) -> str:
    return PREFIX + base45.b45encode(zlib.compress(cbor2.dumps(token))).decode("ascii")


@pytest.mark.parametrize("document", [akta, lambda: family_card(4)], ids=["akta", "kk"])
async def test_an_issued_payload_verifies_with_the_claims_it_was_given(signer: LocalSigner, document):
    content, document_ref = document()
    claims = DocumentClaims.from_content(content, document_ref, STATUS_URI)

    check = verify_payload(await issue(signer, claims), await trust_of(signer))

    assert (check.valid, check.reason, check.claims) == (True, None, claims)
    assert check.kid == (await signer.current_key()).kid
    assert (check.document_id, check.status_index, check.status_uri) == (
        document_ref.document_id,
        document_ref.slot.index,
        STATUS_URI,
    )
    assert claims.issued_at == ISSUED.replace(microsecond=0) and claims.issuing_regency == REGENCY


def test_the_claims_state_the_printed_facts_of_a_kk():
    content, document_ref = family_card(3)

    facts = DocumentClaims.from_content(content, document_ref, STATUS_URI).facts

    assert facts == KkFacts(3, NAMES[0], date(2026, 7, 6), tuple((m.nik, m.name) for m in content.members))


def test_content_of_another_kind_than_the_reference_is_refused():
    content, _ = akta()

    with pytest.raises(ValueError):
        DocumentClaims.from_content(content, ref(DocumentKind.KK, kk()), STATUS_URI)


async def test_any_changed_character_of_the_text_makes_it_invalid(signer: LocalSigner):
    payload = await issue(signer, DocumentClaims.from_content(*akta(), STATUS_URI))
    trust = await trust_of(signer)

    for position in range(len(PREFIX), len(payload), 5):
        replacement = "0" if payload[position] != "0" else "1"
        check = verify_payload(payload[:position] + replacement + payload[position + 1 :], trust)
        assert not check.valid and check.claims is None


async def test_a_changed_byte_inside_the_signed_claims_is_a_bad_signature(signer: LocalSigner):
    payload = await issue(signer, DocumentClaims.from_content(*akta(), STATUS_URI))
    token = token_of(payload)
    token.value[2] = token.value[2].replace(NAMES[3].encode(), NAMES[3].replace("RAFIF", "RAFIQ").encode())

    check = verify_payload(payload_of(token), await trust_of(signer))

    assert (check.valid, check.reason, check.claims) == (False, "bad-signature", None)


async def test_a_changed_signature_is_a_bad_signature(signer: LocalSigner):
    token = token_of(await issue(signer, DocumentClaims.from_content(*akta(), STATUS_URI)))
    token.value[3] = bytes([token.value[3][0] ^ 1]) + token.value[3][1:]

    assert verify_payload(payload_of(token), await trust_of(signer)).reason == "bad-signature"


async def test_a_key_the_trust_list_does_not_hold_is_an_unknown_key(signer: LocalSigner, tmp_path: Path):
    payload = await issue(signer, DocumentClaims.from_content(*akta(), STATUS_URI))
    pki.ensure_keys(tmp_path / "other", now=T0)

    check = verify_payload(payload, await trust_of(LocalSigner(tmp_path / "other")))

    assert (check.valid, check.reason, check.kid) == (False, "unknown-key", (await signer.current_key()).kid)


async def test_a_key_whose_period_ended_before_the_issue_time_is_refused(signer: LocalSigner):
    claims = DocumentClaims.from_content(*akta(), STATUS_URI)
    payload = await issue(signer, claims)
    trust = await trust_of(signer)
    ended = TrustList(
        trust.issuer, tuple(dataclasses.replace(k, not_after=ISSUED - timedelta(days=1)) for k in trust.keys)
    )

    assert verify_payload(payload, ended).reason == "key-not-valid-at-issue-time"
    assert verify_payload(payload, trust).valid


async def test_a_rotated_key_cannot_vouch_for_a_later_issue_time(directory: Path):
    old = (await LocalSigner(directory).current_key()).kid
    pki.rotate(directory, now=ISSUED - timedelta(hours=1))
    late_clock = LocalSigner(directory, clock=lambda: ISSUED - timedelta(hours=2))  # a signer whose clock lags
    claims = DocumentClaims.from_content(*akta(), STATUS_URI)

    check = verify_payload(await issue(late_clock, claims, kid=old), await trust_of(late_clock))

    assert (check.valid, check.reason) == (False, "key-not-valid-at-issue-time")


def _bomb() -> str:
    return PREFIX + base45.b45encode(zlib.compress(bytes(2_000_000), 9)).decode("ascii")


def _cbor(value: object) -> str:
    return PREFIX + base45.b45encode(zlib.compress(cbor2.dumps(value))).decode("ascii")


HOSTILE = {
    "empty": "",
    "prefix only": PREFIX,
    "other prefix": "HC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDE",
    "not base45": PREFIX + "abc~",
    "lowercase": PREFIX + "6bfoxn",
    "not zlib": PREFIX + base45.b45encode(b"hello").decode(),
    "huge": PREFIX + "A" * 1_000_000,
    "zlib bomb": _bomb(),
    "non-ascii": PREFIX + "ÄÖÜ🙂",
    "not a tag": _cbor([1, 2, 3]),
    "wrong tag": _cbor(cbor2.CBORTag(17, [b"", {}, b"", b""])),
    "wrong alg": _cbor(cbor2.CBORTag(18, [cbor2.dumps({1: -35, 4: b"k"}), {}, cbor2.dumps({6: 1}), bytes(96)])),
    "no iat": _cbor(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"k"}), {}, cbor2.dumps({1: "ID-3273"}), bytes(64)])),
    "iat out of range": _cbor(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"k"}), {}, cbor2.dumps({6: 10**30}), b""])),
    "crit header": _cbor(
        cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"k", 2: [-70000], -70000: 1}), {}, cbor2.dumps({6: 1}), bytes(64)])
    ),
    "unprotected header": _cbor(
        cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"k"}), {4: b"x"}, cbor2.dumps({6: 1}), bytes(64)])
    ),
    "payload not a map": _cbor(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"k"}), {}, cbor2.dumps([6]), bytes(64)])),
    "bytes": b"DK1:6BF",
    "none": None,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_input_is_malformed_and_never_raises(signer: LocalSigner, text):
    check = verify_payload(text, await trust_of(signer))

    assert (check.valid, check.reason, check.claims) == (False, "malformed", None)


async def test_random_corruption_of_the_token_is_never_valid_and_never_raises(signer: LocalSigner):
    token = cbor2.dumps(token_of(await issue(signer, DocumentClaims.from_content(*akta(), STATUS_URI))))
    trust, chance = await trust_of(signer), random.Random(9052)

    for _ in range(300):
        corrupted = bytearray(token)
        position = chance.randrange(len(corrupted))
        corrupted[position] ^= chance.randrange(1, 256)
        text = PREFIX + base45.b45encode(zlib.compress(bytes(corrupted))).decode("ascii")
        assert not verify_payload(text, trust).valid


async def test_a_validly_signed_token_without_document_claims_is_malformed(signer: LocalSigner):
    bare = await sign1(
        {6: int(ISSUED.timestamp())},
        signer=signer,
        kid=(await signer.current_key()).kid,
        idempotency_key=uuid.uuid4().hex,
    )
    check = verify_payload(payload_of(cbor2.loads(bare)), await trust_of(signer))

    assert (check.valid, check.reason) == (False, "malformed")


@pytest.mark.parametrize(("members", "limit"), [(4, 600), (8, 700)])
async def test_a_kk_payload_fits_a_small_qr(signer: LocalSigner, members: int, limit: int):
    payload = await issue(signer, DocumentClaims.from_content(*family_card(members), STATUS_URI))

    assert len(payload) < limit
    assert set(payload) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # QR alphanumeric mode


async def test_an_akta_payload_fits_a_small_qr(signer: LocalSigner):
    assert len(await issue(signer, DocumentClaims.from_content(*akta(), STATUS_URI))) < 520


async def test_the_trust_list_json_round_trips_and_can_be_pinned_to_the_ca(
    signer: LocalSigner, directory: Path, tmp_path: Path
):
    pki.rotate(directory, now=ISSUED, overlap=timedelta(days=1))
    trust = await trust_of(signer)
    pki.ensure_keys(tmp_path / "other", now=T0)

    again = TrustList.from_json(trust.to_json(), anchor=pki.ca_certificate(directory))

    assert again == trust and trust.issuer == pki.DEFAULT_ISSUER
    assert [entry["not_after"] is None for entry in trust.to_json()["keys"]] == [False, True]
    with pytest.raises(ValueError):
        TrustList.from_json(trust.to_json(), anchor=pki.ca_certificate(tmp_path / "other"))
    with pytest.raises(ValueError):
        TrustList.from_json({"issuer": "x", "keys": [{"kid": "k", "alg": "RS256", "x5c": []}]})
